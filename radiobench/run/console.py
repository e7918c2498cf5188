"""What a run shows on the terminal: progress bars, the pre-flight table, the summary, the overall ETA.

The run's behaviour (what is checked, run and skipped) is in :mod:`~radiobench.run.session`;
this module only draws it, through Rich. Text that comes from files or plugins goes through
:func:`~radiobench.io.terminal.markup_safe` before it is printed.
"""

from __future__ import annotations

from typing import Any

from radiobench.io.terminal import markup_safe
from radiobench.run.progress import Progress


class RichProgress(Progress):
    """Rich progress bars for extraction (images), fitting (seeds) and any other long step."""

    def __init__(self, console: Any):
        self.console = console
        self.progress: Any = None
        self._stages: dict[str, Any] = {}

    def _bar(self, label: str, total: int, unit: str) -> Any:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        if self.progress is None:
            self.progress = Progress(
                TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[unit]}"),
                TimeElapsedColumn(), TimeRemainingColumn(), console=self.console, transient=False,
            )
            self.progress.start()
        return self.progress.add_task(label, total=total, unit=unit)  # each bar its own unit (images, seeds, fields)

    def extraction(self, label: str, total: int) -> Any:
        bar = self._bar(f"extract {label}", total, "images")
        return lambda n: self.progress.advance(bar, n)

    def fitting(self, label: str, total: int) -> Any:
        bar = self._bar(f"fit {label}", total, "seeds")
        return lambda: self.progress.advance(bar, 1)

    def stage(self, label: str, total: int, unit: str) -> Any:
        """A bar for any other long step; asked again under the same label (a head's epochs, seed after
        seed) it starts over on the same line instead of stacking a bar per seed."""
        if total <= 0:  # nothing to do (every simulated field already made): no empty bar
            return lambda n=1: None
        if self.progress is not None and label in self._stages:
            bar = self._stages[label]
            self.progress.reset(bar, total=total)
        else:
            bar = self._stages[label] = self._bar(label, total, unit)
        return lambda n=1: self.progress.advance(bar, n)

    def done(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        self._stages.clear()

    def note(self, text: str) -> None:
        self.console.print(f"  [yellow]{markup_safe(text)}[/]")  # notes name files and plugins: text, not markup


def quiet_console() -> Any:
    """A console that prints nothing (torchrun ranks other than 0)."""
    from rich.console import Console

    return Console(quiet=True)


def print_preflight(console: Any, checked: Any, opts: Any) -> None:
    """One table, one row per pair; each missing thing gets a number there and one line below with its fix."""
    from rich.table import Table

    problems = [c for c in (*checked.weights.values(), *checked.data.values()) if not c.ok]
    number = {id(c): i for i, c in enumerate(problems, 1)}

    def cell(check: Any) -> str:
        return markup_safe(check.status) if check.ok else f"[red]{markup_safe(check.status)} {markup_safe(f'[{number[id(check)]}]')}[/]"

    table = Table("backbone", "task", "weights", "data", "results", "will run",
                  title=f"Pre-flight (data root {markup_safe(opts.data_root)}, results in {markup_safe(opts.results_dir)})")
    for plan in checked.pairs:
        existing = f"{plan.existing} of {len(plan.protocols)} exist" if plan.existing else ("none yet" if plan.protocols else "–")
        run = markup_safe(plan.will_run())
        table.add_row(plan.backbone, plan.task, cell(plan.weights) if plan.protocols else "–",
                      cell(plan.data) if plan.protocols else "–", existing, run if plan.runnable else f"[yellow]{run}[/]")
    console.print(table)
    print_problems(console, problems)


def print_problems(console: Any, problems: list[Any], first: int = 1) -> None:
    """``[n] fix`` for each missing thing, numbered from ``first``."""
    for i, check in enumerate(problems, first):
        console.print(f"[red]\\[{i}][/] {markup_safe(check.fix)}")


def print_summary(console: Any, outcomes: list[Any]) -> None:
    from rich.table import Table

    table = Table("backbone", "task", "protocol", "status", "main score", "result / error", title="Summary")
    table.columns[-1].overflow = "fold"  # a result path must be whole, never cut with an ellipsis
    for o in outcomes:
        colour = {"done": "green", "skipped": "cyan", "failed": "red"}[o.status]
        table.add_row(o.backbone, o.task, o.protocol, f"[{colour}]{o.status}[/]", o.main_score, o.error or str(o.path))
    console.print(table)


def eta(done: int, total: int, elapsed: float) -> str:
    """``pair 3 of 7, 4m10s so far, about 5m left``: the average pair so far times the pairs left (rough:
    pairs differ, and finished ones are skipped in seconds)."""
    text = f"pair {done + 1} of {total}"
    if done:
        text += f", {duration(elapsed)} so far, about {duration(elapsed / done * (total - done))} left"
    return text


def duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
