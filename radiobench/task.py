"""The Task interface: data preparation, split loading, pixel scaling and scoring.

A task returns survey pixels as stored (e.g. uint8 cutouts) and declares ``scale``,
the map to [0, 1]; the core applies it batch by batch, then the backbone's input
contract. Keeping the raw pixels lets the cache key and the results name the scaling
instead of hiding it inside a loader.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from radiobench.errors import RadiobenchError
from radiobench.specs import TaskSpec


@dataclass
class Split:
    images: np.ndarray  # (N, H, W) or (N, C, H, W), survey pixels before scaling
    labels: np.ndarray  # (N,) int class indices or float targets
    ids: list[str]

    def __post_init__(self) -> None:
        if self.images.ndim not in (3, 4):
            raise RadiobenchError(f"task split images must be (N, H, W) or (N, C, H, W), got {self.images.shape}")
        if not (len(self.images) == len(self.labels) == len(self.ids)):
            raise RadiobenchError("task split images, labels and ids differ in length")

    def __len__(self) -> int:
        return len(self.labels)


class Task(abc.ABC):
    """Subclass, set nothing but the abstract methods; the spec comes from registration."""

    def __init__(self, spec: TaskSpec, **options: Any):
        self.spec = spec
        self.options = options  # spec.options, for tasks that take variants (e.g. a CV fold)
        self.root: Path | None = None

    def folder(self, root: Path) -> Path:
        return Path(root) / (self.spec.data_folder or self.spec.name)

    @abc.abstractmethod
    def prepare(self, root: Path, download: bool = False) -> None:
        """Make the data available under ``root`` and verify it, or raise DatasetNotFoundError."""

    @abc.abstractmethod
    def load_split(self, split: str) -> Split:
        """Return one split; ``prepare`` has been called."""

    @abc.abstractmethod
    def scale(self, pixels: np.ndarray) -> np.ndarray:
        """Map a batch of survey pixels to float32 in [0, 1] (as ``spec.scaling`` says)."""

    def score(self, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
        """Every metric of this task; ``spec.main_score`` must be one of the keys."""
        from sklearn import metrics

        if self.spec.kind == "classification":
            accuracy = float(metrics.accuracy_score(y_true, y_pred))
            return {
                "accuracy": accuracy,
                "error": 1.0 - accuracy,
                "f1_macro": float(metrics.f1_score(y_true, y_pred, average="macro")),
                "balanced_accuracy": float(metrics.balanced_accuracy_score(y_true, y_pred)),
            }
        return {
            "mse": float(metrics.mean_squared_error(y_true, y_pred)),
            "mae": float(metrics.mean_absolute_error(y_true, y_pred)),
            "r2": float(metrics.r2_score(y_true, y_pred)),
        }
