"""What every protocol shares: label budgets, the seed loop, and the per-seed record."""

from __future__ import annotations

import abc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from radiobench.errors import RadiobenchError
from radiobench.specs import TaskSpec


@dataclass(frozen=True)
class LabelBudget:
    """How many training labels each seed may use: all, a fraction, or a count.

    Subsamples are stratified by class for classification tasks, so ``count=145`` on
    MiraBest keeps the FRI/FRII ratio of the full training split.
    """

    fraction: float | None = None
    count: int | None = None

    def __post_init__(self) -> None:
        if self.fraction is not None and self.count is not None:
            raise RadiobenchError("give either --train-fraction or --train-labels, not both")
        if self.fraction is not None and not 0 < self.fraction <= 1:
            raise RadiobenchError(f"--train-fraction must be in (0, 1], got {self.fraction}")
        if self.count is not None and self.count < 2:
            raise RadiobenchError(f"--train-labels must be at least 2, got {self.count}")

    @property
    def suffix(self) -> str:
        """Part of the protocol id, so budgets never overwrite each other's results."""
        if self.count is not None:
            return f"-n{self.count}"
        if self.fraction is not None and self.fraction < 1:
            return f"-f{self.fraction:g}"
        return ""

    def to_dict(self) -> dict[str, Any]:
        return {"fraction": self.fraction, "count": self.count}

    def select(self, labels: np.ndarray, seed: int, stratify: bool) -> np.ndarray:
        n = len(labels)
        if self.count is not None:
            size = self.count
        elif self.fraction is not None:
            size = max(2, round(self.fraction * n))
        else:
            return np.arange(n)
        if size > n:
            raise RadiobenchError(f"label budget {size} exceeds the {n} training examples")
        if size == n:
            return np.arange(n)
        from sklearn.model_selection import train_test_split

        chosen, _ = train_test_split(
            np.arange(n), train_size=size, random_state=seed, stratify=labels if stratify else None
        )
        return np.sort(chosen)


@dataclass
class SeedResult:
    seed: int
    metrics: dict[str, float]
    params: dict[str, Any]
    fit_seconds: float
    train_size: int


@dataclass
class Protocol(abc.ABC):
    """Subclasses set ``name`` and implement ``fit_predict``; options are dataclass fields."""

    name: ClassVar[str]
    options: dict[str, Any] = field(default_factory=dict)

    @abc.abstractmethod
    def fit_predict(
        self, task: TaskSpec, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, seed: int
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Return test predictions and the hyper-parameters chosen for this seed."""

    def describe(self) -> dict[str, Any]:
        """The protocol's fixed parameters, recorded in results."""
        return dict(self.options)


def run_seeds(
    protocol: Protocol,
    task_spec: TaskSpec,
    score: Callable[[np.ndarray, np.ndarray], dict[str, float]],
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    seeds: list[int],
    budget: LabelBudget,
    on_seed: Callable[[], None] | None = None,
) -> list[SeedResult]:
    x_train, y_train = train
    x_test, y_test = test
    results = []
    for seed in seeds:
        rows = budget.select(y_train, seed, stratify=task_spec.kind == "classification")
        start = time.perf_counter()
        predictions, params = protocol.fit_predict(task_spec, x_train[rows], y_train[rows], x_test, seed)
        seconds = time.perf_counter() - start
        results.append(SeedResult(seed, score(y_test, predictions), params, seconds, len(rows)))
        if on_seed is not None:
            on_seed()
    return results
