"""``pybdsf_groups``: pyBDSF islands grouped into galaxies by the rule of ``radiobench.astro.grouping``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from radiobench_plugins.baselines.models import SourceFinder


class GroupedIslands(SourceFinder):
    """The ``pybdsf`` baseline's islands, then one box per group (no training; the runner calls ``detect``)."""

    def detect(self, images: Sequence[np.ndarray], beams: Sequence[tuple[float, float, float] | None]) -> list[dict[str, np.ndarray]]:
        from radiobench.astro.grouping import GroupingRule, galaxies_from_islands

        islands = super().detect(images, beams)
        rule = GroupingRule()
        return [galaxies_from_islands(np.asarray(image), found["boxes"], found["scores"],
                                      float(np.sqrt(beam[0] * beam[1])), rule)
                for image, found, beam in zip(images, islands, beams)]
