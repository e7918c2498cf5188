"""Sweeps beyond this process: one job per (backbone, task) pair, through submitit, locally or on Slurm.

submitit does the scheduling work (sbatch job arrays, pickling the call, job folders, logs);
this module decides what to submit and reads back how it went:

- **What**: a pair is submitted only when :func:`~radiobench.run.pipeline.unanswered` says
  its finished results do not answer the request (the same re-run rules as a local run),
  and no earlier job of the same jobs folder is still pending or running for it. So
  re-submitting a command runs only what failed or is missing.
- **How**: on Slurm as one job array (``--array-parallelism`` jobs at a time); with
  ``--executor local`` as processes on this machine, at most ``--array-parallelism`` at once.
- **Record**: ``JOBS_DIR/sweep.json`` lists every submission (pair, job id, log files); each
  job marks itself running in ``JOBS_DIR/running/`` and writes how it ended, done or failed,
  as ``outcome.json`` in its own folder ``JOBS_DIR/logs/<job id>/``. :func:`states` reads
  those, and the scheduler only for whether a job without an outcome is still alive, so
  ``radiobench sweep status JOBS_DIR`` works from any shell, long after the submitting
  command has gone.

A jobs folder is read as data only, since it may be shared or planted: both files are JSON,
read size-capped from regular files and checked field by field, every path the manifest names
must lie inside the jobs folder, and submitit's result pickles are never loaded (loading a
pickle runs whatever code it names). Anything wrong is one line naming the file.

Each job runs :func:`~radiobench.run.pipeline.run_pair` with the same options, so its
result files are those of a sequential run; jobs share the feature cache safely (see
:meth:`~radiobench.run.cache.CacheEntry.claimed`). Results from many machines merge by
copying the result folders together: each file is one (backbone, task, protocol), named so.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from radiobench.errors import RadiobenchError, UsageError
from radiobench.io.atomic import write_text_atomic
from radiobench.io.folders import check_writable_folder
from radiobench.io.reader import MiB, UnreadableFileError, read_json
from radiobench.processes import pid_alive

EXECUTORS = ("local", "slurm")
STATES = ("pending", "running", "done", "failed")
MANIFEST = "sweep.json"
OUTCOME = "outcome.json"  # in each job's folder, JOBS_DIR/logs/<job id>/
OUTCOME_FORMAT = "radiobench-job-outcome/1"
MANIFEST_LIMIT = 16 * MiB  # tens of thousands of submissions; anything larger is not ours
OUTCOME_LIMIT = 1 * MiB  # a pair's outcomes are a few hundred bytes per protocol
_MEM = re.compile(r"^[1-9]\d*[KMGT]?$")
_JOB_IDS = {"local": re.compile(r"^\d{1,10}$"), "slurm": re.compile(r"^\d{1,20}(_\d{1,10})?$")}


class SweepOptionError(UsageError):
    """A sweep setting that cannot work (exit code 2, before anything is submitted)."""


@dataclass
class ClusterOptions:
    """Where and how the jobs of a sweep run; checked here so that a typo fails before any submission."""

    executor: str = "local"
    jobs_dir: Path = Path("radiobench-jobs")
    partition: str | None = None
    gpus_per_job: int = 0
    cpus_per_job: int = 1
    mem: str | None = None  # Slurm's --mem: 16G, 4000M
    timeout_min: int = 120
    array_parallelism: int = 2
    wait: bool = True
    poll_seconds: float = 2.0

    def __post_init__(self) -> None:
        self.jobs_dir = Path(self.jobs_dir)
        if self.executor not in EXECUTORS:
            raise SweepOptionError(f"--executor must be one of {', '.join(EXECUTORS)}, got {self.executor!r}")
        if self.executor == "slurm" and shutil.which("sbatch") is None:
            raise SweepOptionError("--executor slurm: sbatch is not on PATH; run this on a Slurm login node, "
                                   "or use --executor local")
        if self.mem is not None and not _MEM.match(self.mem):
            raise SweepOptionError(f"--mem {self.mem!r}: expected a size with an optional unit K, M, G or T, "
                                   "e.g. 16G or 4000M")
        for flag, value, least in (("--gpus-per-job", self.gpus_per_job, 0), ("--cpus-per-job", self.cpus_per_job, 1),
                                   ("--timeout-min", self.timeout_min, 1),
                                   ("--array-parallelism", self.array_parallelism, 1)):
            if not isinstance(value, int) or value < least:
                raise SweepOptionError(f"{flag} must be an integer of at least {least}, got {value}")
        if self.executor == "local":
            if self.partition is not None:
                raise SweepOptionError("--slurm-partition applies to --executor slurm only")
            if not self.wait:
                raise SweepOptionError("--no-wait needs --executor slurm: local jobs are started by this command "
                                       "as it goes (--array-parallelism at a time), so it must stay")
        check_writable_folder(self.jobs_dir, "--jobs-dir")  # a UsageError too


# ---------------------------------------------------------------------------------------------- the job


@dataclass
class PairJob:
    """What one job runs: the pair through the ordinary pipeline, in the job's own process.

    How it ended goes to ``outcome.json`` in the job's folder (:func:`write_outcome`), the only
    thing a later ``sweep status`` reads: the outcomes as plain dicts when it finished, the
    error line when it failed. A failed job still raises once its outcome is written, so the
    scheduler and submitit's log see the failure too.
    """

    backbone: str
    task: str
    opts: Any  # RunOptions, absolute paths
    jobs_dir: Path

    def __call__(self) -> list[dict[str, Any]]:
        job_id, folder = _job_id(), _job_folder(self.jobs_dir)
        marker = _marker(self.jobs_dir, job_id)
        write_text_atomic(marker, json.dumps({"backbone": self.backbone, "task": self.task, "pid": os.getpid(),
                                              "host": socket.gethostname(), "started": _now()}))
        try:
            rows = self._run()
        except Exception as exc:
            write_outcome(folder, self.backbone, self.task, job_id, "failed", [], _one_line(exc))
            raise
        failed = [o for o in rows if o["status"] == "failed"]
        if failed:
            error = "; ".join(f"{o['protocol']} failed: {o['error']}" for o in failed)
            write_outcome(folder, self.backbone, self.task, job_id, "failed", rows, _one_line(error))
            raise RadiobenchError(error)
        write_outcome(folder, self.backbone, self.task, job_id, "done", rows)
        return rows

    def _run(self) -> list[dict[str, Any]]:
        from radiobench.registry import get_registry
        from radiobench.run.pipeline import run_pair

        print(f"radiobench job: {self.backbone} on {self.task}, results in {self.opts.results_dir}", flush=True)
        outcomes = run_pair(get_registry(), self.backbone, self.task, self.opts, _PrintProgress())
        for o in outcomes:
            print(f"  {o.protocol}: {o.status} {o.main_score} {o.error or o.path or ''}", flush=True)
        return [{**asdict(o), "path": None if o.path is None else str(o.path)} for o in outcomes]


def write_outcome(folder: Path, backbone: str, task: str, job_id: str, state: str, outcomes: list[dict[str, Any]],
                  error: str = "") -> Path:
    """The job's record of how it ended, as JSON (atomically, so a reader never meets half of it)."""
    path = Path(folder) / OUTCOME
    write_text_atomic(path, json.dumps({"format": OUTCOME_FORMAT, "backbone": backbone, "task": task,
                                        "job_id": job_id, "state": state, "outcomes": outcomes, "error": error,
                                        "finished": _now()}, indent=1) + "\n")
    return path


def _one_line(error: BaseException | str) -> str:
    """An error as the one line a status table shows: its own text, else its type's name."""
    text = " ".join(str(error).split())
    if isinstance(error, BaseException) and not isinstance(error, RadiobenchError):
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return text[:2000] or "error"


class _PrintProgress:
    """Plain lines for a job's log: notes and each step's start (no bars in a file)."""

    def extraction(self, label: str, total: int) -> Callable[[int], None]:
        print(f"  extracting {label}: {total} images", flush=True)
        return lambda n: None

    def fitting(self, label: str, total: int) -> Callable[[], None]:
        print(f"  fitting {label}", flush=True)
        return lambda: None

    def stage(self, label: str, total: int, unit: str) -> Callable[..., None]:
        return lambda n=1: None

    def done(self) -> None:
        pass

    def note(self, text: str) -> None:
        print(f"  {text}", flush=True)


def _job_id() -> str:
    try:
        import submitit

        return str(submitit.JobEnvironment().job_id)
    except RuntimeError:  # called outside a submitit job (a test calling the job directly)
        return f"inline-{os.getpid()}"


def _job_folder(jobs_dir: Path) -> Path:
    """The job's own folder (submitit's, where its logs are): ``JOBS_DIR/logs/<job id>/``."""
    try:
        import submitit

        return Path(submitit.JobEnvironment().paths.folder)
    except (RuntimeError, KeyError):  # outside a submitit job (a test calling the job directly)
        return Path(jobs_dir) / "logs" / _job_id()


def _marker(jobs_dir: Path, job_id: str) -> Path:
    return Path(jobs_dir) / "running" / f"{job_id}.json"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------- records


@dataclass
class Submission:
    """One job of a sweep, as ``sweep.json`` keeps it."""

    backbone: str
    task: str
    job_id: str
    executor: str
    host: str
    submitted: str
    stdout: str
    stderr: str
    outcome: str  # the job's outcome.json (see write_outcome), in its own folder

    @property
    def pair(self) -> tuple[str, str]:
        return self.backbone, self.task


class JobsFolderError(RadiobenchError):
    """A jobs folder whose record radiobench will not read (not ours, damaged, or pointing elsewhere)."""


_PATH_FIELDS = ("stdout", "stderr", "outcome")


def read_manifest(jobs_dir: Path) -> list[Submission]:
    """Every submission ``JOBS_DIR/sweep.json`` records, checked: types, job ids, and paths inside the folder.

    Nothing of a refused manifest is used: one wrong entry may be a planted one, so the whole
    record is refused with a line naming the entry.
    """
    path = Path(jobs_dir) / MANIFEST
    if not path.exists() and not path.is_symlink():
        return []
    hint = "use another --jobs-dir"
    try:
        document = read_json(path, limit=MANIFEST_LIMIT, what="sweep record")
    except UnreadableFileError as exc:
        raise JobsFolderError(f"{exc}") from None
    entries = document.get("submissions") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise JobsFolderError(f"{path} is not a radiobench sweep record (no list of submissions); {hint}")
    root = Path(jobs_dir).resolve()
    return [_submission(entry, i, path, root) for i, entry in enumerate(entries)]


def _submission(entry: Any, index: int, manifest: Path, root: Path) -> Submission:
    """One manifest entry as a :class:`Submission`, or a one-line refusal naming it.

    A manifest of an older radiobench names submitit's result pickle as ``result``; it is
    accepted (the pickle is never read) and the job's outcome looked for beside it.
    """
    where = f"{manifest}: submission {index + 1}"
    hint = "delete the record or use another --jobs-dir"
    if isinstance(entry, dict) and "outcome" not in entry and isinstance(entry.get("result"), str):
        _inside(entry["result"], root, f"{where} (result)", hint)
        entry = {**{k: v for k, v in entry.items() if k != "result"},
                 "outcome": str(Path(entry["result"]).parent / OUTCOME)}
    names = list(Submission.__dataclass_fields__)
    if not isinstance(entry, dict) or sorted(entry) != sorted(names):
        raise JobsFolderError(f"{where} is not a radiobench job record (expected the fields {', '.join(names)}); "
                              f"{hint}")
    wrong = next((k for k in names if not isinstance(entry[k], str)), None)
    if wrong is not None:
        raise JobsFolderError(f"{where}: {wrong} must be text, not {type(entry[wrong]).__name__}; {hint}")
    s = Submission(**entry)
    if s.executor not in EXECUTORS:
        raise JobsFolderError(f"{where}: executor must be one of {', '.join(EXECUTORS)}, not {s.executor!r}; {hint}")
    if not _JOB_IDS[s.executor].match(s.job_id):
        raise JobsFolderError(f"{where}: {s.job_id!r} is not a {s.executor} job id; {hint}")
    for name in _PATH_FIELDS:
        _inside(getattr(s, name), root, f"{where} ({name})", hint)
    return s


def _inside(value: str, root: Path, where: str, hint: str) -> None:
    """Refuse a path that leaves the jobs folder ``root`` (already resolved), symlinks followed."""
    try:
        resolved = Path(value).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a NUL byte
        raise JobsFolderError(f"{where}: cannot resolve the path {value!r} ({exc}); {hint}") from None
    if not value or not resolved.is_relative_to(root):
        raise JobsFolderError(f"{where}: refusing a path outside the jobs folder {root}: {value!r}; {hint}")


def _write_manifest(jobs_dir: Path, submissions: list[Submission]) -> None:
    write_text_atomic(Path(jobs_dir) / MANIFEST,
                      json.dumps({"submissions": [asdict(s) for s in submissions]}, indent=1) + "\n")


def latest(submissions: list[Submission]) -> dict[tuple[str, str], Submission]:
    """The last submission of each pair (a re-submission supersedes the earlier job)."""
    return {s.pair: s for s in submissions}


@dataclass
class JobState:
    submission: Submission
    state: str  # one of STATES
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""

    @property
    def log(self) -> str:
        return self.submission.stderr


def states(submissions: list[Submission], live: dict[str, Any] | None = None) -> list[JobState]:
    """Where each job stands: done or failed from its ``outcome.json``; otherwise pending or running
    while the scheduler still has it, failed (killed, timed out, node lost) once it has not.

    ``live``: submitit job objects of this process by job id (a local job is this process's child).
    """
    alive = _alive_slurm([s.job_id for s in submissions if s.executor == "slurm"])
    out = []
    for s in submissions:
        outcome = Path(s.outcome)
        if _present(outcome):
            out.append(read_outcome(s))
            continue
        # a local job is this process's child: ask its process (a finished child is a zombie to a pid check);
        # submitit's Slurm state needs accounting (sacct), often off, so Slurm jobs are looked up in squeue
        job = (live or {}).get(s.job_id) if s.executor == "local" else None
        if job is not None:
            running = job.state == "RUNNING"
        elif s.executor == "slurm":
            running = s.job_id in alive
        else:
            running = s.host == socket.gethostname() and pid_alive(int(s.job_id))
        if _present(outcome):  # finished between the two looks
            out.append(read_outcome(s))
        elif running:
            started = _marker(_jobs_dir_of(s), s.job_id).exists()
            out.append(JobState(s, "running" if started else "pending"))
        else:
            log = s.stderr if Path(s.stderr).exists() else f"{s.stderr} (not written: it never started)"
            out.append(JobState(s, "failed", error=f"job {s.job_id} ended without a result (killed, timed out or "
                                                   f"lost); log: {log}"))
    return out


def _present(path: Path) -> bool:
    """Something is at ``path`` (a dangling symlink too: reading it says what is wrong)."""
    return path.exists() or path.is_symlink()


def _jobs_dir_of(s: Submission) -> Path:
    return Path(s.stdout).parents[2]  # JOBS_DIR/logs/<job id>/<log file>


_OUTCOME_FIELDS = {"backbone": str, "task": str, "protocol": str, "status": str, "main_score": str,
                   "path": (str, type(None)), "error": str}
_OUTCOME_STATUSES = ("done", "skipped", "failed")


class _BadOutcome(Exception):
    """What is wrong with an outcome.json, in a few words (the caller names the file)."""


def read_outcome(s: Submission) -> JobState:
    """The job's state from its ``outcome.json``, read as data; anything unreadable or malformed is a failed
    job whose error names the file (never a traceback: the file may have been planted)."""
    path = Path(s.outcome)
    try:
        document = read_json(path, limit=OUTCOME_LIMIT, what="job outcome")
        state, outcomes, error = _checked_outcome(document, s)
    except UnreadableFileError as exc:
        return JobState(s, "failed", error=f"{_one_line(str(exc))}; log: {s.stderr}")
    except _BadOutcome as exc:
        return JobState(s, "failed", error=f"{path}: not a radiobench job outcome ({exc}); log: {s.stderr}")
    if state == "done":
        return JobState(s, "done", outcomes=outcomes)
    return JobState(s, "failed", outcomes=outcomes, error=f"{error or 'failed'}; log: {s.stderr}")


def _check_not_stale(finished: Any, s: Submission) -> None:
    """A local job id is a process id, which the system reuses: an outcome written before this job was
    submitted belongs to an earlier job that had the same id."""
    if not isinstance(finished, str):
        raise _BadOutcome("finished must be text")
    try:
        done_at = dt.datetime.fromisoformat(finished)
    except ValueError:
        raise _BadOutcome(f"finished {finished[:40]!r} is not a time") from None
    try:
        submitted = dt.datetime.fromisoformat(s.submitted)
    except ValueError:
        return  # a hand-written manifest without a time: nothing to compare
    if done_at.tzinfo is not None and submitted.tzinfo is not None and done_at < submitted:
        raise _BadOutcome(f"it finished at {finished}, before this job was submitted at {s.submitted} (an earlier "
                          "job with the same id)")


def _checked_outcome(document: Any, s: Submission) -> tuple[str, list[dict[str, Any]], str]:
    """``(state, outcomes, error)`` of an outcome document, every field checked against what
    :func:`write_outcome` writes and the pair against the submission's."""
    if not isinstance(document, dict) or document.get("format") != OUTCOME_FORMAT:
        raise _BadOutcome(f"format is not {OUTCOME_FORMAT!r}")
    for key in ("backbone", "task", "state", "error"):
        if not isinstance(document.get(key), str):
            raise _BadOutcome(f"{key} must be text")
    if (document["backbone"], document["task"]) != s.pair:
        raise _BadOutcome(f"it is for {document['backbone']!r} on {document['task']!r}, not this job's "
                          f"{s.backbone!r} on {s.task!r}")
    if document["state"] not in ("done", "failed"):
        raise _BadOutcome(f"state must be done or failed, not {document['state']!r}")
    _check_not_stale(document.get("finished"), s)
    outcomes = document.get("outcomes")
    if not isinstance(outcomes, list):
        raise _BadOutcome("outcomes must be a list")
    for i, row in enumerate(outcomes):
        if not isinstance(row, dict) or sorted(row) != sorted(_OUTCOME_FIELDS):
            raise _BadOutcome(f"outcome {i + 1} must have exactly the fields {', '.join(_OUTCOME_FIELDS)}")
        wrong = next((k for k, kind in _OUTCOME_FIELDS.items() if not isinstance(row[k], kind)), None)
        if wrong is not None:
            raise _BadOutcome(f"outcome {i + 1}: {wrong} has the wrong type ({type(row[wrong]).__name__})")
        if row["status"] not in _OUTCOME_STATUSES:
            raise _BadOutcome(f"outcome {i + 1}: status must be one of {', '.join(_OUTCOME_STATUSES)}")
    return document["state"], [dict(row) for row in outcomes], _one_line(document["error"])


def _alive_slurm(job_ids: list[str]) -> set[str]:
    """The job ids Slurm still has queued or running (squeue; sacct needs accounting, often off)."""
    if not job_ids:
        return set()
    arrays = sorted({j.split("_")[0] for j in job_ids})
    try:
        out = subprocess.run(["squeue", "-h", "-r", "-o", "%i", "-j", ",".join(arrays)], capture_output=True,
                             text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RadiobenchError(f"cannot ask Slurm about the jobs (squeue: {exc})") from None
    return {line.strip() for line in out.stdout.splitlines() if line.strip()}


# ---------------------------------------------------------------------------------------------- submitting


@dataclass
class Sweep:
    """The jobs of one submission and the pairs still waiting for a local slot."""

    cluster: ClusterOptions
    opts: Any
    submissions: list[Submission]  # every submission of the jobs folder, this one's last
    mine: list[Submission]  # submitted by this command
    waiting: list[tuple[str, str]]  # local: pairs not started yet
    answered: list[tuple[str, str]]  # pairs whose results already answer the request
    queued: list[Submission]  # pairs an earlier, still active job is running
    live: dict[str, Any] = field(default_factory=dict)
    _executor: Any = None

    def top_up(self) -> None:
        """Local: start waiting pairs while fewer than ``--array-parallelism`` jobs of this sweep run."""
        if not self.waiting:
            return
        running = sum(1 for j in self.live.values() if j.state == "RUNNING")
        while self.waiting and running < self.cluster.array_parallelism:
            self._submit([self.waiting.pop(0)])
            running += 1

    def _submit(self, pairs: list[tuple[str, str]]) -> None:
        ex = self._executor
        jobs_dir = self.cluster.jobs_dir
        calls = [PairJob(b, t, self.opts, jobs_dir) for b, t in pairs]
        try:
            if self.cluster.executor == "slurm":
                with ex.batch():
                    jobs = [ex.submit(call) for call in calls]
            else:
                jobs = [ex.submit(call) for call in calls]
        except Exception as exc:  # noqa: BLE001 - sbatch's refusal (a partition that does not exist...) in one line
            text = " ".join(str(exc).split())
            raise RadiobenchError(f"the {self.cluster.executor} executor refused the jobs: {text[:500]}") from exc
        host = socket.gethostname()
        for (b, t), job in zip(pairs, jobs):
            s = Submission(b, t, str(job.job_id), self.cluster.executor, host, _now(), str(job.paths.stdout),
                           str(job.paths.stderr), str(job.paths.folder / OUTCOME))
            self.live[s.job_id] = job
            self.mine.append(s)
            self.submissions.append(s)
        _write_manifest(jobs_dir, self.submissions)

    def states(self) -> list[JobState]:
        """This command's jobs (and the active ones of earlier submissions it left alone), with the
        pairs still waiting for a local slot as pending."""
        found = states(self.queued + self.mine, self.live)
        return found + [JobState(Submission(b, t, "-", "local", "", "", "", "", ""), "pending")
                        for b, t in self.waiting]


def make_executor(cluster: ClusterOptions) -> Any:
    """A submitit executor for ``cluster``: jobs' files under ``JOBS_DIR/logs/<job id>/``."""
    import submitit

    folder = cluster.jobs_dir / "logs" / "%j"
    if cluster.executor == "slurm":
        ex = submitit.SlurmExecutor(folder=folder)
        params: dict[str, Any] = {"job_name": "radiobench", "time": cluster.timeout_min, "cpus_per_task": cluster.cpus_per_job,
                                  "array_parallelism": cluster.array_parallelism}
        if cluster.gpus_per_job:
            params["gpus_per_node"] = cluster.gpus_per_job
        if cluster.partition:
            params["partition"] = cluster.partition
        if cluster.mem:
            params["mem"] = cluster.mem
        ex.update_parameters(**params)
        return ex
    ex = submitit.LocalExecutor(folder=folder)
    ex.update_parameters(timeout_min=cluster.timeout_min, gpus_per_node=cluster.gpus_per_job)
    return ex


def submit(registry: Any, pairs: list[tuple[str, str]], opts: Any, cluster: ClusterOptions,
           note: Callable[[str], None] = lambda text: None) -> Sweep:
    """Submit a job for every pair that needs one; see the module docstring for which do.

    ``opts`` is the run's :class:`~radiobench.run.options.RunOptions`; its folders are made
    absolute, since a job may start in another working directory.
    """
    from radiobench.run.pipeline import unanswered

    opts = replace(opts, results_dir=opts.results_dir.resolve(), data_root=opts.data_root.resolve(),
                   cache_dir=None if opts.cache_dir is None else opts.cache_dir.resolve(),
                   weights={name: str(Path(path).expanduser().resolve()) for name, path in opts.weights.items()})
    cluster = replace(cluster, jobs_dir=cluster.jobs_dir.resolve())
    earlier = read_manifest(cluster.jobs_dir)
    active = {st.submission.pair: st.submission for st in states(list(latest(earlier).values()))
              if st.state in ("pending", "running")}
    todo, answered, queued = [], [], []
    for pair in pairs:
        if pair in active:
            queued.append(active[pair])
            note(f"{pair[0]} on {pair[1]}: job {active[pair].job_id} of an earlier submission is still active; "
                 "not submitted again")
        elif unanswered(registry, *pair, opts):
            todo.append(pair)
        else:
            answered.append(pair)
    sweep = Sweep(cluster, opts, earlier, [], [], answered, queued)
    if todo:
        sweep._executor = make_executor(cluster)
        if cluster.executor == "slurm":
            sweep._submit(todo)
        else:
            sweep.waiting = todo
            sweep.top_up()
    return sweep


def wait(sweep: Sweep, show: Callable[[list[JobState]], None] = lambda s: None) -> list[JobState]:
    """Until every job of the sweep has finished (starting waiting local pairs as slots free), calling
    ``show`` with the states after each look."""
    while True:
        sweep.top_up()
        found = sweep.states()
        show(found)
        if not sweep.waiting and all(s.state in ("done", "failed") for s in found):
            return found
        time.sleep(sweep.cluster.poll_seconds)


def counts(found: list[JobState]) -> dict[str, int]:
    return {state: sum(s.state == state for s in found) for state in STATES}
