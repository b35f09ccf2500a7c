"""A finished trial of one study that a search of another task starts from (`qnas scan`).

Why: neighbouring points of a potential-energy curve want nearly the same circuit, so a point's
search need not start blind. The next point's proposer takes the trial as its first idea: an
Optuna proposer's first ask gets its parameters (Optuna's `enqueue_trial`), and an `adapt`
proposer places its rotations first in every episode, then screens on from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from optuna.trial import FrozenTrial


@dataclass(frozen=True)
class WarmStart:
    """Where it came from (study, trial number), its Optuna parameters and the design actions
    (rotation labels) of its circuit, pruned where the trial was."""

    study: str
    trial: int
    params: dict[str, Any] = field(default_factory=dict)
    actions: tuple[str, ...] = ()

    @classmethod
    def from_trial(cls, study: str, trial: FrozenTrial) -> WarmStart:
        attrs = trial.user_attrs
        actions = attrs.get("adapt_pruned_actions") or attrs.get("adapt_actions") or ()
        return cls(study, trial.number, dict(trial.params), tuple(a for a in actions if a != "stop"))

    @property
    def source(self) -> str:
        """How a trial records it: `study#trial`."""
        return f"{self.study}#{self.trial}"
