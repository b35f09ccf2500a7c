"""Two proposers taking turns on one study, e.g. the RL agent and TPE (`--agent hybrid`).

Both write into the same study, so TPE models the RL agent's trials too, and the study shows
which proposer found what (the `proposer` user attribute).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qnas.agents.base import Proposal, Proposer

if TYPE_CHECKING:
    from qnas.evaluation import EvalResult


class HybridProposer(Proposer):
    """Alternates asks between `first` and `second`; results go back to whichever proposed."""

    name = "hybrid"

    def __init__(self, first: Proposer, second: Proposer) -> None:
        self._turns = (first, second)
        self._asked = 0
        self._owner: dict[int, Proposer] = {}

    def ask(self) -> Proposal:
        proposer = self._turns[self._asked % 2]
        self._asked += 1
        proposal = proposer.ask()
        self._owner[proposal.id] = proposer
        return proposal

    def tell(self, proposal_id: int, result: EvalResult, *, attrs: dict[str, Any] | None = None) -> None:
        self._owner.pop(proposal_id).tell(proposal_id, result, attrs=attrs)

    def retry(self, proposal: Proposal) -> Proposal:
        proposer = self._owner[proposal.id]
        again = proposer.retry(proposal)
        self._owner[again.id] = proposer
        return again

    @property
    def prunes(self) -> bool:
        return any(proposer.prunes for proposer in self._turns)

    def report(self, proposal_id: int, step: int, value: float) -> bool:
        owner = self._owner.get(proposal_id)
        return owner.report(proposal_id, step, value) if owner else False

    def close(self, reason: str) -> None:
        for proposer in self._turns:
            proposer.close(reason)
        self._owner.clear()
