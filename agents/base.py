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
    angles: tuple[float, ...] | None = None
    """Angles of the spec's trainable gates, in gate order, that a gate-level proposer already
    optimized: training starts from them instead of random ones, so the trial scores the circuit
    the proposer found rather than another local minimum of it."""


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
    def tell(self, proposal_id: int, result: EvalResult, *, attrs: dict[str, Any] | None = None) -> None:
        """Record the finished evaluation of a proposal.

        `attrs` are extra facts the search loop knows about it: {"duplicate_of": id} when an
        identical spec's result was reused, {"retried": True} when it will be proposed again.
        """

    @abstractmethod
    def retry(self, proposal: Proposal) -> Proposal:
        """Propose the same candidate again, as a new proposal (after its worker died)."""

    def close(self, reason: str) -> None:
        """The search stops: finish whatever was asked and not told, recording `reason`."""

    @property
    def prunes(self) -> bool:
        """Whether `report` can stop an evaluation. When False, workers send no intermediate
        values during a trial (they come with its result), which spares a message per epoch."""
        return False

    def report(self, proposal_id: int, step: int, value: float) -> bool:
        """Take an intermediate objective value; return True to stop (prune) that evaluation."""
        return False
