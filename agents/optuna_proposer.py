"""Proposals from Optuna samplers (TPE, random, NSGA-II), asked and told on a study.

The proposer draws each candidate define-by-run from the search space, so conditional
parameters (a gate only when there is an entangler) are sampled only where they apply.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import optuna

from qnas.agents.base import Proposal
from qnas.agents.rank_checked_pruner import RankCheckedPruner
from qnas.agents.study_proposer import StudyProposer
from qnas.errors import QnasError, not_allowed

if TYPE_CHECKING:
    from qnas.search_spaces import SearchSpace

SAMPLERS = ("tpe", "random", "nsga2")


def make_sampler(name: str, seed: int | None, n_trials: int) -> optuna.samplers.BaseSampler:
    """Build a sampler by name.

    TPE uses a constant liar so that proposals made while other trials run do not all land on
    the same point, and starts modelling after a quarter of the budget (at least 5 trials).
    """
    if name == "tpe":
        with warnings.catch_warnings():
            # multivariate/group are marked experimental, but they are what conditional spaces need.
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(
                seed=seed,
                constant_liar=True,
                multivariate=True,
                group=True,
                n_startup_trials=max(5, min(10, n_trials // 4)),
            )
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    raise QnasError(not_allowed("--sampler", name, SAMPLERS))


class OptunaProposer(StudyProposer):
    """Asks an Optuna study's sampler for candidates, drawn define-by-run from the search space."""

    def __init__(self, study: optuna.Study, space: SearchSpace, required_qubits: int | None, sampler_name: str) -> None:
        super().__init__(study, f"optuna:{sampler_name}")
        self.space = space
        self.required_qubits = required_qubits

    def ask(self) -> Proposal:
        trial = self.study.ask()
        try:
            spec = self.space.sample(trial, required_qubits=self.required_qubits)
        except Exception as exc:
            # Never leave a RUNNING trial behind: with a constant liar it would bias sampling for good.
            trial.set_user_attr("fail_reason", f"could not sample a candidate: {exc}")
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            raise
        self._open(trial, spec)
        return Proposal(id=trial.number, spec=spec, params=dict(trial.params))

    def retry(self, proposal: Proposal) -> Proposal:
        """Enqueue the same parameters; the next ask takes them (Optuna's `enqueue_trial`)."""
        self.study.enqueue_trial(proposal.params, user_attrs={"retry_of": proposal.id})
        return self.ask()


PRUNERS = ("percentile", "median", "none")
DEFAULT_PRUNERS = {"classification": "percentile", "vqe": "none", "state_prep": "none"}
"""The pruner a search gets by task kind when none is given. A classifier's validation accuracy
after some epochs ranks candidates; a VQE or state-preparation trial's energy or fidelity in the
middle of its angle optimization often does not: a circuit that starts slowly can end best, and
plain pruners discarded such ones (BENCHMARKS.md, "Pruning on VQE searches")."""
RANK_CHECKED_KINDS = ("vqe", "state_prep")
"""Task kinds whose pruning, when asked for, is rank-checked (`RankCheckedPruner`)."""


def make_pruner(name: str, task_kind: str = "classification") -> optuna.pruners.BasePruner:
    """Pruning on per-epoch objective values, after 5 finished trials; for VQE and state
    preparation only at steps where the study's values have ranked (`RankCheckedPruner`).

    `percentile` stops only trials in the bottom quarter of the finished trials at the same
    epoch, after 10 warm-up epochs: on a validation split of ~100 samples early accuracies are
    noisy, and the median pruner with 5 warm-up epochs pruned 13 of 20 quickstart trials.
    """
    pruner: optuna.pruners.BasePruner
    if name == "none":
        return optuna.pruners.NopPruner()
    if name == "percentile":
        pruner = optuna.pruners.PercentilePruner(75.0, n_startup_trials=5, n_warmup_steps=10, n_min_trials=3)
    elif name == "median":
        pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=5)
    else:
        raise QnasError(not_allowed("--pruner", name, PRUNERS))
    return RankCheckedPruner(pruner) if task_kind in RANK_CHECKED_KINDS else pruner
