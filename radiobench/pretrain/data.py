"""Pretraining sources -> one array of [0, 1] single-channel images, with the set's identity.

A source is ``KIND:WHERE``; any mix may be given:

- ``fits:PATH`` a 2-D radio FITS image, a folder of them (the ``mgcls/`` layout of mgcls_counts,
  fields from ``radiobench simulate``) or a glob: each field is cut into ``fits_crop`` crops the way
  the counting tasks do (radiobench.astro.crops: fewest crops that cover, any crop touching a
  NaN rejected, each field scaled to its own 2nd-98th percentile range).
- ``images:DIR`` cutouts, all of one size: PNG/JPEG (8-bit, mean of the colour channels / 255) or
  FITS (each cutout scaled to its own 2nd-98th percentiles; a cutout with a NaN is refused).
- ``protege:DIR`` the MGCLS Protege cutouts (the ``mgcls_protege`` folder or its ``images/``), decoded
  to intensity with the drawn rank number and scale bar masked (plugins/mgcls_anomaly/images.py).
- ``task:NAME`` a registered task's ``train`` split, scaled by the task. Images whose sky position
  (parsed from the ids) lies within ``EXCLUDE_ARCSEC`` of any test image of a task sharing the
  survey (same ``source_datasets``) are left out, so no literature test image of any headline task is
  trained on (MiraBest and RGD share 745 FIRST sources). Variants left out of ``--task all``
  (``in_all=False``: RGD's cross-validation folds) are not excluded: their test folds may hold pool
  images, and their cells carry the in-domain mark (†) from the card's ``training_data``. Ids with no
  position are left out too. Tasks without a train split are refused.

Every source is resized (bilinear, antialiased) to ``stored_size`` so that sources of different
cutout sizes can mix; its identity (files' sha256, counts, exclusions) goes into the card, and the
sha256 of the final pixel array identifies the training set as a whole. Files are read through
radiobench.pretrain.files (capped, refused by name when unusable): one bad file stops the run, naming
it, rather than leaving a silently smaller data set.
"""

from __future__ import annotations

import glob
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from radiobench.astro import sky as _sky
from radiobench.errors import RadiobenchError
from radiobench.pretrain.settings import KINDS

EXCLUDE_ARCSEC = 90.0
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class PretrainDataError(RadiobenchError):
    """A pretraining source that cannot be used (the message says which and why)."""


@dataclass
class PretrainData:
    images: np.ndarray  # (N, S, S) float32 in [0, 1]
    sources: list[dict[str, Any]] = field(default_factory=list)
    training_data: tuple[str, ...] = ()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(np.ascontiguousarray(self.images).tobytes()).hexdigest()

    def identity(self) -> dict[str, Any]:
        return {"images": int(len(self.images)), "stored_size": int(self.images.shape[-1]),
                "pixels_sha256": self.sha256, "sources": self.sources, "training_data": list(self.training_data)}


def _parse(source: str) -> tuple[str, str]:
    kind, sep, where = source.partition(":")
    if not sep or kind not in KINDS or not where:
        raise PretrainDataError(f"data source {source!r}: expected KIND:WHERE with KIND one of {', '.join(KINDS)}")
    return kind, where


def check_sources(sources: list[str], data_root: str | Path | None = None) -> None:
    """Refuse, before any file is read, a source that cannot give images: a malformed source, a folder or glob
    with no image files, an unknown task or one without a train split. Lists folders; reads no image."""
    if not sources:
        raise PretrainDataError("no --data source given; e.g. --data fits:FIELDS_DIR,protege:DATA/mgcls_protege,task:mirabest")
    for source in sources:
        kind, where = _parse(source)
        if kind == "fits":
            _files(where, FITS_SUFFIXES, "FITS fields")
        elif kind == "images":
            _files(where, IMAGE_SUFFIXES + FITS_SUFFIXES, "images (PNG, JPEG or FITS cutouts)")
        elif kind == "protege":
            _files(str(_protege_folder(where)), (".png",), "Protege cutouts")
        else:
            _train_split_spec(where)


def load_sources(sources: list[str], stored_size: int, fits_crop: int = 256, data_root: str | Path | None = None,
                 on_source: Callable[[str], None] | None = None,
                 on_file: Callable[[str, int, int], None] | None = None) -> PretrainData:
    """Every source read and resized to ``stored_size`` (file by file or field by field, so memory holds one
    full-size image at a time, not a whole folder of them). ``on_file(source, done, total)`` after each file:
    reading 6161 Protege cutouts takes about a minute here, too long to show nothing."""
    check_sources(sources, data_root)
    arrays, records, surveys = [], [], []
    for source in sources:
        kind, where = _parse(source)
        if on_source:
            on_source(source)
        progress = (lambda done, total, source=source: on_file(source, done, total)) if on_file else None
        images, record, names = LOADERS[kind](where, fits_crop=fits_crop, data_root=data_root, stored_size=stored_size,
                                              progress=progress)
        if len(images) == 0:
            raise PretrainDataError(f"data source {source!r}: no images found")
        cutout = record.pop("cutout_size", list(images.shape[1:]))
        arrays.append(_resize(images, stored_size))
        records.append({"source": source, **record, "images": int(len(images)), "cutout_size": cutout})
        surveys += [n for n in names if n not in surveys]
    return PretrainData(np.concatenate(arrays).astype(np.float32, copy=False), records, tuple(surveys))


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    if images.shape[-2:] == (size, size):
        return images.astype(np.float32, copy=False)
    out = np.empty((len(images), size, size), dtype=np.float32)
    for start in range(0, len(images), 256):
        batch = torch.from_numpy(np.ascontiguousarray(images[start : start + 256], dtype=np.float32))[:, None]
        out[start : start + 256] = F.interpolate(batch, size=(size, size), mode="bilinear", align_corners=False,
                                                 antialias=True)[:, 0].clamp(0, 1).numpy()
    return out


def _files(where: str, suffixes: tuple[str, ...], what: str) -> list[Path]:
    """The files named like ``suffixes`` in a folder, a file, or a glob. Anything but a folder is listed, so that
    a named pipe or device among them is refused by name when read, not silently left out."""
    path = Path(where).expanduser()
    if path.is_dir():
        files = [p for p in path.iterdir() if not p.is_dir()]
    elif path.exists() or path.is_symlink():
        files = [path]
    else:
        files = [Path(p) for p in glob.glob(str(path)) if not Path(p).is_dir()]
    files = sorted(p for p in files if p.name.lower().endswith(suffixes) and ".catalogue." not in p.name)
    if not files:
        raise PretrainDataError(f"no {what} found at {where} (looked for {', '.join(suffixes)})")
    return files


def _digest(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def _in_file(path: Path, step: Callable[[], Any]) -> Any:
    """``step()``, with a RadiobenchError that does not say which file (crops' "image is flat") given its name."""
    try:
        return step()
    except RadiobenchError as exc:
        if str(path) in str(exc):
            raise
        raise PretrainDataError(f"{path}: {exc}") from None


def load_fits_fields(where: str, fits_crop: int = 256, stored_size: int | None = None,
                     progress: Callable[[int, int], None] | None = None,
                     **_: Any) -> tuple[np.ndarray, dict[str, Any], list[str]]:
    from radiobench.astro import crops
    from radiobench.pretrain.files import read_fits_plane

    files = _files(where, FITS_SUFFIXES, "FITS fields")
    images, per_field, names = [], [], []
    for done, path in enumerate(files):
        if progress:
            progress(done, len(files))
        data, sha = read_fits_plane(path)
        tiling = _in_file(path, lambda: crops.tile(data, fits_crop))
        if not tiling.corners:
            continue
        lo, hi = _in_file(path, lambda: crops.percentile_range(data))
        cut = crops.scale(crops.cut(data, tiling), lo, hi)
        images.append(_resize(cut, stored_size) if stored_size else cut)
        per_field.append({"file": path.name, "sha256": sha, "crops": len(tiling.corners),
                          "crops_rejected_nan": tiling.rejected, "percentile_range": [lo, hi]})
        stem = path.name[: -len(next(s for s in FITS_SUFFIXES if path.name.lower().endswith(s)))]
        if (path.parent / f"{stem}.truth.csv").is_file():
            names.append("simulated")
        elif "_5pln_cor" in path.name:
            names += ["MGCLS", "MeerKAT"]
    if not images:
        raise PretrainDataError(f"fits:{where}: no {fits_crop}x{fits_crop} crop of {len(files)} field(s) is free of "
                                "NaN; use a smaller --fits-crop")
    record = {"kind": "fits", "crop": fits_crop, "fields": per_field, "cutout_size": [fits_crop, fits_crop],
              "sha256": _digest({f["file"]: f["sha256"] for f in per_field})}
    return np.concatenate(images), record, list(dict.fromkeys(names))


def load_image_folder(where: str, stored_size: int | None = None, progress: Callable[[int, int], None] | None = None,
                      **_: Any) -> tuple[np.ndarray, dict[str, Any], list[str]]:
    """Cutouts of one size; a file that is not a usable image stops the run, named (no silent partial data)."""
    from radiobench.astro import crops
    from radiobench.pretrain.files import read_fits_plane, read_picture

    files = _files(where, IMAGE_SUFFIXES + FITS_SUFFIXES, "images (PNG, JPEG or FITS cutouts)")
    images, shas, first = [], {}, None
    for done, path in enumerate(files):
        if progress:
            progress(done, len(files))
        if path.name.lower().endswith(FITS_SUFFIXES):
            data, sha = read_fits_plane(path)
            if not np.isfinite(data).all():
                raise PretrainDataError(f"{path}: {int((~np.isfinite(data)).sum())} NaN/inf pixels in a cutout; "
                                        "blank-free cutouts only (use fits: for fields, whose blanked crops are dropped)")
            lo, hi = _in_file(path, lambda: crops.percentile_range(data))
            pixels = crops.scale(data, lo, hi)
        else:
            pixels, sha = read_picture(path)
        if first is None:
            first = (path.name, pixels.shape)
        elif pixels.shape != first[1]:
            raise PretrainDataError(f"images:{where}: mixed sizes ({first[0]} is {first[1][1]}x{first[1][0]}, "
                                    f"{path.name} is {pixels.shape[1]}x{pixels.shape[0]}); give each size as its own source")
        pixels = pixels.astype(np.float32)
        images.append(_resize(pixels[None], stored_size)[0] if stored_size else pixels)
        shas[path.name] = sha
    record = {"kind": "images", "files": len(files), "sha256": _digest(shas), "cutout_size": list(first[1])}
    return np.stack(images), record, []


def _protege_folder(where: str) -> Path:
    folder = Path(where).expanduser()
    return folder / "images" if (folder / "images").is_dir() else folder


MAX_CUTOUT_BYTES = 4 << 20  # a Protege cutout is ~65 kB


def load_protege(where: str, progress: Callable[[int, int], None] | None = None,
                  **_: Any) -> tuple[np.ndarray, dict[str, Any], list[str]]:
    from radiobench.io.reader import read_bytes
    from radiobench.pretrain.files import sha256
    from radiobench_plugins.mgcls_anomaly.images import read_cutout

    files = _files(str(_protege_folder(where)), (".png",), "Protege cutouts")
    images = np.empty((len(files), 219, 219), dtype=np.float32)
    shas = {}
    for i, path in enumerate(files):
        if progress:
            progress(i, len(files))
        # read here through the shared reader (a pipe or an oversized file is refused by name); the plugin
        # decodes the file only if its bytes still have this digest
        sha = sha256(read_bytes(path, limit=MAX_CUTOUT_BYTES, what="Protege cutout"))
        images[i] = read_cutout(path, sha256=sha) / np.float32(255)
        shas[path.name] = sha
    return images, {"kind": "protege", "files": len(files), "sha256": _digest(shas),
                    "masked": "rank text and scale bar (plugins/mgcls_anomaly/images.py)"}, ["MGCLS", "MeerKAT"]


# one parser of positions from ids, shared with the grouped cross-validation (radiobench.astro.sky)
sky_position = _sky.sky_position
_separation_arcsec = _sky.separation_arcsec


def _task(reg: Any, name: str, data_root: Any) -> Any:
    from radiobench.specs import resolve_factory

    spec = reg.task(name).spec
    task = resolve_factory(spec.factory)(spec, **spec.options)
    task.prepare(Path(data_root))
    return task


def _train_split_spec(name: str) -> Any:
    """The registered task ``name``, refused when it has no train split (an unknown name: UnknownNameError)."""
    from radiobench.registry import get_registry

    spec = get_registry().task(name).spec
    if "train" not in spec.splits:
        raise PretrainDataError(f"task:{name} has no train split (it serves {', '.join(spec.splits)}, partitioned or "
                                "ranked per seed): every image may be a test image, so it cannot be a pretraining source")
    return spec


def load_task_train(where: str, data_root: str | Path | None = None, **_: Any) -> tuple[np.ndarray, dict[str, Any], list[str]]:
    from radiobench.io.datafiles import data_root as default_root
    from radiobench.registry import get_registry

    reg = get_registry()
    spec = _train_split_spec(where)
    root = default_root(data_root)
    task = _task(reg, where, root)
    split = task.load_split("train")
    pixels = np.asarray(task.scale(np.asarray(split.images)), dtype=np.float32)
    if pixels.ndim == 4:
        pixels = pixels.mean(axis=1)
    # every test image of a task on the same survey, by sky position
    surveys = {s.lower() for s in spec.source_datasets}
    test_positions, checked, unplaced = [], [], 0
    for other, registered in sorted(reg.tasks.items()):
        if ("test" not in registered.spec.splits or not registered.spec.in_all
                or not surveys & {s.lower() for s in registered.spec.source_datasets}):
            continue  # variants (in_all=False, e.g. rgd_cv0-4) are scored as in-domain instead (issue 31)
        test = _task(reg, other, root).load_split("test")
        found = [sky_position(i) for i in test.ids]
        unplaced += sum(p is None for p in found)
        test_positions += [p for p in found if p is not None]
        checked.append(other)
    if unplaced:
        raise PretrainDataError(f"task:{where}: {unplaced} test ids of {', '.join(checked)} carry no sky position, so "
                                "their images cannot be excluded; not used")
    train_positions = [sky_position(i) for i in split.ids]
    placed = np.array([p is not None for p in train_positions])  # a train image of unknown position: left out
    keep = placed.copy()
    if test_positions and placed.any():
        seps = _separation_arcsec(np.asarray([p for p in train_positions if p is not None]), np.asarray(test_positions))
        keep[placed] = seps.min(axis=1) > EXCLUDE_ARCSEC
    kept_ids = [i for i, k in zip(split.ids, keep) if k]
    record = {"kind": "task", "task": where, "split": "train", "task_version": spec.version,
              "task_data_sha256": task.data_sha256, "train_images": len(split.ids),
              "excluded_near_test": int((placed & ~keep).sum()),
              "excluded_no_position": int((~placed).sum()), "exclusion_radius_arcsec": EXCLUDE_ARCSEC,
              "test_splits_checked": checked,
              "sha256": hashlib.sha256(json.dumps(kept_ids).encode()).hexdigest()}
    return pixels[keep], record, list(spec.source_datasets)


LOADERS: dict[str, Callable[..., tuple[np.ndarray, dict[str, Any], list[str]]]] = {
    "fits": load_fits_fields, "images": load_image_folder, "protege": load_protege, "task": load_task_train,
}

