"""The proposer interface: `ask` for a candidate, `tell` its result, optionally `report` progress.

Mirrors Optuna's ask/tell and Ray Tune's `Searcher`: the boundary between whatever suggests
candidates (a sampler, an RL policy, random search) and the loop that evaluates them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qnas.spec import CandidateSpec

if TYPE_CHECKING:
    from qnas.evaluation import EvalResult


@dataclass(frozen=True)
class Proposal:
    """One candidate to evaluate. `id` is the proposer's handle for `tell` (an Optuna trial number)."""

    id: int
    spec: CandidateSpec
    params: dict[str, Any] = field(default_factory=dict)


class Proposer(ABC):
    """Suggests candidates and learns from their results.

    Subclasses implement `ask` and `tell`; `report` is an optional hook for pruning on
    intermediate values, like SB3's `BaseCallback._on_step`.
    """

    name: str = "proposer"

    @abstractmethod
    def ask(self) -> Proposal:
        """Return the next candidate to evaluate."""

    @abstractmethod
    def tell(self, proposal_id: int, result: EvalResult, *, duplicate_of: int | None = None) -> None:
        """Record the finished evaluation of a proposal.

        `duplicate_of` names the proposal whose identical spec was evaluated instead, when the
        search loop reused a result rather than training the same candidate twice.
        """

    def report(self, proposal_id: int, step: int, value: float) -> bool:
        """Take an intermediate objective value; return True to stop (prune) that evaluation."""
        return False
