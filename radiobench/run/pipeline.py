"""One chain for every (backbone, task) pair: plan, identify, skip or keep, features, fit, record.

1. **Plan**: which protocols apply to the task's kind and to the backbone, and their result files.
2. **Identify** (:class:`~radiobench.run.pair.Pair`): the task prepared (its data verified and
   hashed), the weights' and the backbone code's identity, without building the backbone.
3. **Re-run rules**: a finished result that answers the whole request is skipped; one that
   differs only in its seeds lends the seeds it shares; anything else is replaced, saying why.
4. **Features** and **fit** through the kind's :class:`~radiobench.run.strategy.Strategy`; the
   backbone is built only when a cache entry is missing.
5. **Record**: a validated :class:`~radiobench.results.ResultRecord`, written atomically, under the
   result's lock: a run that finds another run's answer there once it holds the lock keeps it.

A protocol that refuses to fit fails alone; the pair's other protocols still run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radiobench.results import provenance
from radiobench.errors import RadiobenchError, ResultsError
from radiobench.registry import Registry
from radiobench.results import ResultRecord, read_result, write_result
from radiobench.results.files import result_lock
from radiobench.run import distributed
from radiobench.run.options import RunOptions
from radiobench.run.pair import Pair
from radiobench.run.progress import Progress, reporting
from radiobench.run.records import kept_seeds, make_record, request_for
from radiobench.run.strategy import NotApplicable, Strategy


@dataclass
class Outcome:
    backbone: str
    task: str
    protocol: str
    status: str  # "done", "skipped" (already finished or not applicable), "failed"
    main_score: str = ""
    path: Path | None = None
    error: str = ""


def plan(registry: Registry, backbone_name: str, task_name: str, opts: RunOptions) -> tuple[list[str], list[Outcome]]:
    """The protocols that will run on the pair, and an outcome for each asked one that will not (and why).

    Cheap (specs only), so the pre-flight can say what each pair will run before anything runs.
    """
    from radiobench.kinds import get_kind

    b_reg, t_reg = registry.backbone(backbone_name), registry.task(task_name)
    name, kind_name = b_reg.spec.name, t_reg.spec.kind  # an alias runs, and is filed, as its backbone
    asked = list(dict.fromkeys(get_kind(kind_name).main_protocol if p == "main" else p for p in opts.protocols))
    applies = {p: kind_name in registry.protocol(p).spec.kinds for p in asked}
    if b_reg.spec.kinds and kind_name not in b_reg.spec.kinds:
        return [], [Outcome(name, task_name, p, "skipped",
                            error=f"not applicable: {name} runs on {', '.join(b_reg.spec.kinds)} tasks only")
                    for p in asked if applies[p]]
    outcomes = [Outcome(name, task_name, p, "skipped", error=f"protocol {p} does not apply to {kind_name} tasks")
                for p in asked if not applies[p] and not opts.every_protocol]
    return [p for p in asked if applies[p]], outcomes


def protocol_id(registry: Registry, protocol: str, opts: RunOptions) -> str:
    """What a result of ``protocol`` in this run is filed and compared under: its name, then ``@name=value`` for
    each option set to other than its default, then the label budget (``knn@k=5-n145``)."""
    return protocol + registry.protocol(protocol).spec.id_suffix(opts.protocol_options.get(protocol)) + opts.budget.suffix


def run_pair(registry: Registry, backbone_name: str, task_name: str, opts: RunOptions,
             progress: Progress | None = None) -> list[Outcome]:
    progress = progress or Progress()
    with reporting(progress):  # long steps inside task and protocol code (simulations, pyBDSF) draw bars too
        return _run_pair(registry, backbone_name, task_name, opts, progress)


def unanswered(registry: Registry, backbone_name: str, task_name: str, opts: RunOptions) -> list[str]:
    """The protocol ids of the pair whose finished results do not answer this request (missing, damaged,
    or measuring something else): what a run of the pair would compute. Empty: nothing to do.

    The same re-run rules as :func:`run_pair` (it is the same code), without features; a sweep asks
    this before submitting a job, so a pair that is already answered costs no job.
    """
    applicable, _ = plan(registry, backbone_name, task_name, opts)
    if not applicable:
        return []
    pair = Pair.prepare(registry.backbone(backbone_name), registry.task(task_name), opts)
    *_, earlier, _ = _triage(registry, pair, applicable, opts, Progress())
    return [protocol_id(registry, p, opts) for p in earlier]


def _triage(registry: Registry, pair: Pair, applicable: list[str], opts: RunOptions, progress: Progress
            ) -> tuple[dict[str, Any], dict[str, str], dict[str, Any], dict[str, ResultRecord | None], list[Outcome]]:
    """Per protocol: the protocol built with the run's option values, its id and request; the earlier result of
    each that must be (re)computed; and a "skipped" outcome for each whose finished result already answers
    the request. Only here is a protocol's code imported (its spec's factory)."""
    specs = {p: registry.protocol(p).spec for p in applicable}
    protocols = {p: specs[p].build(opts.protocol_options.get(p)) for p in applicable}
    ids = {p: protocol_id(registry, p, opts) for p in applicable}
    requests = {p: request_for(pair, specs[p], protocols[p], ids[p]) for p in applicable}
    earlier: dict[str, ResultRecord | None] = {}
    skipped: list[Outcome] = []
    for p in applicable:
        path = pair.results_path(ids[p])
        finished = None if opts.overwrite else _finished(path, progress)
        why = finished.mismatch(requests[p]) if finished is not None else "missing"
        if why is None:
            skipped.append(Outcome(pair.name, pair.task_name, ids[p], "skipped", finished.score_text(), path))
            continue
        if finished is not None:
            progress.note(f"replacing {path.name}: it does not answer this run ({why})")
        earlier[p] = finished
    return protocols, ids, requests, earlier, skipped


def strategy_for(pair: Pair) -> Strategy:
    """The strategy of the pair's kind of evaluation (a source finder, with no embedding, is a maps kind of its own)."""
    if pair.kind.evaluation == "maps":
        from radiobench.run.maps import MapStrategy

        return MapStrategy(source_finder=pair.backbone_reg.spec.embed_dim == 0)
    from radiobench.run.vectors import VectorStrategy

    return VectorStrategy()


def _run_pair(registry: Registry, backbone_name: str, task_name: str, opts: RunOptions,
              progress: Progress) -> list[Outcome]:
    applicable, outcomes = plan(registry, backbone_name, task_name, opts)
    if not applicable:
        return outcomes
    b_reg, t_reg = registry.backbone(backbone_name), registry.task(task_name)
    name = b_reg.spec.name

    pair = Pair.prepare(b_reg, t_reg, opts)
    protocols, ids, requests, earlier, skipped = _triage(registry, pair, applicable, opts, progress)
    seen = {p: _file_state(pair.results_path(ids[p])) for p in earlier}
    outcomes += skipped
    world = distributed.current()
    if not world.agree(bool(earlier)):  # under torchrun, rank 0's files decide for every rank
        return outcomes

    strategy = strategy_for(pair)
    try:
        strategy.features(pair, progress)
    except NotApplicable as exc:
        progress.done()
        return outcomes + [Outcome(name, task_name, ids[p], "skipped", error=f"not applicable: {exc}") for p in earlier]
    if not world.leader:  # its shards went to rank 0, which fits and writes the results
        return outcomes
    env = provenance.environment(pair.torch_device())
    for p, finished in earlier.items():
        path = pair.results_path(ids[p])
        try:
            with result_lock(path, lambda: progress.note(f"{path.name}: waiting for another run writing it")):
                finished, answered = _recheck(pair, ids[p], requests[p], finished, seen[p], progress)
                if answered is not None:
                    outcomes.append(answered)
                    continue
                kept = kept_seeds(finished, requests[p], env, pair.cache_info, path) if strategy.seeded else {}
                todo = [s for s in requests[p].seeds if s not in kept] if strategy.seeded else [0]
                if kept:
                    progress.note(f"{ids[p]}: seeds {sorted(kept)} kept from the earlier result, fitting {todo}")
                start = time.perf_counter()
                fit = strategy.fit(pair, protocols[p], todo, progress)
                fit.per_seed = [*kept.values(), *fit.per_seed]
                record, sidecar = make_record(pair, registry.protocol(p).spec, protocols[p], ids[p], fit, sorted(kept), env,
                                              time.perf_counter() - start)
                write_result(path, record, sidecar)
            outcomes.append(Outcome(name, task_name, ids[p], "done", record.score_text(), path))
        except RadiobenchError as exc:  # one protocol's refusal (e.g. too few labels to fit a probe) spares the rest
            progress.done()
            progress.note(f"{ids[p]} failed: {exc}")
            outcomes.append(Outcome(name, task_name, ids[p], "failed", error=str(exc)))
    return outcomes


def _recheck(pair: Pair, protocol_id: str, request: Any, earlier: ResultRecord | None, seen: tuple[int, ...] | None,
             progress: Progress) -> tuple[ResultRecord | None, Outcome | None]:
    """Under the result's lock, before fitting: the earlier result to build on, and a "skipped" outcome if
    another run wrote a result that answers this request since this run first looked.

    Why under the lock, and why the fit too: runs of the same pair at once (a sweep re-submitted while
    its jobs still run, two shells) each found the file missing at triage. The first to take the
    lock fits and writes; the others wait, find its answer here, and keep it, so a finished result
    is never replaced by an equivalent one and no fit is done twice. A result that still does not
    answer (other seeds, say) is the earlier result the fit builds on, as at triage. An unchanged
    file (same inode, time and size) is not read again; with ``--overwrite`` only a file written
    since this run started can answer it.
    """
    path = pair.results_path(protocol_id)
    if _file_state(path) == seen:
        return earlier, None
    now = _finished(path, progress)
    if now is not None and now.mismatch(request) is None:
        progress.note(f"{path.name}: already answered by another run meanwhile; kept, not overwritten")
        return now, Outcome(pair.name, pair.task_name, protocol_id, "skipped", now.score_text(), path,
                            error=f"already answered: {path} was written by another run meanwhile")
    return (None if pair.opts.overwrite else now), None


def _file_state(path: Path) -> tuple[int, ...] | None:
    """What tells one version of a file from the next (an atomic write is a new inode), or None if absent."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _finished(path: Path, progress: Progress) -> ResultRecord | None:
    """The result at ``path`` if there is a valid one; a damaged file is named and will be replaced."""
    if not path.exists():
        return None
    try:
        return read_result(path)
    except ResultsError as exc:
        progress.note(f"replacing {path.name}: {exc}")
        return None
