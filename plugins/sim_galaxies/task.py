"""The ``sim_galaxies`` task: generated into the cache on prepare, read by the real RadioGalaxyNET data layer."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from radiobench.api import cache_root
from radiobench.tasks.detection import DetectionSplit
from radiobench_plugins.radiogalaxynet import data
from radiobench_plugins.radiogalaxynet.task import RadioGalaxyNet


class SimGalaxies(RadioGalaxyNet):
    """RadioGalaxyNET's task on simulated cutouts; source finders get the cutouts' FITS pixels (not on train)."""

    @property
    def generated(self) -> bool:
        return True

    def base(self) -> Path:
        recipe = json.dumps(self.options["simulate"], sort_keys=True)
        return cache_root() / "simulated" / self.spec.name / hashlib.sha256(recipe.encode()).hexdigest()[:12]

    def folder(self, root: Path) -> Path:
        return data.folder(self.base())  # <base>/radiogalaxynet, as under a data root

    def data_present(self, root: Path) -> bool:
        """Already built: the annotation files are written last, so their presence means complete."""
        return all(data.annotation_path(self.base(), s).is_file() for s in self.spec.splits)

    def prepare(self, root: Path, download: bool = False) -> None:
        if not self.data_present(root):
            build(self.base(), self.options["simulate"])
        super().prepare(root, download)

    def load_split(self, split: str) -> DetectionSplit:  # type: ignore[override]
        out = super().load_split(split)
        if split != "train" and self.options.get("source_finder_pixels", "fits") == "fits":
            from astropy.io import fits

            raw = []
            for name in out.ids:
                with fits.open(self.base() / "fits" / split / (Path(name).stem + ".fits"), memmap=False) as hdus:
                    raw.append(np.asarray(hdus[0].data, dtype=np.float32))
            out.raw = raw
        return out

    def score(self, y_true: Any, y_pred: Any) -> dict[str, float]:
        """COCO scores and completeness / purity by position.

        A run's intervals call this on thousands of resamples of the same test images, so boxes are
        matched once per image (``DetectionScorer``, equal to ``detection_scores``; torchmetrics took
        4.9 s a call on 96 cutouts, hours for one row's intervals) and so are positions: both are kept per
        (truth, prediction) pair of dicts, which a resample repeats rather than copies.
        """
        from radiobench.astro.grouping import completeness_purity, match_by_position
        from radiobench.results.coco import DetectionScorer

        if getattr(self, "_scorer", None) is None:
            self._scorer, self._positions = DetectionScorer(self.spec.classes), {}

        def remembered(target: dict, found: dict, score_min: float) -> tuple[int, int, int]:
            key = (id(target), id(found))
            if key not in self._positions:  # the dicts are kept with their counts, so an id is never reused
                self._positions[key] = (target, found, match_by_position(target["boxes"], found["boxes"],
                                                                         found["scores"], score_min))
            return self._positions[key][2]

        found = completeness_purity(y_true, y_pred, float(self.options.get("match_score", 0.3)), remembered)
        return {**self._scorer(y_true, y_pred), "completeness": found["completeness"], "purity": found["purity"]}


def build(base: Path, options: dict[str, Any]) -> None:
    from radiobench.api import progress_stage as stage
    from radiobench.astro.galaxies import Recipe, write_dataset

    recipe = Recipe.from_options(options)
    fields = sum(len(recipe.seeds(s)) for s in ("train", "val", "test"))
    made = stage(f"sim_galaxies: simulate {fields} fields (first run only)", fields, "fields")
    write_dataset(base, recipe, fits_dir=base / "fits", truth_dir=base / "truth", on_field=lambda: made(1))
