"""Building the comparison table from result files alone.

Results merge only when they measure the same thing: for each task, one task version
and one data sha256; for each backbone, one weights identity; one file per
(backbone, task). Anything else is refused with the files named, never averaged.
``--limit`` smoke runs are left out.

Each column is then tested from the results' per-item predictions (:mod:`radiobench.board.ranks`):
every cell gets a 95 % interval of the same bootstrap and a rank, 1 + the number of rows
significantly better than it by Holm-corrected paired tests; ``≈`` marks the rows of rank 1
other than the best mean, and the mean rank averages these ranks over the real-data tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radiobench.errors import ResultsError, did_you_mean
from radiobench.results import iter_results


@dataclass
class Cell:
    mean: float
    std: float
    n_seeds: int
    in_domain: bool
    path: Path
    low: float | None = None  # the 95 % interval of the mean (module docstring); None: unknown (schema < 3)
    high: float | None = None
    rank: int | None = None  # 1 + the rows significantly better (Holm); None: not tested
    tied: bool | None = None  # rank 1 without the best mean: no row is significantly better; None: not tested
    p_vs_best: float | None = None  # the Holm-adjusted p-value of the test against the best mean's row
    refused: str | None = None  # why its per-item predictions could not be tested (named on the page)
    degenerate: str | None = None  # what it predicted for every item when its predictions are constant (see constant)


@dataclass
class Board:
    protocol: str
    tasks: dict[str, dict[str, Any]]  # name -> {version, data_sha256, main_score, higher_is_better}
    backbones: dict[str, dict[str, Any]]  # name -> {family, training_data, weights}
    cells: dict[tuple[str, str], Cell]
    ranks: dict[str, float] = field(default_factory=dict)
    skipped_limited: int = 0
    environments: list[str] = field(default_factory=list)
    # per task: description, citation, chance (the main score of a no-skill predictor) and chance_note;
    # see task_info. Not part of the Markdown/CSV tables.
    info: dict[str, dict[str, Any]] = field(default_factory=dict)
    # per task: the primary test, what the bootstrap resampled, and the number of pairwise tests (Holm's family)
    tests: dict[str, dict[str, Any]] = field(default_factory=dict)
    charts: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)  # drawn charts (board.plots)
    # per counting task (values in fields): the field-mean oracle's R² and each row's overall and within-field R²
    # (radiobench.results.fields), to tell counting from recognising a field
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)

    def coverage(self, backbone: str) -> int:
        return sum((backbone, t) in self.cells for t in self.tasks)

    def ordered_backbones(self) -> list[str]:
        """Most tasks covered first (a mean rank over fewer tasks is not comparable), then by mean rank, then by
        the score of the board's first task in its direction, then by name.

        The score breaks mean-rank ties (three rows at 1.00 read best first) and orders boards without a mean
        rank (one simulated task, such as detection) by score rather than alphabetically.
        """
        first = next(iter(self.tasks), None)

        def rank(b: str) -> float:
            value = self.ranks.get(b, float("nan"))
            return float("inf") if value != value else value

        def score(b: str) -> float:
            cell = self.cells.get((b, first)) if first is not None else None
            if cell is None or cell.mean != cell.mean:
                return float("inf")
            return -cell.mean if self.tasks[first]["higher_is_better"] else cell.mean

        return sorted(self.backbones, key=lambda b: (-self.coverage(b), rank(b), score(b), b))


def collect(results_dir: Path, protocol: str = "linear", ties: bool = True, progress: Any = None,
            specs: dict[str, Any] | None = None) -> Board:
    """The board of ``protocol``'s results under ``results_dir``; ``ties=False`` skips the column tests (no ranks).

    ``progress(task)``, when given, is called before each column is tested (the slow step).
    ``specs``: installed tasks' specs by name, for their descriptions (the CLI passes
    :func:`radiobench.run.installed.task_specs`; without them the page says what the files say).
    """
    board = Board(protocol, {}, {}, {})
    records = {}
    first_seen: dict[tuple[str, str], Path] = {}
    task_origin: dict[str, Path] = {}
    backbone_origin: dict[str, Path] = {}
    environments = set()
    protocol_version: dict[str, tuple[str, Path]] = {}  # per task kind (a protocol may version kinds apart)
    present: set[str] = set()  # protocols that have results here, to suggest one when the asked one has none
    for path, res in iter_results(results_dir):
        if not res.limit:  # a --limit run never enters a board: suggesting its protocol would send the user in a circle
            present.add(res.protocol.id)
        if res.protocol.id != protocol:
            continue
        version = res.protocol.version
        first = protocol_version.setdefault(res.task.kind, (version, path))
        if first[0] != version:
            raise ResultsError(
                f"protocol {protocol!r}: {first[1]} used protocol version {first[0]} but {path} "
                f"used {version} ({res.task.kind} tasks); results of different protocol versions cannot be merged, "
                "re-run the older ones"
            )
        if res.limit:
            board.skipped_limited += 1
            continue
        b, t = res.backbone, res.task
        task_id = {"version": t.version, "data_sha256": t.data_sha256}
        known = board.tasks.setdefault(
            t.name,
            {**task_id, "main_score": res.main_score.name, "higher_is_better": res.main_score.higher_is_better,
             "simulated": t.simulated, "source_datasets": list(t.source_datasets), **cross_validation(res)},
        )
        task_origin.setdefault(t.name, path)
        if {k: known[k] for k in task_id} != task_id:
            raise ResultsError(
                f"task {t.name!r}: {task_origin[t.name]} has version {known['version']} / data sha256 "
                f"{known['data_sha256'][:12]} but {path} has version {t.version} / data sha256 "
                f"{t.data_sha256[:12]}; scores of different task versions or data cannot be merged, "
                "re-run the older ones or render them from separate folders"
            )
        weights = b.weights.identity
        entry = board.backbones.setdefault(b.name, {"family": b.family, "training_data": b.training_data, "weights": weights})
        backbone_origin.setdefault(b.name, path)
        if entry["weights"] != weights:
            raise ResultsError(
                f"backbone {b.name!r}: {backbone_origin[b.name]} used weights {entry['weights']} but {path} "
                f"used {weights}; results from different weights cannot be merged"
            )
        key = (b.name, t.name)
        if key in first_seen:
            raise ResultsError(f"two results for {key[0]} on {key[1]} ({protocol}): {first_seen[key]} and {path}; keep one")
        first_seen[key] = path
        sources = {s.lower() for s in t.source_datasets}
        trained_on = {s.lower() for s in b.training_data}
        main = res.main_score
        interval = res.interval()
        board.cells[key] = Cell(main.mean, main.std, len(res.seeds), bool(sources & trained_on), path,
                                *(interval or (None, None)))
        records[key] = res
        env = res.environment
        environments.add(f"{env.get('device_name', '?')} (python {env.get('python', '?')}, torch {env.get('packages', {}).get('torch', '?')})")
    if not board.cells:
        raise ResultsError(
            f"no finished {protocol!r} results in {results_dir}"
            + (f" ({board.skipped_limited} --limit runs left out)" if board.skipped_limited else "")
            + "; run `radiobench run` first or pick another --protocol"
            + (f" ({did_you_mean(protocol, present - {protocol})}results here: {', '.join(sorted(present))})"
               if present else "")
        )
    board.environments = sorted(environments)
    # real-data tasks first (the board's question), simulated ones after; each group in the order found, and a
    # cross-validated task right after the task whose literature split it stands beside
    board.tasks = beside_literature(dict(sorted(board.tasks.items(), key=lambda item: bool(item[1].get("simulated")))))
    truths = test_columns(board, records, progress) if ties else {}
    board.ranks = mean_ranks(board)
    board.info = task_info(board, records, truths, specs or {})
    return board


def cross_validation(res: Any) -> dict[str, Any]:
    """``{"cv_folds": k, "cv_of": task}`` for a result of a cross-validated task (its evaluation record says so:
    :meth:`radiobench.protocols.base.Evaluation.kfold`), else nothing, so other tasks' entries stay as they were."""
    evaluation = res.task.evaluation
    if not isinstance(evaluation, dict) or not isinstance(evaluation.get("cv_folds"), int):
        return {}
    cv_of = evaluation.get("cv_of")
    return {"cv_folds": evaluation["cv_folds"], **({"cv_of": cv_of} if isinstance(cv_of, str) and cv_of else {})}


def beside_literature(tasks: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The tasks in order, each cross-validated task moved to just after the task it is the estimate of (when that
    task is on the board and both are real or both simulated)."""
    moved = {t: m["cv_of"] for t, m in tasks.items() if m.get("cv_of") in tasks and m["cv_of"] != t
             and bool(m.get("simulated")) == bool(tasks[m["cv_of"]].get("simulated"))}
    order: list[str] = []
    for t in tasks:
        if t in moved:
            continue
        order.append(t)
        order += [c for c in tasks if moved.get(c) == t]
    order += [t for t in tasks if t not in order]  # a cycle of cv_of (hand-made files): kept, in the order found
    return {t: tasks[t] for t in order}


def best_of(board: Board, task: str, among: set[str] | None = None) -> str:
    """The backbone with the task's best mean (the first by name on an exact tie), of ``among`` when given."""
    sign = -1 if board.tasks[task]["higher_is_better"] else 1
    return min((sign * c.mean, b) for (b, t), c in board.cells.items() if t == task and (among is None or b in among))[1]


def test_columns(board: Board, records: dict[tuple[str, str], Any], progress: Any = None) -> dict[str, Any]:
    """Every column's paired tests, intervals and ranks into its cells; returns each task's test labels (for chance).

    A result whose per-item predictions cannot be read, or disagree with its recorded scores,
    is refused by name in its cell (never silently tested by a looser rule).
    """
    from radiobench.board.ranks import column_tests, read_rows
    from radiobench.kinds import get_kind
    from radiobench.results.scoring import default_scorer

    truths: dict[str, Any] = {}
    for task, meta in board.tasks.items():
        cells = {b: c for (b, t), c in board.cells.items() if t == task}
        if progress is not None:
            progress(task)
        entries = {b: (c.path, records[(b, task)], c.mean) for b, c in cells.items()}
        record = next(iter(entries.values()))[1]
        target, score = get_kind(record.task.kind).target, default_scorer(record)
        rows, refused = read_rows(entries, target, score)
        for b, why in refused.items():
            cells[b].refused = why
        for row in rows:
            cells[row.name].degenerate = constant(row)
        if not rows:
            continue
        tests = column_tests(rows, target, meta["main_score"], meta["higher_is_better"], score)
        best = best_of(board, task, among=set(tests.ranks))
        for name, rank in tests.ranks.items():
            cell = cells[name]
            cell.rank, cell.tied = rank, rank == 1 and name != best
            cell.low, cell.high = tests.intervals[name]
            cell.p_vs_best = None if name == best else tests.p_against(name, best)
        board.tests[task] = {"test": tests.test, "resampled": tests.resampled, "family": tests.family}
        first = next(iter(rows[0].items.values()))
        truths[task] = first.truth
        if target == "value" and first.groups is not None:
            board.fields[task] = within_fields(rows)
    return truths


def within_fields(rows: list[Any]) -> dict[str, Any]:
    """A counting column's field view: the field-mean oracle's overall R² on the test items (mean over the seeds'
    test fields) and each row's overall and within-field R² with their intervals."""
    import numpy as np

    from radiobench.results.fields import field_mean_oracle_r2, field_scores

    oracle = float(np.mean([field_mean_oracle_r2(x.truth, x.groups) for x in rows[0].items.values()]))
    return {"oracle_r2": oracle, "rows": {r.name: field_scores([r.items[s] for s in sorted(r.items)]) for r in rows}}


def constant(row: Any) -> str | None:
    """What a row predicted for every test item of every seed when that is one class or one value, else None.

    A constant prediction (a probe that collapsed onto one class, features that are all alike) scores exactly
    what a constant guess scores, with a zero-width interval: the board marks it so that it is not read as a
    measurement of the backbone. Detection (boxes) is never called constant.
    """
    import numpy as np

    predicted = [items.predicted for items in row.items.values()]
    if not predicted or any(p is None or len(p) < 2 for p in predicted):
        return None
    values = np.unique(np.concatenate([np.asarray(p).ravel() for p in predicted]))
    if len(values) != 1:
        return None
    value = values[0]
    seeds = len(predicted)
    where = f"every test item{' of every seed' if seeds > 1 else ''}"
    classes = list(getattr(row.record.task, "classes", None) or [])
    if row.record.task.kind == "classification":
        index = int(value)
        name = classes[index] if 0 <= index < len(classes) else str(index)
        return f"one predicted class ({name}) for {where}"
    if row.record.task.kind == "ranking":
        return f"one score ({float(value):.4g}) for {where}, a ranking that ranks nothing"
    return f"one predicted value ({float(value):.4g}) for {where}"


def mean_ranks(board: Board) -> dict[str, float]:
    """The tested ranks (:func:`test_columns`) per real-data task, averaged within groups of tasks that share
    source data, then across groups.

    MiraBest and RGD are both FIRST cutouts of mostly the same sources; averaging tasks that share
    source data first lets each survey's test count once. Simulated tasks are shown but left out:
    a rank earned on simulated sky says how well the pipeline works, not how good a backbone is
    for radio astronomers. A cross-validated task and the literature task it is the estimate of
    (``cv_of``) are one task here: a row's rank on the cross-validated column is used where it has
    one, else its rank on the literature column (every item tested resolves more than the
    literature test split does; the literature column stays on the board for comparison with
    papers). A backbone with no tested real-data result gets NaN.
    """
    real = [t for t, meta in board.tasks.items() if not meta.get("simulated")]
    stands_for = {t: board.tasks[t]["cv_of"] for t in real if board.tasks[t].get("cv_of") in real}
    totals: dict[str, list[float]] = {b: [] for b in board.backbones}
    for group in source_groups(board, real):
        for b in board.backbones:
            slots: dict[str, tuple[bool, float]] = {}  # literature task -> (from its cv column, the rank)
            for t in group:
                c = board.cells.get((b, t))
                if c is None or c.rank is None:
                    continue
                slot, cv = stands_for.get(t, t), t in stands_for
                if slot not in slots or (cv and not slots[slot][0]):
                    slots[slot] = (cv, float(c.rank))
            ranks = [rank for _, rank in slots.values()]
            if ranks:
                totals[b].append(sum(ranks) / len(ranks))
    return {b: sum(v) / len(v) if v else float("nan") for b, v in totals.items()}


def source_groups(board: Board, tasks: list[str]) -> list[list[str]]:
    """The tasks joined by shared source data sets (case-insensitive), each group in board order."""
    sources = {t: {s.lower() for s in board.tasks[t].get("source_datasets", [])} for t in tasks}
    groups: list[list[str]] = []
    for t in tasks:
        joined = [g for g in groups if any(sources[t] & sources[u] for u in g)]
        merged = [u for g in joined for u in g] + [t]
        groups = [g for g in groups if g not in joined] + [merged]
    order = {t: i for i, t in enumerate(tasks)}
    return sorted((sorted(g, key=order.get) for g in groups), key=lambda g: order[g[0]])


def _chance_from_records(main: str, found: list[Any]) -> tuple[float, str] | None:
    """The main score of a no-skill predictor, computed from what the result records hold (None: not derivable)."""
    import math

    chance_metric = "ap_chance" if main == "average_precision" else f"{main}_chance"
    values = [r.metrics[chance_metric].mean for r in found if chance_metric in r.metrics]
    if values:
        note = ("a random ranking: its expected AP is the share of relevant (interesting) items among the labelled "
                f"ones (the results' {chance_metric})") if main == "average_precision" else \
            f"a no-skill predictor (the results' {chance_metric})"
        return sum(values) / len(values), note
    if main == "r2":
        return 0.0, "predicting the mean of the test targets scores R² 0"
    if main == "mse":
        per_result = []
        for r in found:  # R² = 1 - MSE / var(test targets): var = MSE / (1 - R²), per seed
            mse, r2 = r.metrics.get("mse"), r.metrics.get("r2")
            if mse is None or r2 is None or len(mse.per_seed) != len(r2.per_seed):
                continue
            variances = [m / (1 - q) for m, q in zip(mse.per_seed, r2.per_seed) if q < 1]
            if variances and all(math.isfinite(v) for v in variances):
                per_result.append(sum(variances) / len(variances))
        if per_result:
            return sum(per_result) / len(per_result), (
                "predicting the mean of the test targets: its MSE is their variance (MSE / (1 - R²) of the "
                "recorded per-seed scores, averaged over seeds); R² 0")
    return None


def task_info(board: Board, records: dict[tuple[str, str], Any], truths: dict[str, Any] | None = None,
              specs: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Per task: description, data citation, metric direction and chance level, with where each came from.

    The citation comes from the result records; the description from the installed task's spec
    when one is registered under the task's name. The chance level is the best no-skill predictor
    on the test labels (:func:`radiobench.results.chance.no_skill`) where a result's per-item
    predictions give them; otherwise a chance the spec declares, or one computed from the records
    (:func:`_chance_from_records`), or unknown (None).
    """
    from radiobench.kinds import get_kind
    from radiobench.results.chance import no_skill

    truths = truths or {}
    specs = specs or {}
    out: dict[str, dict[str, Any]] = {}
    for task, meta in board.tasks.items():
        found = [r for (_, t), r in sorted(records.items()) if t == task]
        main = meta["main_score"]
        citation = next((r.task.citation for r in found if r.task.citation), "")
        spec = specs.get(task)
        same_version = spec is not None and spec.version == meta["version"]
        info: dict[str, Any] = {
            "kind": found[0].task.kind if found else "", "citation": citation or (spec.citation if same_version else ""),
            "description": spec.description if spec is not None else "", "registered_version": spec.version if spec else None,
            "chance": None, "chance_note": "", "chance_source": "",
            "preregistration": spec.preregistration if same_version else "",
        }
        labels = truths.get(task)
        computed = None if labels is None or not found else no_skill(labels, get_kind(found[0].task.kind).target, main)
        if computed is not None:
            info.update(chance=float(computed[0]), chance_note=f"the best no-skill predictor: {computed[1]}",
                        chance_source="computed from the test labels")
        elif same_version and main in spec.chance:
            info.update(chance=float(spec.chance[main]), chance_note=spec.chance_note, chance_source="declared by the task")
        else:
            derived = _chance_from_records(main, found)
            if derived is not None:
                info.update(chance=float(derived[0]), chance_note=derived[1], chance_source="computed from the results")
        out[task] = info
    return out


PROTOCOL_ORDER = ("linear", "knn", "knn-distance", "iforest", "detect")


def protocols_present(results_dir: Path) -> list[str]:
    """The protocols with at least one finished (not ``--limit``) result here: the usual ones first, then by name."""
    found = {res.protocol.id for _, res in iter_results(results_dir) if not res.limit}
    return [p for p in PROTOCOL_ORDER if p in found] + sorted(found - set(PROTOCOL_ORDER), key=natural_key)


def natural_key(name: str) -> tuple[Any, ...]:
    """Digits compared as numbers, so label budgets read ``linear-n10, -n25, -n50, -n100`` (not n10, n100, n25)."""
    import re

    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name) if part)
