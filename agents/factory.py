"""`--agent`: build the proposer a search asks, by name."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import optuna

from qnas.agents.base import Proposer
from qnas.agents.optuna_proposer import OptunaProposer
from qnas.errors import QnasError, not_allowed
from qnas.search_spaces import SPACE_NAMES, SearchSpace, load_space
from qnas.tasks import make_task
from qnas.warm_start import WarmStart

AGENTS = ("optuna", "random", "rl", "hybrid", "adapt", "beam", "shared")
"""optuna: the study's sampler (--sampler); random: random sampling; rl: a MaskablePPO policy;
hybrid: rl and the sampler taking turns on one study; adapt: circuits grown from the space's
operator pool by a gradient screen; beam: circuits grown block by block, fewest CNOTs first, by a
beam search over the space's gates (both gate-level tasks); shared: classifiers scored with the
weights of one SuperCircuit, checked against training, then the best trained (classification)."""


def check_agent(name: str) -> str:
    if name not in AGENTS:
        raise QnasError(not_allowed("--agent", name, AGENTS))
    return name


def make_proposer(
    agent: str,
    *,
    study: optuna.Study,
    space: SearchSpace,
    task: Any,
    sampler: str,
    seed: int,
    policy: str | None,
    agent_timesteps: int,
    agent_dir: Path,
    n_envs: int,
    reuse_trained: bool = False,
    warm_start: WarmStart | None = None,
) -> Proposer:
    """The proposer for `agent`. For rl/hybrid without `policy`, an agent is trained first
    (`agent_timesteps` steps on `n_envs` environments) and saved in `agent_dir`; with
    `reuse_trained` (a resumed search), one that finished training there is loaded instead.
    `warm_start`: an optuna/random proposer's first ask takes its parameters (enqueued in
    `study`); adapt places its rotations first; rl and hybrid transfer through `policy` instead."""
    check_agent(agent)
    if agent in ("optuna", "random"):
        if warm_start is not None and warm_start.params:
            study.enqueue_trial(warm_start.params, user_attrs={"warm_start": warm_start.source})
        return OptunaProposer(study, space, task.required_qubits, "random" if agent == "random" else sampler)
    if agent == "adapt":
        from qnas.agents.adapt_proposer import AdaptProposer

        return AdaptProposer(study, task, space, seed, warm_start.actions if warm_start else ())
    if agent == "shared":
        from qnas.agents.shared_proposer import SharedProposer

        if warm_start is not None:
            raise QnasError("--agent shared starts from its SuperCircuit and its check, and takes no warm start; "
                            "scan with --agent optuna or random.")
        return SharedProposer(study, space, task, sampler, seed)
    if agent == "beam":
        from qnas.agents.beam_proposer import BeamProposer

        if warm_start is not None:
            raise QnasError("--agent beam starts every circuit from its rotation layer and takes no warm start; "
                            "scan with --agent adapt, optuna or random.")
        return BeamProposer(study, task, space, seed)
    from qnas.agents.rl_agent import WEIGHTS_FILE, AgentConfig, load_agent, train_agent
    from qnas.agents.rl_proposer import RLProposer

    if policy is None:
        if not (reuse_trained and (agent_dir / WEIGHTS_FILE).is_file()):
            config = AgentConfig(
                task=task.config(), space=_space_argument(space, agent_dir), seed=seed, n_envs=n_envs, timesteps=agent_timesteps
            )
            print(f"training the {agent} agent first: {agent_timesteps} steps on {n_envs} environment(s), into {agent_dir}",
                  file=sys.stderr, flush=True)
            train_agent(config, agent_dir, progress_bar=sys.stderr.isatty())
            print(f"agent saved in {agent_dir} (learning curve: {agent_dir / 'learning_curve.png'}); reuse it with "
                  f"--policy {agent_dir}", file=sys.stderr, flush=True)
        policy = str(agent_dir)
    model, config = load_agent(policy)
    if make_task(config.task).config() != task.config():  # both with every default filled in
        raise QnasError(
            f"the agent in {policy} was trained on task {config.task}, but this search is on {task.config()}; "
            "train one for this task (`qnas agent train`) or leave --policy out to train one now."
        )
    rl = RLProposer(study, model, config, seed=seed, space=space)
    if agent == "rl":
        return rl
    from qnas.agents.hybrid_proposer import HybridProposer

    return HybridProposer(rl, OptunaProposer(study, space, task.required_qubits, sampler))


def _space_argument(space: SearchSpace, agent_dir: Path) -> str:
    """How the agent's environments load `space`: a shipped space by name, any other from a copy of
    its YAML in the agent's folder (its file may be gone, or edited, when a study resumes)."""
    if space.name in SPACE_NAMES and load_space(space.name).sha256 == space.sha256:
        return space.name
    agent_dir.mkdir(parents=True, exist_ok=True)
    path = agent_dir / "space.yaml"
    path.write_text(space.yaml, encoding="utf-8")
    return str(path)
