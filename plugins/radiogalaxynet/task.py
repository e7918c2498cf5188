"""The RadioGalaxyNET task: the generic COCO task with the release's own layout and radio channel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from radiobench.api import CocoTask
from radiobench_plugins.radiogalaxynet import data


class RadioGalaxyNet(CocoTask):
    def read_split(self, folder: Path, split: str) -> Any:
        return data.load_split(folder.parent, split)

    def read_image(self, path: Path) -> tuple[np.ndarray, tuple[float, float, float] | None, None]:
        return data.read_radio(path), self.beam_option(), None
