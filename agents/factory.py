"""`--agent`: build the proposer a search asks, by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna

from qnas.agents.base import Proposer
from qnas.agents.optuna_proposer import OptunaProposer
from qnas.errors import QnasError, not_allowed

AGENTS = ("optuna", "random", "rl", "hybrid")
"""optuna: the study's sampler (--sampler); random: random sampling; rl: a MaskablePPO policy;
hybrid: rl and the sampler taking turns on one study."""


def check_agent(name: str) -> str:
    if name not in AGENTS:
        raise QnasError(not_allowed("--agent", name, AGENTS))
    return name


def make_proposer(
    agent: str,
    *,
    study: optuna.Study,
    space: Any,
    space_name: str | None,
    task: Any,
    sampler: str,
    seed: int,
    policy: str | None,
    agent_timesteps: int,
    agent_dir: Path,
    n_envs: int,
) -> Proposer:
    """The proposer for `agent`. For rl/hybrid without `policy`, an agent is trained first
    (`agent_timesteps` steps on `n_envs` environments) and saved in `agent_dir`."""
    check_agent(agent)
    if agent in ("optuna", "random"):
        return OptunaProposer(study, space, task.required_qubits, "random" if agent == "random" else sampler)
    from qnas.agents.rl_agent import AgentConfig, load_agent, train_agent
    from qnas.agents.rl_proposer import RLProposer

    if policy is None:
        config = AgentConfig(task=task.config(), space=space_name, seed=seed, n_envs=n_envs, timesteps=agent_timesteps)
        train_agent(config, agent_dir)
        policy = str(agent_dir)
    model, config = load_agent(policy)
    if config.task != task.config():
        raise QnasError(
            f"the agent in {policy} was trained on task {config.task}, but this search is on {task.config()}; "
            "train one for this task (`qnas agent train`) or leave --policy out to train one now."
        )
    rl = RLProposer(study, model, config, seed=seed, space=space)
    if agent == "rl":
        return rl
    from qnas.agents.hybrid_proposer import HybridProposer

    return HybridProposer(rl, OptunaProposer(study, space, task.required_qubits, sampler))
