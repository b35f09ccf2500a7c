"""Live display of a decoder's training: budget spent and the running validation error rate.

On a terminal a rich bar redraws in place; elsewhere (logs, pipes) each validation prints one
line, so a log of a 10-minute run still shows the learning curve.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn


class TrainingProgress:
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._bar: Progress | None = None
        if self.console.is_terminal:
            self._bar = Progress(
                TextColumn("[bold]training"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                TextColumn("{task.description}"), TimeElapsedColumn(), console=self.console,
            )
            self._task = self._bar.add_task("validating soon", total=1.0)

    def __enter__(self) -> TrainingProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, fraction: float, figures: dict[str, float]) -> None:
        line = (
            f"step {int(figures['step']):,} | loss {figures['loss']:.4f} | validation error rate "
            f"{figures['validation_error_rate']:.4e} (best {figures['best']:.4e})"
        )
        if self._bar is not None:
            self._bar.update(self._task, completed=fraction, description=line)
        else:
            self.console.print(f"{100 * fraction:5.1f}% {line}", highlight=False, soft_wrap=True)
