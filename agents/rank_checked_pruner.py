"""A pruner that stops a trial only at steps where intermediate values have ranked final ones.

A pruner compares a running trial's value at a step with other trials' values at that step. That
is sound only where a value at that step predicts the final value. For a classifier's validation
accuracy it mostly does. For a VQE trial's energy in the middle of its angle optimization it
often does not: a circuit that starts slowly can end best. On 6-qubit spin chains, Optuna's
percentile and median pruners stopped trials that would have finished best
(BENCHMARKS.md, "Pruning on VQE searches").

`RankCheckedPruner` asks the study first. It takes the finished trials that reported at this
step, and computes the Spearman rank correlation between their values at the step and their
final values. The inner pruner decides only where that correlation is at least
`min_correlation`, over at least `min_trials` trials. Elsewhere the trial goes on.
"""

from __future__ import annotations

import math

import optuna
from optuna.trial import FrozenTrial, TrialState
from scipy.stats import spearmanr

MIN_CORRELATION = 0.8
MIN_TRIALS = 10


class RankCheckedPruner(optuna.pruners.BasePruner):
    """`inner` decides, at steps where the study's finished trials show that values rank."""

    def __init__(
        self, inner: optuna.pruners.BasePruner, min_correlation: float = MIN_CORRELATION, min_trials: int = MIN_TRIALS
    ) -> None:
        self.inner = inner
        self.min_correlation = min_correlation
        self.min_trials = min_trials

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or self.step_correlation(study, step) < self.min_correlation:
            return False
        return self.inner.prune(study, trial)

    def step_correlation(self, study: optuna.Study, step: int) -> float:
        """Spearman correlation of the finished trials' values at `step` with their final values;
        -1 where fewer than `min_trials` reported at that step, or their ranks are undefined."""
        pairs = [
            (t.intermediate_values[step], t.value)
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if step in t.intermediate_values and t.value is not None
        ]
        if len(pairs) < self.min_trials:
            return -1.0
        at_step, final = zip(*pairs, strict=True)
        correlation = float(spearmanr(at_step, final).statistic)
        return correlation if math.isfinite(correlation) else -1.0
