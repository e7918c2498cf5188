"""Detection tasks: images with boxes, read from COCO files, scored by COCO mAP.

A detection task serves whole images (already scaled to [0, 1]) with their boxes instead of
one label per image, so it is its own ``Task`` flavour. Any COCO-format set becomes a task
by registering ``CocoTask`` with where its files are::

    register(TaskSpec(name="my_survey", factory="radiobench.tasks.detection:CocoTask", kind="detection",
                      main_score="map", version="1.0", data_folder="my_survey",
                      classes=("source",), splits=("train", "test"),
                      options={"annotations": "annotations/{split}.json", "images": "{split}",
                               "reader": "fits"}))

Scores are torchmetrics' ``MeanAveragePrecision`` on the pycocotools backend (the COCO
reference implementation), class-aware, plus the class-agnostic mAP that a source finder,
which knows no classes, is compared on.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from radiobench.errors import DatasetNotFoundError, RadiobenchError
from radiobench.io.reader import GiB, UnreadableFileError, check_image_pixels, read_bytes
from radiobench.specs import TaskSpec
from radiobench.tasks.base import Task

# A detection image is a crop or at most a survey field: 16,384² float32 pixels are 1 GiB of FITS.
IMAGE_FILE_LIMIT = 2 * GiB
# 8192² pixels (256 MiB decoded as RGBA) is far beyond any detection crop; a PNG of 100 kB can
# declare 11,000² and expand to gigabytes, so the header's size is checked before decoding.
MAX_IMAGE_PIXELS = 8192 * 8192
PERCENTILES = (1.0, 99.5)  # per-image stretch of FITS cutouts: the bright tail of a few sources saturates


@dataclass
class DetectionSplit:
    """Images in [0, 1] (each (H, W) float32) with boxes as x_min, y_min, x_max, y_max in pixels."""

    images: Sequence[np.ndarray]
    boxes: list[np.ndarray]  # (n_i, 4) float32
    labels: list[np.ndarray]  # (n_i,) int64, index into the task's classes
    ids: list[str]
    beams: list[tuple[float, float, float] | None]  # restoring beam (major, minor FWHM in pixels, PA deg) if known
    raw: list[np.ndarray] | None = None  # survey pixels before scaling (FITS sets), for source finders

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, rows: Sequence[int]) -> DetectionSplit:
        return DetectionSplit([self.images[i] for i in rows], [self.boxes[i] for i in rows],
                              [self.labels[i] for i in rows], [self.ids[i] for i in rows], [self.beams[i] for i in rows],
                              None if self.raw is None else [self.raw[i] for i in rows])


class DetectionTask(Task):
    """``load_split`` returns a :class:`DetectionSplit`; images come out already scaled to [0, 1]."""

    pixel_range = (0.0, 1.0)  # readers scale per image (see ``spec.scaling``)

    def score(self, y_true: Any, y_pred: Any) -> dict[str, float]:
        return detection_scores(y_true, y_pred, self.spec.classes)


def detection_scores(targets: list[dict[str, np.ndarray]], predictions: list[dict[str, np.ndarray]],
                     classes: Sequence[str]) -> dict[str, float]:
    """COCO mAP@[.5:.95], mAP@.5, mAP@.75, per-class AP and the class-agnostic mAP / mAP@.5.

    ``targets``: per image ``{"boxes", "labels"}``; ``predictions``: per image ``{"boxes", "scores", "labels"}``.
    A class with no test box has no AP (COCO gives -1); it is left out rather than reported as 0.
    """
    scores = _map(targets, predictions, per_class=len(classes) > 1)
    out = {"map": scores["map"], "map_50": scores["map_50"], "map_75": scores["map_75"]}
    if len(classes) > 1:
        ids = [int(c) for c in np.atleast_1d(scores["classes"])]
        for class_id, ap in zip(ids, np.atleast_1d(scores["map_per_class"])):
            if ap >= 0:
                out[f"ap_{classes[class_id]}"] = float(ap)
        agnostic = _map([{**t, "labels": np.zeros_like(t["labels"])} for t in targets],
                        [{**p, "labels": np.zeros_like(p["labels"])} for p in predictions], per_class=False)
    else:
        agnostic = scores
    out["map_agnostic"], out["map_50_agnostic"] = agnostic["map"], agnostic["map_50"]
    return {k: max(float(v), 0.0) if k.startswith("map") else float(v) for k, v in out.items()}


def _map(targets: list[dict[str, np.ndarray]], predictions: list[dict[str, np.ndarray]], per_class: bool) -> dict[str, Any]:
    import torch
    from torchmetrics.detection import MeanAveragePrecision

    metric = MeanAveragePrecision(box_format="xyxy", iou_type="bbox", class_metrics=per_class, backend="pycocotools")
    metric.update(
        [{"boxes": torch.as_tensor(p["boxes"], dtype=torch.float32).reshape(-1, 4),
          "scores": torch.as_tensor(p["scores"], dtype=torch.float32).reshape(-1),
          "labels": torch.as_tensor(p["labels"], dtype=torch.int64).reshape(-1)} for p in predictions],
        [{"boxes": torch.as_tensor(t["boxes"], dtype=torch.float32).reshape(-1, 4),
          "labels": torch.as_tensor(t["labels"], dtype=torch.int64).reshape(-1)} for t in targets],
    )
    return {k: (v.numpy() if hasattr(v, "numpy") else v) for k, v in metric.compute().items()}


class CocoTask(DetectionTask):
    """A COCO-format detection set under the task's data folder.

    Options: ``annotations`` and ``images`` (paths relative to the data folder, ``{split}``
    filled in); ``reader``: ``"fits"`` (plane 0 of a FITS cutout, stretched per image to its
    1st-99.5th percentile, NaN to 0) or ``"png"`` (channel ``channel`` of an 8-bit PNG / 255);
    ``box_tolerance`` (pixels a box may overhang the image before it is an error; overhangs are
    clipped); ``beam_pixels`` (restoring beam FWHM major, minor in pixels and PA in degrees, for
    PNG sets and FITS without beam keywords: source finders need it). Subclasses with their own
    layout override ``read_split`` and ``read_image``.
    """

    can_download = False  # COCO sets are unpacked by hand where the data folder says (spec.download_hint)

    def data_present(self, root: Path) -> bool | None:
        return self.folder(root).is_dir()

    def __init__(self, spec: TaskSpec, **options: Any):
        super().__init__(spec, **options)
        self._sets: dict[str, Any] = {}
        self._sha = ""

    @property
    def data_sha256(self) -> str:
        return self._sha or self.spec.data_sha256

    def metadata(self) -> dict[str, Any]:
        return {"images_per_split": {s: len(c.images) for s, c in self._sets.items()},
                "boxes_per_split": {s: int(sum(len(b) for b in c.boxes.values())) for s, c in self._sets.items()},
                "reader": self.options.get("reader", "fits")}

    def read_split(self, folder: Path, split: str) -> Any:
        from radiobench.tasks.coco import read_coco

        return read_coco(folder / self.options["annotations"].format(split=split),
                         folder / self.options["images"].format(split=split),
                         box_tolerance=float(self.options.get("box_tolerance", 1.0)))

    def read_image(self, path: Path) -> tuple[np.ndarray, tuple[float, float, float] | None, np.ndarray | None]:
        """(H, W) float32 in [0, 1], the beam in pixels if known, and the survey pixels if they differ."""
        beam = self.beam_option()
        if self.options.get("reader", "fits") == "png":
            return read_png_channel(path, int(self.options.get("channel", 0))), beam, None
        from radiobench.astro.crops import percentile_range, scale
        from radiobench.astro.fitsimage import read_radio_image

        radio = read_radio_image(path)
        if beam is None and radio.pixel_deg:
            beam = (radio.beam_deg[0] / radio.pixel_deg, radio.beam_deg[1] / radio.pixel_deg, radio.beam_deg[2])
        lo, hi = percentile_range(radio.data, PERCENTILES)
        return np.nan_to_num(scale(radio.data, lo, hi), nan=0.0).astype(np.float32), beam, radio.data

    def beam_option(self) -> tuple[float, float, float] | None:
        """The ``beam_pixels`` option (major, minor FWHM in pixels, PA in degrees), if given."""
        beam = self.options.get("beam_pixels")
        return tuple(float(b) for b in beam) if beam is not None else None  # type: ignore[return-value]

    def prepare(self, root: Path, download: bool = False) -> None:
        folder = self.folder(root)
        if not folder.is_dir():
            raise DatasetNotFoundError(f"{self.spec.name}: data folder {folder} not found; "
                                       f"{self.spec.download_hint or 'place the COCO files there'}")
        from radiobench.tasks.coco import read_annotation_bytes

        digest = hashlib.sha256()
        for split in self.spec.splits:
            coco = self.read_split(folder, split)
            if [c.lower() for c in coco.class_names] != [c.lower() for c in self.spec.classes]:
                raise RadiobenchError(f"{coco.path}: categories {list(coco.class_names)} differ from the task's "
                                      f"classes {list(self.spec.classes)}; is this the right annotation file?")
            self._sets[split] = coco
            digest.update(read_annotation_bytes(coco.path))
            for image in coco.images:
                digest.update(_image_bytes(coco.image_path(image)))
        self._sha = digest.hexdigest()
        self.root = root

    def load_split(self, split: str) -> DetectionSplit:  # type: ignore[override]
        coco = self._sets[split]
        images, beams, raw = [], [], []
        for image in coco.images:
            pixels, beam, survey = self.read_image(coco.image_path(image))
            if pixels.shape != (image.height, image.width):
                raise RadiobenchError(f"{coco.image_path(image)}: image is {pixels.shape[1]}x{pixels.shape[0]} but "
                                      f"{coco.path.name} says {image.width}x{image.height}")
            images.append(pixels)
            beams.append(beam)
            raw.append(survey)
        return DetectionSplit(images, [coco.boxes[i.id] for i in coco.images], [coco.labels[i.id] for i in coco.images],
                              [i.file_name for i in coco.images], beams,
                              None if any(r is None for r in raw) else raw)


def _image_bytes(path: Path) -> bytes:
    """An image file's bytes (for the data set's sha256), a regular file of at most :data:`IMAGE_FILE_LIMIT`."""
    from radiobench.tasks.coco import CocoError

    try:
        return read_bytes(path, limit=IMAGE_FILE_LIMIT, what="image")
    except UnreadableFileError as exc:
        raise CocoError(str(exc)) from None


def read_png_channel(path: Path, channel: int, *, size: tuple[int, int] | None = None,
                     modes: tuple[str, ...] = ("L", "RGB", "RGBA"), expected: str = "an 8-bit PNG",
                     fix: str = "download the data set again") -> np.ndarray:
    """Channel ``channel`` of an 8-bit image as float32 (H, W) in [0, 1] (uint8 / 255).

    Decoded at once, so a truncated file fails here with one line, not later inside a batch;
    ``size`` is the expected (width, height); ``modes``/``expected`` say which images the set holds
    and ``fix`` what to do about a bad one.
    """
    from PIL import Image

    from radiobench.tasks.coco import CocoError

    path = Path(path)
    if not os.path.lexists(path):
        raise CocoError(f"{path}: image not found; the download is incomplete: unpack the images again")
    try:
        with Image.open(io.BytesIO(_image_bytes(path))) as image:
            check_image_pixels(image.size, max_pixels=MAX_IMAGE_PIXELS, source=path)  # before a pixel is decoded
            image.load()
            mode, got = image.mode, image.size
            band = np.asarray(image.getchannel(channel)) if mode in modes and channel < len(image.getbands()) else None
    except UnreadableFileError as exc:
        raise CocoError(str(exc)) from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise CocoError(f"{path}: unreadable image ({reason}); the file is corrupt or truncated: {fix}") from None
    if band is None:
        raise CocoError(f"{path}: image mode {mode}, expected {expected} with a channel {channel}; "
                        "this image does not belong to the set: check the data folder")
    if size is not None and got != tuple(size):
        raise CocoError(f"{path}: image is {got[0]}x{got[1]} pixels, expected {size[0]}x{size[1]}; "
                        f"it does not belong to the set or was resized: {fix}")
    return band.astype(np.float32) / np.float32(255.0)
