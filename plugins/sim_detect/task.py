"""Building ``sim_detect``: simulated fields -> FITS crops + COCO boxes, in the cache.

A box bounds the source's 1/16-of-peak contour: the ellipse whose semi-axes are the FWHM of
the source convolved with the beam (a point source: 2 beam FWHM across). A source belongs to
the crop its centre falls in, with its box clipped to the crop. Only sources with peak
S/N >= ``min_snr`` (noise rms divided by the primary-beam response at the source) are boxes:
fainter ones are not in the image to be found.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from radiobench.api import CocoTask, cache_root
from radiobench.tasks.coco import CocoImage, write_coco
from radiobench.astro.simulate import FieldParams, simulate_field


class SimDetect(CocoTask):
    @property
    def generated(self) -> bool:
        return True

    def folder(self, root: Path) -> Path:
        recipe = json.dumps(self.options["simulate"], sort_keys=True)
        return cache_root() / "simulated" / self.spec.name / hashlib.sha256(recipe.encode()).hexdigest()[:12]

    def data_present(self, root: Path) -> bool:
        """Already built: the annotation files are written last, so their presence means complete."""
        folder = self.folder(root)
        return all((folder / self.options["annotations"].format(split=s)).is_file() for s in self.spec.splits)

    def prepare(self, root: Path, download: bool = False) -> None:
        if not self.data_present(root):
            build(self.folder(root), self.options["simulate"])
        super().prepare(root, download)


def build(folder: Path, recipe: dict[str, Any]) -> None:
    """Crops and annotation files; the JSON files are written last, so their presence means complete."""
    from astropy.io import fits

    from radiobench.io.atomic import open_atomic
    from radiobench.api import progress_stage as stage

    crop, n_fields = int(recipe["crop"]), int(recipe["n_fields"])
    made = stage(f"sim_detect: simulate {n_fields} fields (first run only)", n_fields, "fields")
    per_split: dict[str, tuple[list[CocoImage], dict[int, np.ndarray], dict[int, np.ndarray]]] = {
        "train": ([], {}, {}), "test": ([], {}, {})}
    for f in range(n_fields):
        params = FieldParams(size=int(recipe["size"]), n_sources=int(recipe["n_sources"]), seed=int(recipe["first_seed"]) + f)
        field = simulate_field(params)
        split = "test" if f >= n_fields - int(recipe["test_fields"]) else "train"
        images, boxes, labels = per_split[split]
        all_boxes = source_boxes(field.truth, params, float(recipe["min_snr"]))
        centres = [(row["x"], row["y"]) for row in field.truth]
        for top in range(0, params.size - crop + 1, crop):
            for left in range(0, params.size - crop + 1, crop):
                pixels = field.image[top : top + crop, left : left + crop]
                if not np.isfinite(pixels).all():
                    continue  # outside the primary-beam radius
                inside = [i for i, (x, y) in enumerate(centres) if i in all_boxes
                          and left - 0.5 <= x < left + crop - 0.5 and top - 0.5 <= y < top + crop - 0.5]
                image_id = len(images) + 1 + (0 if split == "train" else 100000)
                name = f"field{f:02d}_r{top:04d}_c{left:04d}.fits"
                header = fits.Header({k: v for k, v in field.header.items() if k not in ("CRPIX1", "CRPIX2")})
                header["CRPIX1"] = field.header["CRPIX1"] - left
                header["CRPIX2"] = field.header["CRPIX2"] - top
                with open_atomic(folder / "images" / name, "wb") as handle:
                    fits.PrimaryHDU(pixels.astype(np.float32), header).writeto(handle)
                b = np.array([all_boxes[i] for i in inside], dtype=np.float32).reshape(-1, 4)
                b -= np.array([left, top, left, top], dtype=np.float32)
                b = np.clip(b, 0, crop)
                images.append(CocoImage(image_id, name, crop, crop))
                boxes[image_id] = b
                labels[image_id] = np.zeros(len(b), dtype=np.int64)
        made(1)
    for split, (images, boxes, labels) in per_split.items():
        write_coco(folder / "annotations" / f"{split}.json", images, boxes, labels, ["source"])


def source_boxes(truth: list[dict[str, Any]], p: FieldParams, min_snr: float) -> dict[int, tuple[float, ...]]:
    """Source index -> box (x_min, y_min, x_max, y_max; pixel (0, 0) spans [0, 1]) for sources above ``min_snr``."""
    centre = (p.size - 1) / 2.0
    out = {}
    for i, row in enumerate(truth):
        x, y = row["x"], row["y"]
        response = float(p.primary_beam(math.hypot(x - centre, y - centre)))
        if row["peak_jy_beam"] * response / p.rms < min_snr:
            continue
        a = math.hypot(row["maj_arcsec"], p.beam_arcsec) / p.pixel_arcsec  # FWHM, pixels
        b = math.hypot(row["min_arcsec"], p.beam_arcsec) / p.pixel_arcsec
        pa = math.radians(row["pa_deg"])  # major axis along (-sin pa, cos pa) in (x, y), as simulate draws it
        half_x = math.hypot(a * math.sin(pa), b * math.cos(pa))
        half_y = math.hypot(a * math.cos(pa), b * math.sin(pa))
        cx, cy = x + 0.5, y + 0.5  # pixel centres sit at +0.5 in box coordinates
        out[i] = (cx - half_x, cy - half_y, cx + half_x, cy + half_y)
    return out
