"""Can two proposers be told apart? Evaluations to the target, compared across seeds (issue 20, point 6).

Each run (one seed) gives the evaluations it spent until it first reached the target, or None
when it never did within the budget. Such a run is censored: it is known only to need more than
the budget, so it counts as `budget + 1`, a value above every success. Medians and rank tests
are right about censored runs as long as fewer than half are censored (the median) or however
many (ranks: the censored runs tie with each other, above every success), which a mean is not.

Not named `statistics`: this folder is on `sys.path` when a benchmark runs, and would hide the
standard library's module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from scipy.stats import fisher_exact, mannwhitneyu

BOOTSTRAP_RESAMPLES = 10_000


def censored(first_success: Sequence[float | None], budget: int) -> np.ndarray:
    """Evaluations to the target per seed, a run that never reached it counting as `budget + 1`."""
    if not first_success:
        raise ValueError("no runs to compare: give at least one seed's evaluations to the target")
    over = [v for v in first_success if v is not None and not 0 < v <= budget]
    if over:
        raise ValueError(f"evaluations to the target {over} must lie in 1..{budget} (the budget); "
                         "a run that never reached it is None")
    return np.array([budget + 1 if v is None else v for v in first_success], dtype=float)


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Proposer X against a baseline on one task: the ratio of their median evaluations to the
    target (below 1: X reaches it sooner), its bootstrap 95% interval, and the one-sided
    Mann-Whitney p-value of "X needs fewer evaluations than the baseline"."""

    ratio: float
    low: float
    high: float
    p_value: float
    success_p_value: float
    """One-sided Fisher exact p of "X reaches the target in more runs": what is left to compare
    where most runs of both are censored and the medians say nothing."""
    censored: int
    baseline_censored: int
    runs: int
    baseline_runs: int

    def interval(self) -> str:
        """The ratio and its interval: "0.11 [0.10, 0.20]"."""
        return f"{_ratio(self.ratio)} [{_ratio(self.low)}, {_ratio(self.high)}]"

    def row(self) -> str:
        """Table cells: ratio [interval] | p | censored runs (X, baseline) | success p."""
        return (f"{self.interval()} | {self.p_value:.3g} | "
                f"{self.censored}/{self.runs}, {self.baseline_censored}/{self.baseline_runs} | {self.success_p_value:.3g}")


def _ratio(value: float) -> str:
    """Two decimals, or two significant digits below 0.01 (a ratio to a baseline censored at a large budget)."""
    return f"{value:.2f}" if value >= 0.01 or value == 0 else f"{value:.1e}"


def median_ratio_interval(
    x: np.ndarray, y: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> tuple[float, float, float]:
    """median(x) / median(y) and its percentile-bootstrap 95% interval, resampling the seeds of
    each sample on their own (the two proposers' runs are independent)."""
    rng = np.random.default_rng(seed)
    x_medians = np.median(rng.choice(x, size=(resamples, x.size), replace=True), axis=1)
    y_medians = np.median(rng.choice(y, size=(resamples, y.size), replace=True), axis=1)
    low, high = np.percentile(x_medians / y_medians, [2.5, 97.5])
    return float(np.median(x) / np.median(y)), float(low), float(high)


def compare(
    first_success: Sequence[float | None], baseline: Sequence[float | None], budget: int, seed: int = 0
) -> Comparison:
    """Proposer X's runs (`first_success`) against the baseline's, both censored at `budget`."""
    x, y = censored(first_success, budget), censored(baseline, budget)
    ratio, low, high = median_ratio_interval(x, y, seed=seed)
    p_value = float(mannwhitneyu(x, y, alternative="less").pvalue)
    censored_x, censored_y = int(np.sum(x > budget)), int(np.sum(y > budget))
    successes = [[x.size - censored_x, censored_x], [y.size - censored_y, censored_y]]
    success_p = float(fisher_exact(successes, alternative="greater").pvalue)
    return Comparison(ratio, low, high, p_value, success_p, censored_x, censored_y, x.size, y.size)
