"""A run in this process, as ``radiobench run`` does it: pre-flight, then each pair that can run, then a summary.

One pair's failure is one line (its traceback in the run log, or on screen with ``verbose``)
and the others go on; a full disk stops the run, since every later pair would fail the same way.
The exit code is 1 when anything failed, else 0.
"""

from __future__ import annotations

import time
from typing import Any

from radiobench.errors import RadiobenchError
from radiobench.io.folders import is_disk_full
from radiobench.io.terminal import console as make_console
from radiobench.io.terminal import markup_safe, print_traceback
from radiobench.run.console import RichProgress, eta, plural, print_preflight, print_problems, print_summary
from radiobench.run.pipeline import Outcome, run_pair
from radiobench.run.preflight import Preflight, download_weights, preflight


class DiskFullError(RadiobenchError):
    """The file system ran out of space while a pair ran: no later pair can finish either."""


def checked_pairs(reg: Any, backbones: list[str], tasks: list[str], opts: Any, hooks: RichProgress) -> Preflight:
    """The pre-flight, shown as it happens: its table, then the weights downloads it calls for, then the
    downloads that failed (numbered after the table's problems)."""
    checked = preflight(reg, backbones, tasks, opts, hooks, fetch=False)
    print_preflight(hooks.console, checked, opts)
    shown = len(checked.problems())
    print_problems(hooks.console, download_weights(reg, checked, hooks), first=shown + 1)
    return checked


def nothing_to_do(console: Any, checked: Preflight, what: str) -> bool:
    """Whether the pre-flight left no pair that can run; if so, says so (``what``: ran, submitted)."""
    if checked.problems() and not checked.runnable:
        console.print(f"[red]nothing {what}: fix the {plural(len(checked.problems()), 'missing item')} above and "
                      "run the same command again[/]")
        return True
    return False


def run_all(reg: Any, backbones: list[str], tasks: list[str], opts: Any, verbose: bool = False,
            console: Any = None) -> int:
    """Pre-flight (every pair's weights and data, each missing thing named once), then the pairs that can run."""
    from radiobench.run.runlog import RunLog

    hooks = RichProgress(console or make_console())
    checked = checked_pairs(reg, backbones, tasks, opts, hooks)
    if nothing_to_do(hooks.console, checked, "ran"):
        return 1
    log = RunLog(opts.results_dir)
    outcomes: list[Any] = []
    started, runnable = time.monotonic(), checked.runnable
    for plan in checked.pairs:
        if not plan.runnable:
            outcomes += plan.skipped + (plan.blocked() if plan.protocols else [])
            continue
        position = runnable.index(plan)
        hooks.console.print(f"[bold]{plan.backbone}[/] on [bold]{plan.task}[/]  "
                            f"[dim]{eta(position, len(runnable), time.monotonic() - started)}[/]")
        try:
            outcomes += run_one(reg, plan, opts, hooks, log, verbose)
        except DiskFullError as exc:  # every later pair would fail the same way: stop here, say so once
            hooks.console.print(f"  [red]failed:[/] {markup_safe(exc)}")
            outcomes.append(Outcome(plan.backbone, plan.task, "+".join(plan.protocols), "failed", error=str(exc)))
            break
    print_summary(hooks.console, outcomes)
    failed = sum(o.status == "failed" for o in outcomes)
    if failed:
        hooks.console.print(f"[red]{failed} of {len(outcomes)} failed[/]")
    return 1 if failed else 0


def run_one(reg: Any, plan: Any, opts: Any, hooks: RichProgress, log: Any, verbose: bool) -> list[Any]:
    """One pair's outcomes; its failure is reported in one line (the traceback to the log, or here with --verbose)."""
    console = hooks.console
    try:
        return run_pair(reg, plan.backbone, plan.task, opts, hooks)
    except RadiobenchError as exc:
        hooks.done()
        console.print(f"  [red]failed:[/] {markup_safe(exc)}")
        if verbose:
            print_traceback(exc)
        return [Outcome(plan.backbone, plan.task, "+".join(plan.protocols), "failed", error=str(exc))]
    except Exception as exc:  # noqa: BLE001 - one pair's bug must not stop the others
        hooks.done()
        if is_disk_full(exc):  # not a bug, and no log line can be written either
            raise DiskFullError(f"disk full ({getattr(exc, 'filename', None) or opts.results_dir}): free space under "
                                f"{opts.results_dir} and the cache ($RADIOBENCH_CACHE), then run the same command "
                                "again; finished results are kept") from None
        where = log.exception(f"{plan.backbone} on {plan.task}", exc)
        see = "traceback above" if verbose else (f"traceback in {where}" if where else "run with --verbose for the traceback")
        console.print(f"  [red]failed with an unexpected {type(exc).__name__}:[/] {markup_safe(exc)} ({markup_safe(see)})")
        if verbose:
            print_traceback(exc)
        return [Outcome(plan.backbone, plan.task, "+".join(plan.protocols), "failed",
                        error=f"{type(exc).__name__}: {exc} ({see})")]
