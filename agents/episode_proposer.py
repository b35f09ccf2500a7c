"""Proposers whose candidate is the circuit one episode of the design environment built.

The episode's final circuit becomes the candidate, pruned first when it reaches the task's
threshold (`qnas.envs.pruning`: blocks whose removal keeps it there are dropped, so the study
gets the shorter circuit), then cleared of gate pairs that undo each other
(`qnas.gate_cancellation`: the ends of consecutive Pauli-rotation ladders). The trial records, under the proposer's name, the actions taken, the
pruned actions and the env's score, beside the same records as any other trial of the study.

The design environment scores circuits on the ideal simulator, where shots, mitigation and the
qubit layout change nothing, so the episode does not choose them: when the search space declares
calibration settings, the study's sampler draws them on the same trial (`sample_calibration`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import gymnasium as gym
import optuna

from qnas.agents.base import Proposal
from qnas.agents.study_proposer import StudyProposer
from qnas.envs import CIRCUIT_DESIGN_ID
from qnas.envs.pruning import PruneOnSuccess
from qnas.errors import QnasError
from qnas.gate_cancellation import cancel_inverse_pairs
from qnas.search_spaces import SearchSpace
from qnas.spec import CandidateSpec

GATE_LEVEL_KINDS = ("vqe", "state_prep")
"""Task kinds whose candidates are gate-level circuits, the ones a design-env episode builds."""


def design_env(agent: str, task: Any, space: SearchSpace, gate_set: str) -> PruneOnSuccess:
    """The design environment `--agent AGENT` builds its circuits in (pruned at the task's
    threshold); a task without gate-level circuits is refused, naming the proposers that fit it."""
    if task.kind not in GATE_LEVEL_KINDS:
        raise QnasError(
            f"--agent {agent} grows gate-level circuits ({', '.join(GATE_LEVEL_KINDS)} tasks); task {task.name!r} "
            f"is {task.kind}. Use --agent optuna (the default) or rl."
        )
    return PruneOnSuccess(gym.make(CIRCUIT_DESIGN_ID, task=task, space=space, gate_set=gate_set))


class EpisodeProposer(StudyProposer):
    """Turns an episode's last `info` into a proposal; subclasses implement `ask` with it."""

    def __init__(self, study: optuna.Study, name: str, space: SearchSpace | None) -> None:
        super().__init__(study, name)
        self.space = space

    def _propose_episode(self, info: dict[str, Any], attrs: dict[str, Any]) -> Proposal:
        """A trial for the circuit in `info` (its pruned form where `PruneOnSuccess` pruned it),
        recording `attrs` and the env's score under the proposer's name."""
        attrs = dict(attrs)
        if "pruned" in info:
            info = info["pruned"]
            attrs[f"{self.name}_pruned_actions"] = info["actions"]
        spec = CandidateSpec.from_dict(info["spec"])
        gates = cancel_inverse_pairs(spec.gates)
        if len(gates) < len(spec.gates):
            attrs[f"{self.name}_cancelled_gates"] = len(spec.gates) - len(gates)
            spec = replace(spec, gates=gates)
        trial = self.study.ask()
        calibration = self.space.sample_calibration(trial) if self.space is not None else None
        if calibration is not None:
            spec = replace(spec, calibration=calibration)
        self._open(trial, spec, {**attrs, f"{self.name}_env_score": info["score"]})
        angles = tuple(info.get("angles", ()))  # cancelled pairs are fixed gates: the trainable ones keep their order
        trainable = sum(gate.trainable for gate in spec.gates)
        return Proposal(id=trial.number, spec=spec, angles=angles if angles and len(angles) == trainable else None)

    def retry(self, proposal: Proposal) -> Proposal:
        """The same circuit again, as a new trial."""
        trial = self.study.ask()
        self._open(trial, proposal.spec, {"retry_of": proposal.id})
        return Proposal(id=trial.number, spec=proposal.spec, angles=proposal.angles)
