"""Proposals from a trained RL policy: each is one episode of the policy in the design env
(`EpisodeProposer`: pruned at the threshold, calibration drawn by the study's sampler). The trial
carries `proposer=rl`, the actions taken (`rl_actions`), the pruned actions and the policy's
return."""

from __future__ import annotations

from typing import Any

import optuna

from qnas.agents.base import Proposal
from qnas.agents.episode_proposer import EpisodeProposer
from qnas.agents.rl_agent import AgentConfig, make_env, rollout
from qnas.envs.pruning import PruneOnSuccess
from qnas.errors import QnasError
from qnas.search_spaces import SearchSpace


class RLProposer(EpisodeProposer):
    """Rolls out `model` (a MaskablePPO) with sampled actions, so proposals vary between episodes."""

    def __init__(
        self, study: optuna.Study, model: Any, config: AgentConfig, seed: int = 0, space: SearchSpace | None = None
    ) -> None:
        super().__init__(study, "rl", space)
        self.model = model
        self.env = PruneOnSuccess(make_env(config))
        self._seed = seed
        self._episodes = 0

    def ask(self) -> Proposal:
        info, actions, episode_return = rollout(self.model, self.env, seed=self._seed * 100_003 + self._episodes)
        self._episodes += 1
        if "spec" not in info:
            raise QnasError("the RL policy ended an episode without placing a gate; train it longer (`qnas agent train`).")
        return self._propose_episode(info, {"rl_actions": actions, "rl_return": episode_return})
