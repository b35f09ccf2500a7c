"""SurrogateSampler: an Optuna sampler for circuits designed slot by slot, that learns from every
scored prefix (issue 21, point 3).

Why: TPE models each slot's parameter on its own and sees only the episode's return, so on the
design env it stays close to random search. Here a trial picks an action per slot (`slot0`,
`slot1`, ... integer parameters, as `benchmarks/episode_trials.py` plays them) and reports the
score of the circuit after each step as intermediate value k. Every finished trial then gives
one training example per prefix. A ridge regression over the prefix's bag of actions and of
consecutive action pairs predicts the score of each possible next action. The sampler takes the
best prediction, perturbed by noise of the fit's residual size, so that near-ties are explored
(a cheap Thompson sampling). The first `n_startup_trials` trials are random, as in TPE.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, IntDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.trial import FrozenTrial, TrialState

SLOT = "slot"
PAIR_BUCKETS = 512
"""Consecutive action pairs are hashed into this many features."""
RIDGE = 1.0


class SurrogateSampler(BaseSampler):
    """Picks slot k's action by a ridge model of prefix scores, fitted on the study's finished trials."""

    def __init__(self, n_startup_trials: int = 10, seed: int | None = None) -> None:
        self.n_startup_trials = n_startup_trials
        self._random = RandomSampler(seed=seed)
        self._rng = np.random.default_rng(seed)
        self._fitted: tuple[int, int] | None = None
        """(finished trials, actions) of the model in use: refitted when either changes."""
        self._weights = np.zeros(0)
        self._noise = 0.0

    def reseed_rng(self) -> None:
        self._random.reseed_rng()
        self._rng = np.random.default_rng()

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return {}

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        slot = _slot(param_name)
        finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        if slot is None or not isinstance(param_distribution, IntDistribution) or len(finished) < self.n_startup_trials:
            return self._random.sample_independent(study, trial, param_name, param_distribution)
        n_actions = param_distribution.high + 1
        self._fit(finished, n_actions)
        prefix = [trial.params[f"{SLOT}{i}"] for i in range(slot)]
        candidates = np.stack([_features([*prefix, action], n_actions) for action in range(n_actions)])
        predicted = candidates @ self._weights + self._rng.normal(0.0, self._noise, n_actions)
        return int(np.argmax(predicted))

    def _fit(self, trials: Sequence[FrozenTrial], n_actions: int) -> None:
        if self._fitted == (len(trials), n_actions):
            return
        rows, targets = [], []
        for trial in trials:
            actions = [trial.params[f"{SLOT}{i}"] for i in range(len(trial.params)) if f"{SLOT}{i}" in trial.params]
            for step, score in trial.intermediate_values.items():
                if step < len(actions):
                    rows.append(_features(actions[: step + 1], n_actions))
                    targets.append(score)
        self._fitted = (len(trials), n_actions)
        if not rows:
            return
        x, y = np.stack(rows), np.asarray(targets)
        gram = x.T @ x + RIDGE * np.eye(x.shape[1])
        self._weights = np.linalg.solve(gram, x.T @ y)
        self._noise = float(np.std(y - x @ self._weights))


def _slot(param_name: str) -> int | None:
    suffix = param_name.removeprefix(SLOT)
    return int(suffix) if suffix != param_name and suffix.isdigit() else None


def _features(actions: Sequence[int], n_actions: int) -> np.ndarray:
    """Bag of actions, bag of hashed consecutive pairs, and a bias."""
    features = np.zeros(n_actions + PAIR_BUCKETS + 1)
    for action in actions:
        features[action] += 1.0
    for first, second in zip(actions, actions[1:], strict=False):
        features[n_actions + (first * n_actions + second) % PAIR_BUCKETS] += 1.0
    features[-1] = 1.0
    return features
