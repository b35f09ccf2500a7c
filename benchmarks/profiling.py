"""Phase timers shared by the benchmarks' `--profile` flags: seconds per named phase, and the table
that prints them with each phase's share of the total (largest first)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


class PhaseTimers:
    """Seconds per phase; the quantum block's forward is timed with module hooks."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._quantum_started = 0.0

    def watch(self, quantum: nn.Module) -> None:
        """Time `quantum`'s forward passes (hooks return None, so outputs pass through unchanged)."""

        def before(*_: object) -> None:
            self._quantum_started = time.perf_counter()

        def after(*_: object) -> None:
            self.add("forward: quantum block", self._quantum_started)

        quantum.register_forward_pre_hook(before)
        quantum.register_forward_hook(after)

    def add(self, phase: str, started: float) -> float:
        """Charge the time since `started` to `phase`; return now, the next phase's start."""
        now = time.perf_counter()
        self.seconds[phase] += now - started
        return now

    @contextmanager
    def stage(self, phase: str) -> Iterator[None]:
        """Charge the time spent inside the `with` block to `phase`."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(phase, started)


def print_phases(title: str, seconds: dict[str, float], total: float, rest: str | None = "rest") -> None:
    """A markdown table of `seconds` by phase, largest first, then the unattributed time as `rest`
    (None: `seconds` covers `total`)."""
    print(f"\n{title}: {total * 1e3:,.1f} ms in all")
    print("| phase | ms | share |")
    print("|---|---|---|")
    for phase, value in sorted(seconds.items(), key=lambda item: -item[1]):
        print(f"| {phase} | {value * 1e3:,.1f} | {value / total:.0%} |")
    if rest is not None:
        left = total - sum(seconds.values())
        print(f"| {rest} | {left * 1e3:,.1f} | {left / total:.0%} |")
