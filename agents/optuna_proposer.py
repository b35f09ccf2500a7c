"""Proposals from Optuna samplers (TPE, random, NSGA-II), asked and told on a study.

The proposer draws each candidate define-by-run from the search space, so conditional
parameters (a gate only when there is an entangler) are sampled only where they apply.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import optuna

from qnas.agents.base import Proposal, Proposer
from qnas.errors import QnasError, not_allowed
from qnas.spec import CandidateSpec
from qnas.study import record_result

if TYPE_CHECKING:
    from qnas.evaluation import EvalResult
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


class OptunaProposer(Proposer):
    """Asks an Optuna study for trials and tells it their results, pruning through its pruner."""

    def __init__(self, study: optuna.Study, space: SearchSpace, required_qubits: int | None, sampler_name: str) -> None:
        self.study = study
        self.space = space
        self.required_qubits = required_qubits
        self.name = f"optuna:{sampler_name}"
        self._pending: dict[int, tuple[optuna.Trial, CandidateSpec]] = {}
        # Without a pruner nothing reads intermediate values during the search, so they are
        # written with the trial's record, in its one transaction, instead of one commit each.
        self._deferred_reports: dict[int, dict[int, float]] | None = (
            {} if isinstance(study.pruner, optuna.pruners.NopPruner) else None
        )

    def ask(self) -> Proposal:
        trial = self.study.ask()
        try:
            spec = self.space.sample(trial, required_qubits=self.required_qubits)
        except Exception as exc:
            # Never leave a RUNNING trial behind: with a constant liar it would bias sampling for good.
            trial.set_user_attr("fail_reason", f"could not sample a candidate: {exc}")
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            raise
        self._pending[trial.number] = (trial, spec)
        return Proposal(id=trial.number, spec=spec, params=dict(trial.params))

    def report(self, proposal_id: int, step: int, value: float) -> bool:
        if proposal_id not in self._pending:
            return False
        if self._deferred_reports is not None:
            self._deferred_reports.setdefault(proposal_id, {})[step] = value
            return False
        trial = self._pending[proposal_id][0]
        trial.report(value, step)
        return trial.should_prune()

    def tell(self, proposal_id: int, result: EvalResult, *, attrs: dict[str, Any] | None = None) -> None:
        trial, spec = self._pending.pop(proposal_id)
        reports = self._deferred_reports.pop(proposal_id, {}) if self._deferred_reports is not None else {}
        record_result(self.study, trial, spec, result, proposer=self.name, attrs=attrs, intermediate_values=reports)

    def close(self, reason: str) -> None:
        """Fail the trials still pending (the search was interrupted), so none stays RUNNING."""
        for trial, _ in self._pending.values():
            trial.set_user_attr("interrupted", True)
            trial.set_user_attr("fail_reason", f"interrupted: {reason}")
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        self._pending.clear()

    def retry(self, proposal: Proposal) -> Proposal:
        """Enqueue the same parameters; the next ask takes them (Optuna's `enqueue_trial`)."""
        self.study.enqueue_trial(proposal.params, user_attrs={"retry_of": proposal.id})
        return self.ask()


PRUNERS = ("percentile", "median", "none")


def make_pruner(name: str) -> optuna.pruners.BasePruner:
    """Pruning on per-epoch objective values, after 5 finished trials.

    The default, `percentile`, stops only trials in the bottom quarter of the finished trials at
    the same epoch, after 10 warm-up epochs: on a validation split of ~100 samples early
    accuracies are noisy, and the median pruner with 5 warm-up epochs pruned 13 of 20 quickstart
    trials.
    """
    if name == "percentile":
        return optuna.pruners.PercentilePruner(75.0, n_startup_trials=5, n_warmup_steps=10, n_min_trials=3)
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=5)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise QnasError(not_allowed("--pruner", name, PRUNERS))
