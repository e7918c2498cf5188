"""Reading, checking and writing COCO-format detection annotations (boxes and classes).

Detection data sets ship their labels as COCO JSON. A detection protocol needs only
each image's boxes and classes, so this reads those with the standard library and
numpy instead of pycocotools: every way a file can be unusable then becomes one
:class:`CocoError` line that names the file and the offending entry, where pycocotools
would fail later with a KeyError or silently skip the entry. Keys a detector does not
use (segmentation, keypoints, num_keypoints, ...) are ignored on reading.

Conventions kept from COCO (and from the torchvision/DETR loaders most detection code
is built on): ``bbox`` is ``[x, y, width, height]`` in pixels from the image's top-left
corner; annotations with ``iscrowd`` set are left out, not treated as errors. Inside
radiobench boxes are ``x_min, y_min, x_max, y_max`` and classes are indices into the
categories sorted by COCO id, so models never see the (often 1-based, gappy) ids.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np

from radiobench.io.atomic import open_atomic
from radiobench.io.reader import MiB, UnreadableFileError, read_bytes
from radiobench.errors import RadiobenchError

# Keys write_coco owns: extra annotation fields must not replace them, or the file would
# no longer describe the boxes and labels it was given.
_CORE_KEYS = frozenset({"id", "image_id", "category_id", "bbox"})
_MISSING_SHOWN = 5  # missing image names listed in the error before "..."
# COCO's own instances_train2017.json (448 MiB) is the largest annotation file in common use; a radio
# survey's is a few MiB. Parsed, JSON takes several times its size in memory, so beyond this it is refused.
ANNOTATION_LIMIT = 512 * MiB


class CocoError(RadiobenchError):
    """A COCO annotation file, or the images it lists, cannot be used (the message names the item)."""


@dataclass(frozen=True)
class CocoImage:
    id: int
    file_name: str
    width: int
    height: int


@dataclass(frozen=True, eq=False)  # eq=False: comparing dicts of arrays has no single truth value
class CocoSet:
    """One annotation file read and checked: every image has an entry in ``boxes`` and ``labels``."""

    path: Path
    image_dir: Path
    images: tuple[CocoImage, ...]
    categories: tuple[tuple[int, str], ...]
    boxes: dict[int, np.ndarray]
    labels: dict[int, np.ndarray]

    def image_path(self, image: CocoImage) -> Path:
        return self.image_dir / image.file_name

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(name for _, name in self.categories)


def read_coco(json_path: Path, image_dir: Path, *, require_annotations: bool = True,
              box_tolerance: float = 1.0) -> CocoSet:
    """Read and check one COCO file; boxes overhanging the image by up to ``box_tolerance``
    pixels are clipped to it (annotators' rounding), larger overhangs are errors.

    Every listed image must exist in ``image_dir``; all are checked so that one error
    reports every missing file rather than the first.
    """
    json_path, image_dir = Path(json_path), Path(image_dir)
    if not box_tolerance >= 0:  # also rejects NaN
        raise ValueError(f"box_tolerance must be >= 0, got {box_tolerance!r}")
    doc = _load_json(json_path)
    categories = _read_categories(doc["categories"], json_path)
    images = _read_images(doc["images"], json_path)
    boxes, labels = _read_annotations(doc["annotations"], json_path, images, categories, box_tolerance)
    if require_annotations and not any(len(rows) for rows in labels.values()):
        raise CocoError(
            f"no annotations in {json_path} (the file lists {len(images)} images but no boxes); "
            "a detection split needs labelled boxes, so the file is incomplete: download it again"
        )
    _check_files(images.values(), image_dir, json_path)
    return CocoSet(
        path=json_path,
        image_dir=image_dir,
        images=tuple(images.values()),
        categories=tuple(sorted(categories.items())),
        boxes=boxes,
        labels=labels,
    )


def write_coco(json_path: Path, images: Sequence[CocoImage], boxes: Mapping[int, np.ndarray],
               labels: Mapping[int, np.ndarray], class_names: Sequence[str], *,
               extra_annotation_fields: Mapping[int, Sequence[Mapping[str, Any]]] | None = None) -> None:
    """Write boxes (x_min, y_min, x_max, y_max) and class indices as a COCO file, atomically.

    Category ids are 1..K in ``class_names`` order (COCO reserves 0), so ``read_coco`` gives
    back the same indices. ``extra_annotation_fields[image_id][i]`` is merged into that
    image's i-th annotation, for keys such as segmentation or keypoints that other tools
    expect; it may set ``area`` or ``iscrowd`` but not the keys that define the box.
    ``info`` and ``licenses`` are written because pycocotools' ``loadRes`` copies them.
    """
    names = [str(name) for name in class_names]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"class_names must be non-empty and unique, got {names}")
    ids = [image.id for image in images]
    if len(set(ids)) != len(ids):
        raise ValueError("write_coco: image ids must be unique")
    unknown = (set(boxes) | set(labels) | set(extra_annotation_fields or {})) - set(ids)
    if unknown:
        raise ValueError(f"write_coco: boxes/labels/extra fields given for unknown image ids {sorted(unknown)[:5]}")

    annotations: list[dict[str, Any]] = []
    for image in images:
        image_boxes = np.asarray(boxes.get(image.id, np.zeros((0, 4))), dtype=np.float64).reshape(-1, 4)
        image_labels = np.asarray(labels.get(image.id, np.zeros(0)), dtype=np.int64).reshape(-1)
        extras = list((extra_annotation_fields or {}).get(image.id, [{}] * len(image_labels)))
        if not len(image_boxes) == len(image_labels) == len(extras):
            raise ValueError(f"write_coco: image {image.id} has {len(image_boxes)} boxes, {len(image_labels)} labels "
                             f"and {len(extras)} extra-field entries; they must match")
        if len(image_boxes) and not np.isfinite(image_boxes).all():
            raise ValueError(f"write_coco: image {image.id} has non-finite box coordinates")
        if len(image_labels) and (image_labels.min() < 0 or image_labels.max() >= len(names)):
            raise ValueError(f"write_coco: image {image.id} has labels outside 0..{len(names) - 1}")
        for (x_min, y_min, x_max, y_max), label, extra in zip(image_boxes.tolist(), image_labels.tolist(), extras):
            width, height = x_max - x_min, y_max - y_min
            if width <= 0 or height <= 0:
                raise ValueError(f"write_coco: image {image.id} has a box with non-positive size "
                                 f"{[x_min, y_min, x_max, y_max]} (expected x_min < x_max, y_min < y_max)")
            clash = _CORE_KEYS & set(extra)
            if clash:
                raise ValueError(f"write_coco: extra_annotation_fields may not set {sorted(clash)}")
            annotations.append({
                "id": len(annotations) + 1,
                "image_id": image.id,
                "category_id": label + 1,
                "bbox": [x_min, y_min, width, height],
                "area": width * height,
                "iscrowd": 0,
                **extra,
            })

    doc = {
        "info": {"description": "written by radiobench.tasks.coco.write_coco"},
        "licenses": [],
        "images": [{"id": i.id, "file_name": i.file_name, "width": i.width, "height": i.height} for i in images],
        "annotations": annotations,
        "categories": [{"id": k + 1, "name": name} for k, name in enumerate(names)],
    }
    with open_atomic(Path(json_path)) as handle:
        json.dump(doc, handle, allow_nan=False, default=_plain)
        handle.write("\n")


def _plain(value: Any) -> Any:
    """numpy values in extra annotation fields (e.g. keypoints from an array) as JSON types."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"write_coco: {type(value).__name__} in extra_annotation_fields is not JSON-serialisable")


def read_annotation_bytes(path: Path) -> bytes:
    """The annotation file's bytes through :mod:`radiobench.io.reader` (a regular file of at most
    :data:`ANNOTATION_LIMIT`), every refusal one :class:`CocoError` line naming it."""
    if not os.path.lexists(path):
        raise CocoError(f"{path}: annotation file not found; check the path or download the data set again")
    try:
        return read_bytes(path, limit=ANNOTATION_LIMIT, what="annotation file")
    except UnreadableFileError as exc:
        raise CocoError(str(exc)) from None


def _load_json(path: Path) -> dict[str, Any]:
    content = read_annotation_bytes(path)
    try:
        doc = json.loads(content)
    except json.JSONDecodeError as exc:
        raise CocoError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                        "the file is corrupt or truncated: download it again") from None
    except (UnicodeDecodeError, RecursionError) as exc:
        raise CocoError(f"{path}: not a readable JSON text ({type(exc).__name__}); "
                        "the file is corrupt: download it again") from None
    if not isinstance(doc, dict):
        raise CocoError(f"{path}: not a COCO annotation file (the top level is a JSON {type(doc).__name__}, "
                        "not an object with 'images', 'annotations' and 'categories'); point to the COCO JSON file")
    missing = [key for key in ("images", "annotations", "categories") if not isinstance(doc.get(key), list)]
    if missing:
        raise CocoError(f"{path}: not a COCO annotation file (needs lists 'images', 'annotations' and 'categories'; "
                        f"missing or not a list: {', '.join(repr(k) for k in missing)}); point to the COCO JSON file")
    return doc


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _whole(value: Any) -> int | None:
    """An image size: an integer, or a float with no fraction (some converters write 450.0)."""
    if _is_int(value):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _read_categories(entries: list[Any], path: Path) -> dict[int, str]:
    categories: dict[int, str] = {}
    for i, entry in enumerate(entries):
        where = f"{path}: categories[{i}]"
        if not isinstance(entry, dict) or not _is_int(entry.get("id")) or not isinstance(entry.get("name"), str):
            raise CocoError(f"{where} needs an integer 'id' and a string 'name', got {_short(entry)}; "
                            "the file is not valid COCO: fix or re-download it")
        if entry["id"] in categories:
            raise CocoError(f"{where}: duplicate category id {entry['id']} (also used by {categories[entry['id']]!r}); "
                            "each category needs its own id: fix or re-download the file")
        categories[entry["id"]] = entry["name"]
    if not categories:
        raise CocoError(f"{path}: no categories, so no box can have a class; fix or re-download the file")
    return categories


def _read_images(entries: list[Any], path: Path) -> dict[int, CocoImage]:
    images: dict[int, CocoImage] = {}
    for i, entry in enumerate(entries):
        where = f"{path}: images[{i}]"
        size = [_whole(entry.get(k)) for k in ("width", "height")] if isinstance(entry, dict) else [None]
        ok = isinstance(entry, dict) and _is_int(entry.get("id")) and isinstance(entry.get("file_name"), str) \
            and all(v is not None and v > 0 for v in size)
        if not ok or not entry["file_name"]:
            raise CocoError(f"{where} needs an integer 'id', a non-empty 'file_name' and positive integer "
                            f"'width' and 'height', got {_short(entry)}; the file is not valid COCO: fix or re-download it")
        name = entry["file_name"]
        if _leaves_folder(name):
            raise CocoError(f"{where}: file_name {name!r} points outside the image folder; "
                            "refusing to read it (a data file must name images inside its folder)")
        if entry["id"] in images:
            raise CocoError(f"{where}: duplicate image id {entry['id']} (also used by {images[entry['id']].file_name!r}); "
                            "each image needs its own id: fix or re-download the file")
        images[entry["id"]] = CocoImage(entry["id"], name, *size)
    return images


def _leaves_folder(name: str) -> bool:
    return any(p.is_absolute() or p.anchor or ".." in p.parts for p in (PurePosixPath(name), PureWindowsPath(name)))


def _read_annotations(entries: list[Any], path: Path, images: dict[int, CocoImage], categories: dict[int, str],
                      tolerance: float) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    index = {cat_id: k for k, cat_id in enumerate(sorted(categories))}
    rows: dict[int, tuple[list[list[float]], list[int]]] = {image_id: ([], []) for image_id in images}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise CocoError(f"{path}: annotations[{i}] is a JSON {type(entry).__name__}, not an object; "
                            "the file is not valid COCO: fix or re-download it")
        where = f"{path}: annotations[{i}]" + (f" (id {entry['id']!r})" if "id" in entry else "")
        if entry.get("iscrowd"):
            continue  # COCO crowd regions are not instances; detectors and COCOeval ignore them
        bbox = entry.get("bbox")
        if not _is_int(entry.get("image_id")) or not _is_int(entry.get("category_id")) \
                or not isinstance(bbox, list) or len(bbox) != 4 or not all(_is_number(v) for v in bbox):
            raise CocoError(f"{where} needs integer 'image_id' and 'category_id' and a 'bbox' of 4 finite numbers, "
                            f"got {_short({k: entry.get(k) for k in ('image_id', 'category_id', 'bbox')})}; "
                            "the file is not valid COCO: fix or re-download it")
        image = images.get(entry["image_id"])
        if image is None:
            raise CocoError(f"{where} refers to image id {entry['image_id']}, which is not in 'images'; "
                            "the file is inconsistent: fix or re-download it")
        if entry["category_id"] not in categories:
            raise CocoError(f"{where} has category id {entry['category_id']}, which is not in 'categories' "
                            f"(known: {', '.join(str(c) for c in sorted(categories))}); the file is inconsistent: "
                            "fix or re-download it")
        box = _checked_box(bbox, image, where, tolerance)
        rows[image.id][0].append(box)
        rows[image.id][1].append(index[entry["category_id"]])
    boxes = {image_id: np.asarray(b, dtype=np.float32).reshape(-1, 4) for image_id, (b, _) in rows.items()}
    labels = {image_id: np.asarray(lab, dtype=np.int64).reshape(-1) for image_id, (_, lab) in rows.items()}
    return boxes, labels


def _checked_box(bbox: list[float], image: CocoImage, where: str, tolerance: float) -> list[float]:
    x, y, w, h = (float(v) for v in bbox)
    on = f"on {image.file_name!r} ({image.width}x{image.height})"
    if w <= 0 or h <= 0:
        raise CocoError(f"{where} {on} has an empty box (width {w:g}, height {h:g}); "
                        "a box needs positive width and height: fix or drop that annotation")
    x_max, y_max = x + w, y + h
    overhang = max(-x, -y, x_max - image.width, y_max - image.height)
    if overhang > tolerance:
        raise CocoError(f"{where} {on}: box [x={x:g}, y={y:g}, w={w:g}, h={h:g}] extends {overhang:g} px beyond the "
                        f"image (tolerance {tolerance:g} px); fix the annotation or allow a larger box_tolerance")
    clipped = [min(max(x, 0.0), image.width), min(max(y, 0.0), image.height),
               min(max(x_max, 0.0), image.width), min(max(y_max, 0.0), image.height)]
    if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
        raise CocoError(f"{where} {on}: box [x={x:g}, y={y:g}, w={w:g}, h={h:g}] lies outside the image; "
                        "fix or drop that annotation")
    return clipped


def _check_files(images: Any, image_dir: Path, path: Path) -> None:
    images = list(images)
    if images and not image_dir.is_dir():
        raise CocoError(f"image folder {image_dir} not found (it should hold the {len(images)} images listed in "
                        f"{path}); put the images there or point to the right folder")
    missing = [image.file_name for image in images if not (image_dir / image.file_name).is_file()]
    if missing:
        shown = ", ".join(repr(name) for name in missing[:_MISSING_SHOWN]) + (", ..." if len(missing) > _MISSING_SHOWN else "")
        raise CocoError(f"{len(missing)} of {len(images)} images listed in {path} are missing from {image_dir} "
                        f"(e.g. {shown}); the download is incomplete: unpack the images again")


def _short(value: Any, limit: int = 120) -> str:
    """A value for an error line: JSON-like, never multi-line, never huge (segmentations are long)."""
    text = json.dumps(value, default=repr) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
