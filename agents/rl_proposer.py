"""Proposals from a trained RL policy: each is one episode of the policy in the design env.

The episode's final circuit becomes the candidate, pruned first when it reaches the task's
threshold (`qnas.envs.pruning`: blocks whose removal keeps it there are dropped, so the study
gets the shorter circuit). The trial carries `proposer=rl`, the actions taken, the pruned actions
and the policy's return, beside the same records as any other trial of the study.

The design environment scores circuits on the ideal simulator, where shots, mitigation and the
qubit layout change nothing, so the policy does not choose them: when the search space declares
calibration settings, the study's sampler draws them on the same trial (`sample_calibration`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import optuna

from qnas.agents.base import Proposal
from qnas.agents.rl_agent import AgentConfig, make_env, rollout
from qnas.agents.study_proposer import StudyProposer
from qnas.envs.pruning import PruneOnSuccess
from qnas.errors import QnasError
from qnas.search_spaces import SearchSpace
from qnas.spec import CandidateSpec


class RLProposer(StudyProposer):
    """Rolls out `model` (a MaskablePPO) with sampled actions, so proposals vary between episodes."""

    def __init__(
        self, study: optuna.Study, model: Any, config: AgentConfig, seed: int = 0, space: SearchSpace | None = None
    ) -> None:
        super().__init__(study, "rl")
        self.model = model
        self.space = space
        self.env = PruneOnSuccess(make_env(config))
        self._seed = seed
        self._episodes = 0

    def ask(self) -> Proposal:
        info, actions, episode_return = rollout(self.model, self.env, seed=self._seed * 100_003 + self._episodes)
        self._episodes += 1
        if "spec" not in info:
            raise QnasError("the RL policy ended an episode without placing a gate; train it longer (`qnas agent train`).")
        attrs = {"rl_actions": actions, "rl_return": episode_return}
        if "pruned" in info:
            info = info["pruned"]
            attrs["rl_pruned_actions"] = info["actions"]
        spec = CandidateSpec.from_dict(info["spec"])
        trial = self.study.ask()
        calibration = self.space.sample_calibration(trial) if self.space is not None else None
        if calibration is not None:
            spec = replace(spec, calibration=calibration)
        self._open(trial, spec, {**attrs, "rl_env_score": info["score"]})
        return Proposal(id=trial.number, spec=spec)

    def retry(self, proposal: Proposal) -> Proposal:
        """The same circuit again, as a new trial."""
        trial = self.study.ask()
        self._open(trial, proposal.spec, {"retry_of": proposal.id})
        return Proposal(id=trial.number, spec=proposal.spec)
