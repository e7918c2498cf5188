"""Implementations of the baseline backbones (imported only when one is built)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from radiobench.api import Backbone, BackboneSpec, RadiobenchError, TimmBackbone
from radiobench_plugins.baselines.control_features import NOISE_QUANTILES


class Pixels(Backbone):
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1)


class NoiseStats(Backbone):
    """The crop's noise and nothing of its sources: a robust rms and the bulk of its pixel distribution.

    A counting task whose fields differ in depth can be scored well by recognising the field
    (issue 32: a mean-count-per-field oracle reached R² 0.47 on sim_counts 5.0). These features see
    the noise level and the sky background, which tell the field, but no quantile above the 95th,
    so the few pixels of a crop's sources barely move them: what this control scores is what field
    recognition alone is worth on the task.
    """

    MAD_TO_SIGMA = 1.4826  # a Gaussian's standard deviation over its median absolute deviation
    MEDIAN = NOISE_QUANTILES.index(0.5)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        x = images.flatten(1).double()
        q = torch.quantile(x, torch.tensor(NOISE_QUANTILES, dtype=x.dtype), dim=1).T
        mad = (x - q[:, self.MEDIAN, None]).abs().median(dim=1).values
        return torch.cat([q, self.MAD_TO_SIGMA * mad[:, None]], dim=1).float()


class RandomInit(TimmBackbone):
    """A timm architecture with its default initialisation under the spec's seed."""

    def __init__(self, spec: BackboneSpec, weights: Path | None = None, arch: str = ""):
        super().__init__(spec, weights, arch=arch)


class SourceFinder(Backbone):
    """pyBDSF as a detector: no features, no training; the detection runner calls ``detect``."""

    # pinned like the counting labels, plus a hard 5-sigma pixel threshold: on small cutouts pyBDSF
    # otherwise switches to false-detection-rate thresholding (about 2.2 sigma on 128x128 crops)
    PARAMS = {"thresh": "hard"}

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        raise RadiobenchError("pybdsf is a source finder with no embedding; it runs on detection tasks only")

    def detect(self, images: Sequence[np.ndarray], beams: Sequence[tuple[float, float, float] | None]) -> list[dict[str, np.ndarray]]:
        from radiobench.astro.sourcefinding import PARAMS, find_islands

        if any(beam is None for beam in beams):
            raise RadiobenchError("pybdsf needs each image's restoring beam: the task has none for these images; "
                                  "set the task's beam_pixels option (MAJ,MIN,PA in pixels)")
        out: list[dict[str, np.ndarray]] = [{}] * len(images)
        for beam in dict.fromkeys(beams):  # find_islands takes one beam: group images by theirs
            rows = [i for i, b in enumerate(beams) if b == beam]
            found = find_islands([images[i] for i in rows], beam, params={**PARAMS, **self.PARAMS})
            for i, (boxes, scores) in zip(rows, found):
                out[i] = {"boxes": boxes, "scores": scores, "labels": np.zeros(len(boxes), dtype=np.int64)}
        return out
