"""Task kinds as objects: what a kind's splits are, how it is evaluated, its metrics and headline protocol.

A task's ``kind`` used to be a string compared in a dozen places, each with its own idea of
what "ranking" or "classification" implies. Everything the core decides from the kind now
asks the :class:`Kind` here, so a rule (e.g. which scorer selects a probe's penalty) lives
once and a fifth kind is one entry. Nothing here imports torch or scikit-learn at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from radiobench.errors import PluginError, RadiobenchError, UnknownNameError

if TYPE_CHECKING:
    import numpy as np


class TaskSpecLike(Protocol):
    """What a kind reads of a task's spec (a :class:`radiobench.specs.TaskSpec`, which imports this module)."""

    @property
    def name(self) -> str: ...

    @property
    def main_score(self) -> str: ...

    @property
    def partition(self) -> tuple[float, float, float] | None: ...

    @property
    def cv_folds(self) -> int | None: ...


@dataclass(frozen=True)
class Metric:
    """One number a task reports: which way is better, and the scikit-learn scorer that selects on it.

    ``selection`` is the scorer a probe maximises on training data (CV folds or the
    validation part) when this metric is the task's main score; None means the metric
    cannot select a probe's hyper-parameters and a task may not make it its main score for a
    tuned protocol.
    """

    name: str
    higher_is_better: bool
    selection: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Kind:
    """Everything the core derives from a task's kind.

    ``evaluation``: "vectors" (pooled embeddings, fitted by a ``Protocol``) or "maps"
    (spatial feature maps, a head trained by a ``MapProtocol``). ``target``: what a label is.
    """

    name: str
    evaluation: Literal["vectors", "maps"]
    target: Literal["class", "value", "graded", "boxes"]
    main_protocol: str
    metrics: Mapping[str, Metric] = field(default_factory=dict)
    pooled: bool = False  # one split "all" whatever the spec says (a ranking pool)

    @property
    def stratify(self) -> bool:
        """Label budgets and CV folds keep class proportions only where labels are classes."""
        return self.target == "class"

    def split_names(self, spec: TaskSpecLike) -> tuple[str, ...]:
        """The splits the core loads: one pool ("all") for pooled kinds, grouped partitions and cross-validated
        tasks, else train and test."""
        one_pool = self.pooled or spec.partition is not None or getattr(spec, "cv_folds", None) is not None
        return ("all",) if one_pool else ("train", "test")

    def higher_is_better(self, metric: str) -> bool | None:
        """Which way ``metric`` is better on this kind's tasks; None for a metric the kind does not know (a task's own)."""
        known = self.metrics.get(metric)
        return None if known is None else known.higher_is_better

    def metric(self, name: str) -> Metric:
        try:
            return self.metrics[name]
        except KeyError:
            raise UnknownNameError(f"{self.name} metric", name, self.metrics) from None

    def selection_scorer(self, spec: TaskSpecLike) -> str:
        """The scorer that selects a tuned probe's penalty for ``spec``: the one its main score names.

        A main score that cannot select (or a task plugin's own metric name) is refused by
        name: silently selecting on another metric would contradict what the result records.
        """
        metric = self.metrics.get(spec.main_score)
        if metric is None or metric.selection is None:
            usable = ", ".join(m.name for m in self.metrics.values() if m.selection)
            raise PluginError(f"task {spec.name!r}: main score {spec.main_score!r} cannot select a probe's "
                              f"hyper-parameters on {self.name} tasks; declare one of {usable}")
        return metric.selection

    def score(self, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
        """Every metric of this kind for one seed's test predictions (``Task.score``'s default)."""
        import numpy as np
        from sklearn import metrics

        if self.target == "class":
            accuracy = float(metrics.accuracy_score(y_true, y_pred))
            return {
                "accuracy": accuracy,
                "error": 1.0 - accuracy,
                "f1_macro": float(metrics.f1_score(y_true, y_pred, average="macro")),
                "balanced_accuracy": float(metrics.balanced_accuracy_score(y_true, y_pred)),
            }
        if self.target == "graded":
            return ranking_scores(np.asarray(y_true), np.asarray(y_pred))
        if self.target == "value":
            return {
                "mse": float(metrics.mean_squared_error(y_true, y_pred)),
                "mae": float(metrics.mean_absolute_error(y_true, y_pred)),
                "r2": float(metrics.r2_score(y_true, y_pred)),
            }
        raise RadiobenchError(f"{self.name} tasks score their own predictions (Task.score)")


INTERESTING = 4  # human score at or above which an item counts as interesting (Protege's 1-5 scale)


def ranking_scores(y_true: np.ndarray, y_score: np.ndarray, interesting: float = INTERESTING) -> dict[str, float]:
    """How well a per-item score orders items with graded human labels.

    ``average_precision``: for "label >= interesting" against the score (chance level is the
    share of interesting items, also reported). ``ndcg``: normalised discounted cumulative
    gain of the whole ranking with the labels as graded relevance; ``ndcg_at_50``: of its top 50.
    """
    import numpy as np
    from sklearn import metrics

    positive = np.asarray(y_true) >= interesting
    if positive.all() or not positive.any():
        raise RadiobenchError(f"ranking labels need items both below and at/above {interesting}")
    truth, score = np.asarray(y_true, dtype=float)[None], np.asarray(y_score, dtype=float)[None]
    return {
        "average_precision": float(metrics.average_precision_score(positive, y_score)),
        "ap_chance": float(positive.mean()),
        "ndcg": float(metrics.ndcg_score(truth, score)),
        "ndcg_at_50": float(metrics.ndcg_score(truth, score, k=50)),
        "spearman": float(_spearman(truth[0], score[0])),
    }


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation; a constant score (a degenerate feature space) orders nothing, so 0, not NaN."""
    import numpy as np
    from scipy.stats import spearmanr

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(spearmanr(a, b).statistic)


def _metrics(*items: Metric) -> dict[str, Metric]:
    return {m.name: m for m in items}


CLASSIFICATION = Kind(
    "classification", "vectors", "class", "linear",
    _metrics(
        Metric("error", False, "accuracy", "1 - accuracy"),
        Metric("accuracy", True, "accuracy"),
        Metric("f1_macro", True, "f1_macro", "unweighted mean of per-class F1"),
        Metric("balanced_accuracy", True, "balanced_accuracy", "mean per-class recall"),
    ),
)
REGRESSION = Kind(
    "regression", "vectors", "value", "linear",
    _metrics(
        Metric("mse", False, "neg_mean_squared_error"),
        Metric("mae", False, "neg_mean_absolute_error"),
        Metric("r2", True, "r2"),
    ),
)
# A ranking task's probe regresses the graded human scores, so its penalty is selected by the R^2 of
# that regression on training folds, whichever ranking metric the task reports as its main score
# (linear protocol v3 as released; selecting by AP on the folds instead would be a new protocol version).
RANKING = Kind(
    "ranking", "vectors", "graded", "linear",
    _metrics(
        Metric("average_precision", True, "r2", "AP of 'human score >= 4'; selection: R^2 of the regressed scores"),
        Metric("ap_chance", True, None, "AP of a random ranking (the share of interesting items)"),
        Metric("ndcg", True, "r2", "selection: R^2 of the regressed scores"),
        Metric("ndcg_at_50", True, "r2", "selection: R^2 of the regressed scores"),
        Metric("spearman", True, "r2", "selection: R^2 of the regressed scores"),
    ),
    pooled=True,
)
DETECTION = Kind(
    "detection", "maps", "boxes", "detect",
    _metrics(
        Metric("map", True, None, "COCO mAP@[.5:.95], class-aware"),
        Metric("map_50", True, None, "COCO mAP@.5"),
        Metric("map_75", True, None, "COCO mAP@.75"),
        Metric("map_agnostic", True, None, "mAP@[.5:.95] with every class merged"),
        Metric("map_50_agnostic", True, None, "mAP@.5 with every class merged"),
    ),
)

KINDS: dict[str, Kind] = {k.name: k for k in (CLASSIFICATION, REGRESSION, RANKING, DETECTION)}


def get_kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownNameError("task kind", name, KINDS) from None


def describe(kinds: Mapping[str, Kind] = KINDS) -> dict[str, Any]:
    """JSON-able summary (for ``radiobench list --json`` and docs)."""
    return {k.name: {"evaluation": k.evaluation, "main_protocol": k.main_protocol,
                     "metrics": {m.name: {"higher_is_better": m.higher_is_better, "selection": m.selection}
                                 for m in k.metrics.values()}} for k in kinds.values()}
