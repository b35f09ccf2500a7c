"""How long a study's searches took: the one wall-time definition that every command prints.

A study's wall time is the time its `qnas search` runs took, each from the call to `run_search`
(Ray workers starting included) to its return. Each run, a resumed one included, records its
start and its seconds on the study as it ends (`record_search_time`); the study's wall time is
the length of the union of those intervals. Runs one after another add up; drivers that searched
one study at the same time count their shared time once.

A run that recorded nothing (it ran before qnas recorded search times, it stopped on an error,
or its driver died or is still running) counts from its first trial's start to its last trial's
end, over its trials that lie outside every recorded run. `WallTime.describe` says when a figure
rests on that fallback.

`qnas search`'s closing line, `qnas report`, `qnas studies compare` and the dashboard notes all
read `study_wall_time` and print it with `format_seconds`, so they show the same figure.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import optuna

TIME_PREFIX = "search_time_"
"""Study attributes `search_time_XXXXXXXX`, one per run, each {"started": ISO time, "seconds": float}:
a key of its own per run, so drivers that end at once never overwrite each other's record."""


@dataclass(frozen=True)
class WallTime:
    """A study's wall time, with how much of it the fallback to trial times supplied."""

    seconds: float | None
    """None when no run recorded its time and no trial has ended."""
    untimed_s: float = 0.0
    """The part from trial times, for runs that recorded no time of their own."""
    recorded_runs: int = 0
    """How many runs recorded their time."""

    def describe(self) -> str:
        """'13 s', with a note when trial times stood in for a run's own."""
        text = format_seconds(self.seconds)
        if self.seconds is None or not self.untimed_s:
            return text
        if self.untimed_s >= self.seconds:
            return f"{text} (first trial start to last trial end: the search recorded no time of its own)"
        return f"{text} ({format_seconds(self.untimed_s)} of it from trial times: a search recorded no time of its own)"


def format_seconds(seconds: float | None) -> str:
    """Whole seconds below two minutes, then minutes to a tenth; '-' for none."""
    if seconds is None:
        return "-"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def record_search_time(study: optuna.Study, seconds: float) -> None:
    """Record that a search run on `study` just ended after `seconds` of wall time."""
    started = datetime.fromtimestamp(time.time() - seconds, UTC).isoformat()
    study.set_user_attr(f"{TIME_PREFIX}{secrets.token_hex(4)}", {"started": started, "seconds": seconds})


def study_wall_time(study: optuna.Study) -> WallTime:
    """The study's wall time, as the module docstring defines it."""
    runs = [_run(value) for key, value in study.user_attrs.items() if key.startswith(TIME_PREFIX)]
    untimed: dict[str | None, list[tuple[float, float]]] = {}
    for trial in study.get_trials(deepcopy=False):
        if trial.datetime_start is None or trial.datetime_complete is None:
            continue
        start, end = trial.datetime_start.timestamp(), trial.datetime_complete.timestamp()  # Optuna's local times
        if not any(low <= moment <= low + seconds for low, seconds in runs for moment in (start, end)):
            untimed.setdefault(trial.user_attrs.get("search_run"), []).append((start, end))
    spans = [(min(s for s, _ in trials), max(e for _, e in trials)) for trials in untimed.values()]
    if not runs and not spans:
        return WallTime(None)
    total = _union_length([*runs, *((start, end - start) for start, end in spans)])
    return WallTime(total, untimed_s=total - _union_length(runs), recorded_runs=len(runs))


def _run(record: dict[str, Any]) -> tuple[float, float]:
    """A run's record as (start, seconds)."""
    return datetime.fromisoformat(record["started"]).timestamp(), float(record["seconds"])


def _union_length(intervals: Iterable[tuple[float, float]]) -> float:
    """Seconds covered by at least one of `intervals`, each (start, seconds). Times count from the
    first start, so a lone interval's length is its seconds exactly, not rounded through a timestamp."""
    ordered = sorted(intervals)
    if not ordered:
        return 0.0
    origin = ordered[0][0]
    total, reach = 0.0, float("-inf")
    for start, seconds in ordered:
        start -= origin
        end = start + seconds
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total
