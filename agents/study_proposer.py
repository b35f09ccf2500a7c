"""Proposers that record into an Optuna study: trial bookkeeping shared by every kind.

A proposal is an Optuna trial; how its candidate is chosen (a sampler, an RL policy) is the
subclass's business. Pruning, the trial record and failing trials left open are the same for
all, so samplers and the RL agent can write into one study side by side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import optuna

from qnas.agents.base import Proposer
from qnas.storage import flush_trial
from qnas.study import fail_interrupted, record_result
from qnas.training import due_reports

if TYPE_CHECKING:
    from qnas.evaluation import EvalResult
    from qnas.spec import CandidateSpec


class StudyProposer(Proposer):
    """Keeps the open trials of its proposals; subclasses implement `ask` and `retry`."""

    def __init__(self, study: optuna.Study, name: str) -> None:
        self.study = study
        self.name = name
        self._pending: dict[int, tuple[optuna.Trial, CandidateSpec, dict[str, Any]]] = {}

    def _open(self, trial: optuna.Trial, spec: CandidateSpec, attrs: dict[str, Any] | None = None) -> None:
        """Hold `trial` until its result is told; `attrs` are recorded with the result. Its
        parameters reach the database now, before it runs (the driver's cache holds them until
        the candidate is whole)."""
        flush_trial(self.study._storage, trial._trial_id)
        self._pending[trial.number] = (trial, spec, attrs or {})

    @property
    def prunes(self) -> bool:
        return not isinstance(self.study.pruner, optuna.pruners.NopPruner)

    def report(self, proposal_id: int, step: int, value: float) -> bool:
        if proposal_id not in self._pending:
            return False
        trial = self._pending[proposal_id][0]
        trial.report(value, step)
        return trial.should_prune()

    def tell(self, proposal_id: int, result: EvalResult, *, attrs: dict[str, Any] | None = None) -> None:
        trial, spec, own = self._pending.pop(proposal_id)
        # Without a pruner nothing reads intermediate values during the search: they are taken
        # from the result's training curve and written with its record, in one transaction.
        reports = {} if self.prunes else due_reports(result.history)
        record_result(
            self.study, trial, spec, result, proposer=self.name, attrs={**own, **(attrs or {})}, intermediate_values=reports
        )

    def close(self, reason: str) -> None:
        """Fail the trials still pending (the search was interrupted), so none stays RUNNING."""
        for trial, _, _ in self._pending.values():
            fail_interrupted(self.study, trial, reason)
        self._pending.clear()
