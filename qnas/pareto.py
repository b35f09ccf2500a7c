"""The Pareto front of a multi-objective study, drawn as one labeled 2-D panel per pair of objectives.

A 3-D scatter hides which point is which and how far apart they are; flat panels with every
trial numbered read at a glance, for any number of objectives. The report embeds the same
drawing (`qnas report`), and `qnas studies plot NAME --out PNG` writes it alone.

Highlighted points are Pareto-optimal over all the study's objectives, so a highlighted point
may sit behind another in one panel and lead in another. An analytic candidate's shots
(`qnas.objectives.ANALYTIC_SHOTS`, 10^7) sit past the largest shot count, at a tick labeled
"analytic".
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from qnas.errors import QnasError
from qnas.objectives import ANALYTIC_LABEL, is_analytic_shots
from qnas.report import objective_names


@dataclass(frozen=True)
class ObjectiveScale:
    """Where one objective's values go on an axis, and how the axis is labeled (the report's
    optimization history puts analytic shots at the same place)."""

    name: str
    maximize: bool
    analytic_at: float | None
    """Position of analytic shots, past the largest shot count; None where no trial is analytic."""
    finite: tuple[float, float] | None
    """Lowest and highest values that are not analytic, when some are."""

    @classmethod
    def of(cls, name: str, direction: optuna.study.StudyDirection, values: list[float]) -> ObjectiveScale:
        maximize = direction == optuna.study.StudyDirection.MAXIMIZE
        finite = [v for v in values if not is_analytic_shots(name, v)]
        if len(finite) == len(values):
            return cls(name, maximize, None, None)
        if not finite:
            return cls(name, maximize, 0.0, None)
        low, high = min(finite), max(finite)
        return cls(name, maximize, high + max(0.3 * (high - low), 0.3 * abs(high), 1.0), (low, high))

    def position(self, value: float) -> float:
        return self.analytic_at if self.analytic_at is not None and is_analytic_shots(self.name, value) else value

    def dress(self, axis: Any, line: Any) -> None:
        """Label `axis` with the name and direction; give analytic its own tick past a dotted
        `line` (`ax.axvline` or `ax.axhline`) that parts it from the counted shots."""
        axis.set_label_text(f"{self.name} ({'maximize' if self.maximize else 'minimize'})")
        if self.analytic_at is None:
            return
        from matplotlib.ticker import MaxNLocator

        ticks: list[float] = []
        if self.finite is not None:
            low, high = self.finite
            ticks = [t for t in MaxNLocator(nbins=4).tick_values(low, high) if low <= t <= high] or [low]
            line((high + self.analytic_at) / 2, color="grey", linestyle=":", linewidth=1)
        axis.set_ticks([*ticks, self.analytic_at], labels=[f"{t:g}" for t in ticks] + [ANALYTIC_LABEL])


def pareto_axes(study: optuna.Study) -> Any:
    """Draw every finished trial in one panel per pair of objectives, each point labeled with its
    trial number, the Pareto-optimal ones highlighted; return the array of matplotlib Axes."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display is needed or assumed
    import matplotlib.pyplot as plt

    n = len(study.directions)
    if n < 2:
        raise QnasError(
            f"study {study.study_name!r} has one objective, so it has no Pareto front; run a search with "
            "--objectives, e.g. --objectives noisy_score,two_qubit_gates,shots."
        )
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not done:
        raise QnasError(f"study {study.study_name!r} has no finished trial yet; run `qnas search` on it first.")
    front = {t.number for t in study.best_trials}
    names = objective_names(study)
    scales = [ObjectiveScale.of(name, d, [t.values[i] for t in done]) for i, (name, d) in enumerate(zip(names, study.directions, strict=True))]
    pairs = list(itertools.combinations(range(n), 2))
    columns = 1 if len(pairs) == 1 else 2
    rows = math.ceil(len(pairs) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(8, 4.5 if rows == 1 else 3.6 * rows), squeeze=False)
    for ax, (i, j) in zip(axes.flat, pairs, strict=False):
        _panel(ax, done, front, (i, scales[i]), (j, scales[j]))
    spare = axes.flat[len(pairs):]
    for ax in spare:
        ax.axis("off")
    legend = {label: handle for ax in axes.flat for handle, label in zip(*ax.get_legend_handles_labels(), strict=True)}
    (spare[0] if len(spare) else axes.flat[0]).legend(legend.values(), legend.keys(), fontsize=8)
    fig.suptitle(f"Study {study.study_name}: {len(front)} Pareto-optimal of {len(done)} finished trials")
    fig.tight_layout()
    return axes


_STYLES = {
    True: {"color": "tab:red", "edgecolors": "black", "s": 60, "zorder": 3, "label": "Pareto-optimal"},
    False: {"color": "tab:blue", "alpha": 0.6, "s": 30, "zorder": 2, "label": "dominated"},
}


def _panel(ax: Any, trials: list[FrozenTrial], front: set[int], x: tuple[int, ObjectiveScale], y: tuple[int, ObjectiveScale]) -> None:
    """One pair of objectives: a point per trial, numbered. Trials on one spot share a label, the
    Pareto-optimal ones above the point in red, the others below it."""
    from matplotlib.ticker import MaxNLocator

    (i, xs), (j, ys) = x, y
    spots: dict[tuple[float, float, bool], list[int]] = {}
    for trial in trials:
        spot = (xs.position(trial.values[i]), ys.position(trial.values[j]), trial.number in front)
        spots.setdefault(spot, []).append(trial.number)
    for optimal, style in _STYLES.items():
        points = [(px, py) for px, py, on_front in spots if on_front == optimal]
        if points:
            ax.scatter([p[0] for p in points], [p[1] for p in points], **style)
    for (px, py, optimal), numbers in spots.items():
        ax.annotate(",".join(map(str, sorted(numbers))), (px, py), textcoords="offset points",
                    xytext=(5, 4) if optimal else (5, -11), fontsize=8, color=_STYLES[optimal]["color"])
    ax.margins(0.15)  # room for the labels of points at the edges
    for axis, scale, values in ((ax.xaxis, xs, [t.values[i] for t in trials]), (ax.yaxis, ys, [t.values[j] for t in trials])):
        line, limits = (ax.axvline, ax.set_xlim) if axis is ax.xaxis else (ax.axhline, ax.set_ylim)
        if all(float(v).is_integer() for v in values):  # gate counts, shots: no ticks between whole numbers
            axis.set_major_locator(MaxNLocator(integer=True))
            if min(values) == max(values):
                limits(values[0] - 1, values[0] + 1)
        scale.dress(axis, line)
    ax.grid(alpha=0.3)


def plot_pareto(study: optuna.Study, out: str | os.PathLike[str]) -> Path:
    """Write `pareto_axes`' drawing of `study` to the PNG `out`; return its path."""
    import matplotlib.pyplot as plt

    axes = pareto_axes(study)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        axes.flat[0].figure.savefig(path, dpi=100, bbox_inches="tight")
    finally:
        plt.close(axes.flat[0].figure)
    return path
