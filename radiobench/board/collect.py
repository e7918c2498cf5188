"""Building the comparison table from result files alone.

Results merge only when they measure the same thing: for each task, one task version
and one data sha256; for each backbone, one weights identity; one file per
(backbone, task). Anything else is refused with the files named, never averaged.
``--limit`` smoke runs are left out.

Each cell keeps its recorded confidence interval, and, per task, whether it is not
significantly worse than the task's best (:func:`radiobench.board.stats.tied_with_best`:
a paired test where both results' per-item predictions are beside them).
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
    low: float | None = None  # the recorded 95 % interval of the mean; None: unknown (schema < 3)
    high: float | None = None
    tied: bool | None = None  # not significantly worse than the task's best; None: unknown
    p_vs_best: float | None = None  # the paired test's p-value against the best
    tie_rule: str = "unknown"  # "best", "paired", "overlap" (intervals only) or "unknown"


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

    def coverage(self, backbone: str) -> int:
        return sum((backbone, t) in self.cells for t in self.tasks)

    def ordered_backbones(self) -> list[str]:
        """Most tasks covered first (a mean rank over fewer tasks is not comparable), then by mean rank."""
        def rank(b: str) -> float:
            value = self.ranks.get(b, float("nan"))
            return float("inf") if value != value else value

        return sorted(self.backbones, key=lambda b: (-self.coverage(b), rank(b), b))


def collect(results_dir: Path, protocol: str = "linear", ties: bool = True) -> Board:
    """The board of ``protocol``'s results under ``results_dir``; ``ties=False`` skips the paired tests against each best."""
    board = Board(protocol, {}, {}, {})
    records = {}
    first_seen: dict[tuple[str, str], Path] = {}
    task_origin: dict[str, Path] = {}
    backbone_origin: dict[str, Path] = {}
    environments = set()
    protocol_version: dict[str, tuple[str, Path]] = {}  # per task kind (a protocol may version kinds apart)
    present: set[str] = set()  # protocols that have results here, to suggest one when the asked one has none
    for path, res in iter_results(results_dir):
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
             "simulated": t.simulated, "source_datasets": list(t.source_datasets)},
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
            + (f" ({did_you_mean(protocol, present)}results here: {', '.join(sorted(present))})" if present else "")
        )
    board.environments = sorted(environments)
    board.ranks = mean_ranks(board)
    board.info = task_info(board, records)
    if ties:
        mark_ties(board, records)
    return board


def best_of(board: Board, task: str) -> str:
    """The backbone with the task's best mean (the first by name on an exact tie)."""
    sign = -1 if board.tasks[task]["higher_is_better"] else 1
    return min((sign * c.mean, b) for (b, t), c in board.cells.items() if t == task)[1]


def mark_ties(board: Board, records: dict[tuple[str, str], Any]) -> None:
    """Per task, which cells are not significantly worse than the best (nothing to do where no cell has an interval)."""
    from radiobench.board.stats import tied_with_best

    for task in board.tasks:
        cells = {b: c for (b, t), c in board.cells.items() if t == task}
        if not any(c.low is not None for c in cells.values()):
            continue
        decided = tied_with_best({b: c.path for b, c in cells.items()}, {b: records[(b, task)] for b in cells},
                                 best_of(board, task))
        for b, (tied, p_value, rule) in decided.items():
            cells[b].tied, cells[b].p_vs_best, cells[b].tie_rule = tied, p_value, rule


def mean_ranks(board: Board) -> dict[str, float]:
    """A tie-aware rank per real-data task, averaged within groups of tasks that share source data, then across groups.

    A backbone's rank on a task is 1 + the number of backbones whose 95 % interval lies wholly on
    the better side of its own (the rule Chatbot Arena uses for ranks from intervals): backbones
    whose intervals overlap share a rank, so a difference the test set cannot resolve moves no
    rank. A cell without an interval (written before result schema 3) counts as its mean alone.
    MiraBest and RGD are both FIRST cutouts of mostly the same sources; averaging tasks that share
    source data first lets each survey's test count once. Simulated tasks are shown but left out:
    a rank earned on simulated sky says how well the pipeline works, not how good a backbone is
    for radio astronomers. A backbone with no real-data result gets NaN.
    """
    real = [t for t, meta in board.tasks.items() if not meta.get("simulated")]
    per_task = {t: interval_ranks(board, t) for t in real}
    totals: dict[str, list[float]] = {b: [] for b in board.backbones}
    for group in source_groups(board, real):
        for b in board.backbones:
            ranks = [per_task[t][b] for t in group if b in per_task[t]]
            if ranks:
                totals[b].append(sum(ranks) / len(ranks))
    return {b: sum(v) / len(v) if v else float("nan") for b, v in totals.items()}


def interval_ranks(board: Board, task: str) -> dict[str, float]:
    """1 + how many backbones are better than each beyond doubt: their interval lies wholly on the better side."""
    sign = 1 if board.tasks[task]["higher_is_better"] else -1
    bounds = {}
    for (b, t), c in board.cells.items():
        if t == task:
            low, high = (c.low, c.high) if c.low is not None and c.high is not None else (c.mean, c.mean)
            bounds[b] = (low, high) if sign > 0 else (-high, -low)  # as if higher were better
    return {b: 1.0 + sum(other_low > high for o, (other_low, _) in bounds.items() if o != b)
            for b, (_, high) in bounds.items()}


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


def _registered_tasks() -> dict[str, Any]:
    """name -> TaskSpec of the installed tasks ({} when the registry cannot load: the board renders from files)."""
    try:
        from radiobench.registry import get_registry

        return {name: t.spec for name, t in get_registry().tasks.items()}
    except Exception:  # a broken plugin must not stop a leaderboard made from result files
        return {}


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


def task_info(board: Board, records: dict[tuple[str, str], Any]) -> dict[str, dict[str, Any]]:
    """Per task: description, data citation, metric direction and chance level, with where each came from.

    The citation comes from the result records; the description and a declared chance
    (``TaskSpec.chance``) from the installed task's spec when one is registered under the task's
    name (a spec of another version is named as such, its chance not used). Otherwise the chance is
    computed from the records (:func:`_chance_from_records`) or left unknown (None).
    """
    specs = _registered_tasks()
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
        }
        if same_version and main in spec.chance:
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
    return [p for p in PROTOCOL_ORDER if p in found] + sorted(found - set(PROTOCOL_ORDER))


def unevaluated_backbones(shown: set[str]) -> dict[str, str]:
    """Registered backbones with no result among ``shown``, each with why when it is known.

    Only looks: weights are resolved offline without fetching (never a download), so a missing
    file says "weights not available here" with where they come from.
    """
    from radiobench.errors import RadiobenchError
    from radiobench.models.weights import WeightsNotFoundError, resolve

    try:
        from radiobench.registry import get_registry

        registry = get_registry()
    except Exception:
        return {}
    out = {}
    for name in registry.list_backbones():
        if name in shown:
            continue
        spec = registry.backbones[name].spec
        try:
            resolve(spec, offline=True, fetch_missing=False)
            why = "weights here (or none needed); not run yet"
        except WeightsNotFoundError:
            source = spec.weights.download_source or spec.weights.source_page
            why = f"weights not available here ({spec.weights.kind}{': ' + source if source else ''})"
        except RadiobenchError as exc:
            why = str(exc).split(";")[0]
        out[name] = why
    return out
