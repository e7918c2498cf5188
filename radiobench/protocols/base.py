"""What every protocol shares: label budgets, the seed loop, and the per-seed record."""

from __future__ import annotations

import abc
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from radiobench.errors import RadiobenchError, UsageError
from radiobench.kinds import get_kind
from radiobench.results.predictions import ItemPredictions
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
            raise UsageError("give either --train-fraction or --train-labels, not both")
        if self.fraction is not None and not 0 < self.fraction <= 1:
            raise UsageError(f"--train-fraction must be in (0, 1], got {self.fraction}")
        if self.count is not None and self.count < 2:
            raise UsageError(f"--train-labels must be at least 2, got {self.count}")

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
            raise RadiobenchError(f"label budget {size} exceeds the {n} training examples; use --train-labels {n} or fewer")
        classes = len(np.unique(labels)) if stratify else 0
        if size < classes:  # a stratified draw takes at least one label of each class
            raise RadiobenchError(f"label budget {size} is smaller than the task's {classes} classes; a stratified "
                                  f"budget needs one label per class, use --train-labels {classes} or more")
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
    fit_seconds: float  # the seconds its fits took, wherever they ran (pooled seeds run side by side: no wall time)
    train_size: int
    sizes: dict[str, int] = field(default_factory=dict)  # rows per part (train/valid/test) in this seed
    items: ItemPredictions | None = None  # what was predicted for each test item (the result's sidecar)


@dataclass(frozen=True)
class Predicted:
    """A fit's test predictions with the class probabilities behind them.

    ``fit_predict`` may return this instead of a bare array when its estimator has
    ``predict_proba``. ``values`` (the labels) are what is scored, so adding probabilities
    moves no number; they are kept per item for reliability plots and later analysis.
    ``classes`` are the class indices of ``proba``'s columns (scikit-learn's ``classes_``:
    a fit whose training labels lack a class has no column for it).
    """

    values: np.ndarray
    proba: np.ndarray | None = None
    classes: np.ndarray | None = None

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """The labels: code that took ``fit_predict``'s first value as an array still gets one."""
        return np.asarray(self.values, dtype=dtype)

    def __len__(self) -> int:
        return len(self.values)

    @classmethod
    def of(cls, model: Any, x: np.ndarray) -> Predicted:
        """Labels and, where the fitted estimator has them, probabilities of ``x``."""
        if not hasattr(model, "predict_proba"):
            return cls(model.predict(x))
        return cls(model.predict(x), np.asarray(model.predict_proba(x), dtype=np.float32), np.asarray(model.classes_))


def _unpack(predicted: Any) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    if isinstance(predicted, Predicted):
        return np.asarray(predicted.values), predicted.proba, predicted.classes
    return np.asarray(predicted), None, None


class Versioned:
    """What protocols and map protocols share about versions.

    A change that moves only some kinds' numbers bumps only theirs: ``kind_versions`` maps a kind
    to its version where it is not ``version``, so results the change cannot move stay valid.
    """

    version: ClassVar[str] = "1"
    kind_versions: ClassVar[dict[str, str]] = {}

    @classmethod
    def version_for(cls, kind: str) -> str:
        """The version a result on a task of ``kind`` records (and must match to be reused or merged)."""
        return cls.kind_versions.get(kind, cls.version)

    @classmethod
    def from_options(cls, values: dict[str, Any]) -> Any:
        """The protocol with these option values (what ``ProtocolSpec.build`` calls).

        A value whose name is a dataclass field of the class is passed as that field; any other goes into
        the ``options`` dict over its defaults (how the built-in protocols keep their settings).
        """
        names = {f.name for f in dataclasses.fields(cls)} - {"options"} if dataclasses.is_dataclass(cls) else set()
        protocol = cls(**{k: v for k, v in values.items() if k in names})
        rest = {k: v for k, v in values.items() if k not in names}
        if rest:
            protocol.options = {**getattr(protocol, "options", {}), **rest}
        return protocol

    def describe(self) -> dict[str, Any]:
        """The protocol's parameters, recorded in results: its ``options`` dict and its other dataclass fields."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "options"} \
            if dataclasses.is_dataclass(self) else {}
        return {**dict(getattr(self, "options", None) or {}), **fields}


@dataclass
class Protocol(Versioned, abc.ABC):
    """Subclasses implement ``fit_predict``; their settings are dataclass fields (declared as options in the
    ``ProtocolSpec`` that registers them: the spec, not the class, gives the name, version and kinds)."""

    name: ClassVar[str]
    # bumped whenever a change can move a number; the leaderboard never merges two versions
    version: ClassVar[str] = "1"
    kinds: ClassVar[tuple[str, ...]] = ("classification", "regression")  # task kinds it applies to
    supervised: ClassVar[bool] = True  # False: never reads training labels (anomaly scores)
    options: dict[str, Any] = field(default_factory=dict)

    @abc.abstractmethod
    def fit_predict(
        self,
        task: TaskSpec,
        x_train: np.ndarray,
        y_train: np.ndarray,
        x_test: np.ndarray,
        seed: int,
        validation: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Return test predictions (or per-item scores) and the hyper-parameters chosen for this seed.

        Predictions are an array, or a :class:`Predicted` that adds class probabilities.

        ``validation`` is a held-out part for model selection when the task's split has one.
        """

    def fit_predict_all(self, task: TaskSpec, jobs: list[FitJob]) -> list[tuple[np.ndarray, dict[str, Any], float]]:
        """``fit_predict`` for every fit of a run (all seeds and folds), in order, each with its seconds.

        One after another here; a protocol whose fits are independent CPU work overrides this to
        schedule them together (``Linear`` pools every seed's folds), since one seed's fits
        rarely fill a machine's cores.
        """
        out = []
        for job in jobs:
            start = time.perf_counter()
            predicted, params = self.fit_predict(task, job.x_train, job.y_train, job.x_test, job.seed, job.validation)
            out.append((predicted, params, time.perf_counter() - start))
        return out


class MapProtocol(Versioned, abc.ABC):
    """A head trained on frozen spatial feature maps (detection kinds), one fit per seed.

    Separate from :class:`Protocol` because its inputs are (N, D, h, w) maps and per-image
    targets, not a table of vectors; it shares the registry (name, version, kinds) and the
    record. Subclasses are dataclasses with an ``options`` field, as protocols are.
    """

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    kinds: ClassVar[tuple[str, ...]] = ("detection",)
    supervised: ClassVar[bool] = True
    options: dict[str, Any]

    @abc.abstractmethod
    def fit_predict(self, train_features: Any, train_targets: list[dict[str, Any]], test_features: Any,
                    num_classes: int, input_size: int, seed: int, device: Any = "cpu",
                    ) -> tuple[list[dict[str, np.ndarray]], dict[str, Any]]:
        """Per test image: boxes (input pixels, xyxy), scores and labels; and what the fit chose."""


@dataclass(frozen=True)
class FitJob:
    """One ``fit_predict`` call: rows of a run's pooled features, sliced only when a fit needs them.

    Jobs hold row indices, not copies, because a run hands over every seed's folds at once.
    """

    x: np.ndarray
    y: np.ndarray
    train: np.ndarray
    test: np.ndarray
    seed: int
    valid: np.ndarray | None = None

    @classmethod
    def of(cls, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, seed: int,
           validation: tuple[np.ndarray, np.ndarray] | None = None) -> FitJob:
        """A job from ``fit_predict``'s arguments (test rows get placeholder labels; no fit reads them)."""
        parts_x = [x_train, x_test] + ([validation[0]] if validation is not None else [])
        parts_y = [y_train, np.zeros(len(x_test), dtype=y_train.dtype)] + ([validation[1]] if validation is not None else [])
        ends = np.cumsum([len(p) for p in parts_x])
        rows = [np.arange(start, end) for start, end in zip([0, *ends[:-1]], ends)]
        return cls(np.concatenate(parts_x), np.concatenate(parts_y), rows[0], rows[1], seed,
                   rows[2] if validation is not None else None)

    @property
    def x_train(self) -> np.ndarray:
        return self.x[self.train]

    @property
    def y_train(self) -> np.ndarray:
        return self.y[self.train]

    @property
    def x_test(self) -> np.ndarray:
        return self.x[self.test]

    @property
    def validation(self) -> tuple[np.ndarray, np.ndarray] | None:
        return None if self.valid is None else (self.x[self.valid], self.y[self.valid])


@dataclass(frozen=True)
class Fold:
    """Row indices into an Evaluation's pooled features; ``valid`` is for model selection only."""

    train: np.ndarray
    test: np.ndarray
    valid: np.ndarray | None = None


@dataclass
class Evaluation:
    """Pooled features and labels with the rule that cuts them into folds for a seed.

    Four shapes cover the tasks: a fixed train/test split (one fold, the same every
    seed), a grouped partition redrawn per seed (``TaskSpec.partition``), grouped k-fold
    cross-validation redrawn per seed (``TaskSpec.cv_folds``: k folds per seed, every item
    tested once), and a ranking pool (unsupervised protocols see every item and are scored on
    the labelled ones; supervised ones are cross-validated over the labelled items).
    """

    x: np.ndarray
    y: np.ndarray
    folds: Callable[[int, bool], list[Fold]]  # (seed, supervised) -> folds
    description: dict[str, Any] = field(default_factory=dict)
    ids: np.ndarray | None = None  # (N,) item ids, for per-item predictions (None: row numbers)
    groups: np.ndarray | None = None  # (N,) what a partition keeps together (the bootstrap's strata)

    @classmethod
    def fixed(cls, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> Evaluation:
        n_train, n = len(train[1]), len(train[1]) + len(test[1])
        fold = Fold(np.arange(n_train), np.arange(n_train, n))
        return cls(np.concatenate([train[0], test[0]]), np.concatenate([train[1], test[1]]), lambda seed, sup: [fold],
                   {"method": "fixed", "train": n_train, "test": n - n_train})

    @classmethod
    def partitioned(cls, x: np.ndarray, y: np.ndarray, groups: np.ndarray, fractions: tuple[float, float, float]) -> Evaluation:
        def folds(seed: int, supervised: bool) -> list[Fold]:
            return [grouped_partition(groups, fractions, seed)]

        return cls(x, y, folds, {"method": "grouped partition redrawn per seed", "fractions": list(fractions),
                                 "groups": int(len(np.unique(groups))), "items": int(len(y))})

    @classmethod
    def kfold(cls, x: np.ndarray, y: np.ndarray, groups: np.ndarray, k: int, cv_of: str = "") -> Evaluation:
        """Grouped k-fold cross-validation over every item, redrawn per seed (``TaskSpec.cv_folds``).

        Seed s is one repeat: :func:`grouped_kfold` with a generator seeded by s cuts the items into k folds
        of whole groups, each fold is fitted on the other k - 1 and predicted, and the seed's predictions,
        one per item, are pooled and scored (as :func:`run_seeds` does for any seed of several folds).
        ``cv_of`` names the task with the literature split this estimate stands beside (recorded, for the board).
        """
        groups = np.asarray(groups)
        n_groups = int(len(np.unique(groups)))
        if n_groups < k:
            raise RadiobenchError(f"{k}-fold cross-validation needs at least {k} groups, got {n_groups} "
                                  f"(of {len(y)} items); use more items (a larger --limit)")

        def folds(seed: int, supervised: bool) -> list[Fold]:
            return grouped_kfold(groups, k, seed)

        _, sizes = np.unique(groups, return_counts=True)
        description = {"method": "grouped k-fold cross-validation, redrawn per seed", "cv_folds": k,
                       "repeats": "one per seed: seed s draws its folds with a generator seeded by s, and every "
                                  "item is tested once per seed",
                       "groups": n_groups, "largest_group": int(sizes.max()), "items": int(len(y))}
        if cv_of:
            description["cv_of"] = cv_of
        return cls(x, y, folds, description)

    @classmethod
    def ranking(cls, x: np.ndarray, y: np.ndarray, cv_folds: int = 5) -> Evaluation:
        labelled = np.flatnonzero(y >= 0)
        if len(labelled) < cv_folds:
            raise RadiobenchError(f"a ranking task needs at least {cv_folds} items with a human score, got {len(labelled)} "
                                  f"of {len(y)} items; use more items (a larger --limit)")

        def folds(seed: int, supervised: bool) -> list[Fold]:
            if not supervised:
                return [Fold(np.arange(len(y)), labelled)]
            from sklearn.model_selection import KFold

            splitter = KFold(cv_folds, shuffle=True, random_state=seed)
            return [Fold(labelled[tr], labelled[te]) for tr, te in splitter.split(labelled)]

        return cls(x, y, folds, {"method": "ranking pool", "items": int(len(y)), "labelled": int(len(labelled)),
                                 "supervised_cv_folds": cv_folds})


def grouped_partition(groups: np.ndarray, fractions: tuple[float, float, float], seed: int) -> Fold:
    """Seeded train/valid/test assignment of whole groups, as close to ``fractions`` of the items as groups allow.

    Groups are shuffled by the seed and each goes to the part furthest below its target
    share, so one field's crops never straddle two parts. Parts with a non-zero
    fraction get at least one group; fewer groups than that is an error.
    """
    names, counts = np.unique(np.asarray(groups), return_counts=True)
    wanted = [i for i, f in enumerate(fractions) if f > 0]
    if len(names) < len(wanted):
        raise RadiobenchError(
            f"a grouped split into {len(wanted)} parts needs at least {len(wanted)} groups (fields), got {len(names)}; "
            "add fields (or use a larger --limit)"
        )
    order = np.random.default_rng(seed).permutation(len(names))
    filled = np.zeros(3)
    part_of: dict[Any, int] = {}
    targets = np.asarray(fractions, dtype=float) * counts.sum()
    for rank, g in enumerate(order):
        empty = [i for i in wanted if filled[i] == 0]
        if empty and len(order) - rank <= len(empty):
            part = empty[0]  # the last groups go where nothing is yet
        else:
            part = max(wanted, key=lambda i: (targets[i] - filled[i]) / targets[i])
        part_of[names[g]] = part
        filled[part] += counts[g]
    assignment = np.array([part_of[g] for g in np.asarray(groups)])
    rows = [np.flatnonzero(assignment == i) for i in range(3)]
    for i in wanted:  # one item has no R^2 and no spread to select a penalty on
        if len(rows[i]) < 2:
            raise RadiobenchError(
                f"seed {seed}: the grouped split put {len(rows[i])} item in its {('train', 'valid', 'test')[i]} part, "
                "and scoring needs at least 2; add fields (or use a larger --limit)")
    return Fold(rows[0], rows[2], rows[1] if len(rows[1]) else None)


def grouped_kfold(groups: np.ndarray, k: int, repeat: int) -> list[Fold]:
    """Repeat ``repeat``'s k folds of whole groups, as equal in items as whole groups allow; every item is in
    exactly one fold's test part, and each fold trains on the other k - 1.

    The groups are shuffled by a generator seeded with ``repeat``, then taken largest first (a stable sort, so
    groups of one size stay in shuffled order), each into the fold with the fewest items so far (the lowest
    index on a tie). Fold sizes then differ by at most the largest group's size; with groups of one item, by
    at most one. Folds are returned in order of their first item.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise RadiobenchError(f"k-fold cross-validation needs k >= 2 folds, got {k!r}")
    names, inverse, counts = np.unique(np.asarray(groups), return_inverse=True, return_counts=True)
    if len(names) < k:
        raise RadiobenchError(f"{k}-fold cross-validation needs at least {k} groups, got {len(names)}; "
                              "use more items (a larger --limit)")
    order = np.random.default_rng(repeat).permutation(len(names))
    order = order[np.argsort(-counts[order], kind="stable")]
    filled = np.zeros(k, dtype=np.int64)
    fold_of_group = np.empty(len(names), dtype=np.int64)
    for g in order:
        fold = int(np.argmin(filled))
        fold_of_group[g] = fold
        filled[fold] += counts[g]
    fold_of_item = fold_of_group[inverse]
    everything = np.arange(len(fold_of_item))
    tests = sorted((np.flatnonzero(fold_of_item == f) for f in range(k)), key=lambda rows: rows[0])
    return [Fold(np.setdiff1d(everything, test, assume_unique=True), test) for test in tests]


def run_seeds(
    protocol: Protocol,
    task_spec: TaskSpec,
    score: Callable[[np.ndarray, np.ndarray], dict[str, float]],
    evaluation: Evaluation,
    seeds: list[int],
    budget: LabelBudget,
    on_seed: Callable[[], None] | None = None,
) -> list[SeedResult]:
    """Fit and score once per seed; with several folds in a seed, their test predictions are pooled, then scored.

    All seeds' fits go to the protocol at once (``Protocol.fit_predict_all``), so it can run them side by side.
    """
    x, y = evaluation.x, evaluation.y
    plans = []  # per seed: its folds and the training rows each fold keeps under the budget
    jobs = []
    for seed in seeds:
        plan = []
        for fold in evaluation.folds(seed, protocol.supervised):
            train = fold.train
            if protocol.supervised:
                train = train[budget.select(y[train], seed, stratify=get_kind(task_spec.kind).stratify)]
            plan.append((fold, train))
            jobs.append(FitJob(x, y, train, fold.test, seed, fold.valid))
        plans.append(plan)
    fitted = iter(protocol.fit_predict_all(task_spec, jobs))
    results = []
    classes = get_kind(task_spec.kind).target == "class"
    n_classes = max(len(task_spec.classes), int(y.max()) + 1 if classes and len(y) else 0)
    for seed, plan in zip(seeds, plans):
        predictions = np.full(len(y), np.nan)
        probabilities = None
        tested, chosen, sizes = [], [], {"train": 0, "valid": 0, "test": 0}
        seconds = 0.0
        for fold, train in plan:
            predicted, params, took = next(fitted)
            values, proba, columns = _unpack(predicted)
            seconds += took
            predictions[fold.test] = values
            if proba is not None and classes:
                if probabilities is None:
                    probabilities = np.zeros((len(y), n_classes), dtype=np.float32)
                probabilities[np.ix_(fold.test, np.asarray(columns, dtype=np.int64))] = proba
            tested.append(fold.test)
            chosen.append(params)
            sizes["train"] += len(train)
            sizes["valid"] += 0 if fold.valid is None else len(fold.valid)
            sizes["test"] += len(fold.test)
        rows = np.concatenate(tested)
        params = chosen[0] if len(chosen) == 1 else {"folds": chosen}
        if len(chosen) > 1:  # cross-validated: every item is tested once; report a typical fold's training size
            sizes = {"train": round(sizes["train"] / len(chosen)), "valid": 0, "test": sizes["test"], "folds": len(chosen)}
        items = _items(evaluation, rows, predictions, probabilities, classes)
        results.append(SeedResult(seed, score(y[rows], predictions[rows]), params, seconds, sizes["train"], sizes, items))
        if on_seed is not None:
            on_seed()
    return results


def _items(evaluation: Evaluation, rows: np.ndarray, predictions: np.ndarray, probabilities: np.ndarray | None,
           classes: bool) -> ItemPredictions:
    """One seed's tested rows in evaluation order (cross-validated seeds test every item, in another order each)."""
    rows = np.sort(rows)
    ids = evaluation.ids[rows] if evaluation.ids is not None else rows.astype(str)
    predicted = predictions[rows]
    if classes and np.isfinite(predicted).all():
        predicted = predicted.astype(np.int64)
    return ItemPredictions(ids, evaluation.y[rows], predicted, None if probabilities is None else probabilities[rows],
                           None if evaluation.groups is None else evaluation.groups[rows])
