"""A sweep as ``radiobench run --executor ...`` shows it: pre-flight, submission, a live table of the jobs, a summary.

The submitting and the reading of job states are :mod:`~radiobench.run.executor`'s; this module
draws them (``radiobench sweep status`` prints :func:`jobs_table` too).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from radiobench.io.terminal import console as make_console
from radiobench.io.terminal import markup_safe
from radiobench.run import executor
from radiobench.run.console import RichProgress, plural, print_summary
from radiobench.run.pipeline import Outcome
from radiobench.run.session import checked_pairs, nothing_to_do


def sweep_all(reg: Any, backbones: list[str], tasks: list[str], opts: Any, cluster: Any) -> int:
    """Pre-flight as for a local run, then a job per pair that needs one; wait for them with a live
    table of pending/running/done/failed, or return at once with --no-wait."""
    console = make_console()
    checked = checked_pairs(reg, backbones, tasks, opts, RichProgress(console))
    if nothing_to_do(console, checked, "submitted"):
        return 1
    pairs = [(plan.backbone, plan.task) for plan in checked.runnable]
    sweep = executor.submit(reg, pairs, opts, cluster, note=lambda text: console.print(f"  [yellow]{markup_safe(text)}[/]"))
    submitted = len(sweep.mine) + len(sweep.waiting)
    console.print(f"{plural(submitted, 'job')} submitted ({cluster.executor}), {len(sweep.answered)} of "
                  f"{len(pairs)} pairs already answered by their results; jobs folder {markup_safe(sweep.cluster.jobs_dir)}")
    if not submitted and not sweep.queued:
        return 0
    if not cluster.wait:
        console.print(f"follow them with: radiobench sweep status {markup_safe(sweep.cluster.jobs_dir)}")
        return 0
    found = watch_jobs(console, sweep)
    return print_jobs(console, found)


def watch_jobs(console: Any, sweep: executor.Sweep) -> list[executor.JobState]:
    """The sweep's jobs until all have finished, as a live table (one row per pair, counts in the title)."""
    from rich.live import Live

    with Live(jobs_table([], "jobs"), console=console, refresh_per_second=2, transient=console.is_terminal) as live:
        found = executor.wait(sweep, lambda states: live.update(jobs_table(states, "jobs")))
    console.line()
    return found


def jobs_table(states: list[executor.JobState], title: str) -> Any:
    """One row per pair: job id, state, scores or the log of a failure; the counts of each state in the title."""
    from rich.table import Table

    n = executor.counts(states)
    table = Table("backbone", "task", "job", "state", "scores / log",
                  title=f"{title}: {n['pending']} pending, {n['running']} running, {n['done']} done, {n['failed']} failed")
    table.columns[-1].overflow = "fold"
    colour = {"pending": "dim", "running": "yellow", "done": "green", "failed": "red"}
    for st in states:
        s = st.submission
        detail = st.error or ", ".join(f"{o['protocol']} {o['main_score']}" for o in st.outcomes if o["main_score"])
        names = (markup_safe(s.backbone), markup_safe(s.task), markup_safe(s.job_id))  # as sweep.json says: any text
        table.add_row(*names, f"[{colour[st.state]}]{st.state}[/]", markup_safe(detail))
    return table


def print_jobs(console: Any, states: list[executor.JobState]) -> int:
    """The per-protocol summary of finished jobs and one row per failed job; 1 if any failed."""
    outcomes = []
    for st in states:
        if st.state == "done":
            outcomes += [Outcome(**{**o, "path": o["path"] and Path(o["path"])}) for o in st.outcomes]
        else:
            outcomes.append(Outcome(st.submission.backbone, st.submission.task, "-", "failed", error=st.error or st.state))
    print_summary(console, outcomes)
    failed = [st for st in states if st.state != "done"]
    if failed:
        console.print(f"[red]{len(failed)} of {len(states)} jobs failed; the same command re-submits only those[/]")
    return 1 if failed else 0
