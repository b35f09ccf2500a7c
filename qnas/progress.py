"""Live status of a search: trials done, running, pruned and failed, and the best so far.

On a terminal a progress bar redraws in place; elsewhere (CI logs, `ray job logs`) the same
facts come as one line per finished trial, so the log reads well after the fact too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@dataclass
class SearchCounts:
    total: int
    done: int = 0
    running: int = 0
    ok: int = 0
    pruned: int = 0
    failed: int = 0
    duplicates: int = 0
    retried: int = 0
    best: float | None = None
    best_trial: int | None = None
    failure_reasons: Counter[str] = field(default_factory=Counter)
    """Why attempts failed, retried ones included: the first line of each reason, with its count."""

    @property
    def failed_attempts(self) -> int:
        """Failed trials plus the attempts lost to a dead worker and run again."""
        return self.failed + self.retried

    def failures_line(self) -> str:
        """How many attempts failed and why, commonest reason first; "" when none failed."""
        if not self.failed_attempts:
            return ""
        reasons = "; ".join(f"{count} x {reason}" for reason, count in self.failure_reasons.most_common())
        retried = f", {self.retried} of them retried" if self.retried else ""
        return f"{self.failed_attempts} failed attempt{'s' * (self.failed_attempts != 1)}{retried}: {reasons}"

    def status_line(self, metric: str) -> str:
        best = "-" if self.best is None else f"{self.best:.4g} (trial {self.best_trial})"
        return (
            f"running {self.running} | ok {self.ok} | pruned {self.pruned} | failed {self.failed} | "
            f"reused {self.duplicates} | retried {self.retried} | best {metric} {best}"
        )


REASON_CHARS = 160
"""A failure reason in a summary is cut to this length: tracebacks and long messages stay in the study."""


def first_line(reason: str) -> str:
    """The first line of a failure reason, short enough for a summary line."""
    lines = reason.strip().splitlines()
    line = lines[0] if lines else "no reason recorded"
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 3] + "..."


class SearchProgress:
    """Tracks counts and renders them; the search loop calls `started`, `finished` and `close`."""

    def __init__(self, total: int, metric: str, direction: str, console: Console | None = None) -> None:
        self.counts = SearchCounts(total=total)
        self.metric = metric
        self._better = (lambda a, b: a > b) if direction == "maximize" else (lambda a, b: a < b)
        self.console = console or Console(stderr=True)
        self._bar: Progress | None = None
        if self.console.is_terminal:
            self._bar = Progress(
                TextColumn("[bold]trials"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=self.console,
            )
            self._task = self._bar.add_task(self.counts.status_line(metric), total=total)
            self._bar.start()

    def started(self) -> None:
        self.counts.running += 1
        self._refresh()

    def finished(self, trial: int, status: str, value: float | None, summary: str, reason: str = "", reused: bool = False) -> None:
        c = self.counts
        c.done += 1
        c.running = max(0, c.running - (0 if reused else 1))
        c.duplicates += reused
        if status == "ok":
            c.ok += 1
            if value is not None and (c.best is None or self._better(value, c.best)):
                c.best, c.best_trial = value, trial
        elif status == "pruned":
            c.pruned += 1
        else:
            c.failed += 1
            c.failure_reasons[first_line(reason)] += 1
        shown = "" if value is None else f" {self.metric}={value:.4g}"
        note = " (identical spec, result reused)" if reused else ""
        why = f": {reason}" if reason and status != "ok" else ""
        self.console.print(
            f"[{c.done}/{c.total}] trial {trial} {status}{shown}{note}{why} | {summary}", highlight=False, soft_wrap=True
        )
        if self._bar is None:
            self.console.print(f"        {c.status_line(self.metric)}", highlight=False, soft_wrap=True)
        self._refresh()

    def retrying(self, trial: int, summary: str, reason: str) -> None:
        """A trial lost to its worker: recorded as failed, proposed again, not counted as done."""
        self.counts.running = max(0, self.counts.running - 1)
        self.counts.retried += 1
        self.counts.failure_reasons[first_line(reason)] += 1
        self.console.print(f"trial {trial} failed: {reason}; retrying it as a new trial | {summary}", highlight=False, soft_wrap=True)
        self._refresh()

    def _refresh(self) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=self.counts.done, description=self.counts.status_line(self.metric))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
