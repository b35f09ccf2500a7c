"""MaskablePPO's policy with the gradient screen as a prior on its action logits (issue 21).

Why: an untrained policy's logits are near 0 (SB3 initializes the action head with gain 0.01),
so its first episodes are uniform random search, and on the hard tier random search needs
hundreds of full evaluations. The environment's `screen_observation=True` appends each action's
screened gradient s in [0, 1] (the largest is 1) to the observation. This policy adds
`prior_weight * log(s + PRIOR_FLOOR)` to the logits, so the first episode already samples
roughly as ADAPT ranks: in proportion to s^prior_weight (a flat rotation is about
1e-3^prior_weight as likely as the steepest). Training then shifts the logits from there. The prior is part of the policy:
it holds in the rollouts, in PPO's updates and in `predict`.
"""

from __future__ import annotations

from typing import Any

import torch as th
from sb3_contrib.common.maskable.distributions import MaskableDistribution
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy

PRIOR_FLOOR = 1e-3
"""Added to s before the log, so a rotation that the screen sees as flat stays possible."""
DEFAULT_PRIOR_WEIGHT = 2.0
"""An untrained policy samples in proportion to s^2: on LiH-6 at Hartree-Fock, 8 equally steep
strings of one double excitation then hold most of the probability, where s^1 left half of it to
the many rotations with small gradients."""


class ScreenPriorPolicy(MaskableActorCriticPolicy):
    """`MaskableActorCriticPolicy` whose logits get the screen's log-prior from the observation's
    last `action_space.n` entries (`CircuitDesignEnv(screen_observation=True)`)."""

    def __init__(self, *args: Any, prior_weight: float = DEFAULT_PRIOR_WEIGHT, **kwargs: Any) -> None:
        self.prior_weight = prior_weight
        self._prior: th.Tensor | None = None
        super().__init__(*args, **kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._get_constructor_parameters(), "prior_weight": self.prior_weight}

    def extract_features(self, obs: th.Tensor, features_extractor: Any = None) -> Any:  # type: ignore[override]
        self._remember_prior(obs)
        return super().extract_features(obs, features_extractor)

    def get_distribution(self, obs: Any, action_masks: Any = None) -> MaskableDistribution:
        self._remember_prior(obs)  # the parent's get_distribution bypasses extract_features' override
        return super().get_distribution(obs, action_masks)

    def _remember_prior(self, obs: th.Tensor) -> None:
        screen = obs[..., -int(self.action_space.n):].float()
        self._prior = self.prior_weight * th.log(screen + PRIOR_FLOOR)

    def _get_action_dist_from_latent(self, latent_pi: th.Tensor) -> MaskableDistribution:
        logits = self.action_net(latent_pi)
        if self._prior is not None:
            logits = logits + self._prior
        return self.action_dist.proba_distribution(action_logits=logits)
