"""The RL agent: MaskablePPO (sb3-contrib), or DQN (stable-baselines3), trained on
`qnas/CircuitDesign-v0`, saved and loaded.

DQN is the off-policy agent of the QAS literature (Ostaszewski et al. 2021, CRLQAS 2024): its
replay buffer keeps every scored circuit for many updates, where PPO learns from each rollout
once. It has no action masks: while training, an illegal action costs a step and the env's
`invalid_cost`, as in those papers; when it proposes, it picks among the legal actions only.

An agent folder holds:

- `agent.json`: what it was trained on (task, space, environment settings), its PPO settings,
  seed and timesteps; `qnas agent propose` and `qnas search --policy` rebuild the agent from it;
- `agent.zip`: stable-baselines3's own save (`MaskablePPO.load` reads it, for users who trust
  the file); qnas reads only its weights, with `set_parameters` (`torch.load(weights_only=True)`),
  and never unpickles the zip's data section;
- `checkpoints/` (SB3 CheckpointCallback), `tensorboard/` (`tensorboard --logdir`), `monitor/`
  (per-environment episode returns) and `learning_curve.png`.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from qnas import __version__
from qnas.envs import CIRCUIT_DESIGN_ID
from qnas.errors import QnasError, not_allowed

AGENT_FILE = "agent.json"
WEIGHTS_FILE = "agent.zip"
DEFAULT_PPO = {"n_steps": 256, "batch_size": 64, "learning_rate": 3e-4, "gamma": 0.99, "ent_coef": 0.01}
"""Short rollouts: episodes are at most ~20 steps, and every step costs an angle optimization."""
DEFAULT_DQN = {
    "learning_rate": 1e-3, "buffer_size": 50_000, "learning_starts": 64, "batch_size": 32, "train_freq": 1,
    "target_update_interval": 250, "exploration_fraction": 0.5, "exploration_final_eps": 0.05, "gamma": 0.99,
}
"""Updates from the first 64 steps on, one per step: scored circuits are few and dear; epsilon
falls from 1 to 0.05 over half the training."""
ALGORITHMS = ("ppo", "dqn")


@dataclass(frozen=True)
class AgentConfig:
    """Everything needed to rebuild the agent's environment and policy."""

    task: dict[str, Any]
    space: str | None = None
    env: dict[str, Any] = field(default_factory=dict)
    ppo: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_PPO))
    algorithm: str = "ppo"
    dqn: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_DQN))
    seed: int = 0
    n_envs: int = 1
    timesteps: int = 0
    qnas_version: str = __version__

    @classmethod
    def read(cls, folder: str | os.PathLike[str]) -> AgentConfig:
        path = Path(folder) / AGENT_FILE
        if not path.is_file():
            raise QnasError(f"{folder} holds no {AGENT_FILE}: pass a folder written by `qnas agent train --out DIR`.")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise QnasError(f"{path} is not valid JSON ({exc}); retrain with `qnas agent train`.") from None
        known = [f.name for f in fields(cls)]
        if not isinstance(data, dict) or "task" not in data:
            raise QnasError(f"{path} must be a JSON object with a 'task' entry; retrain with `qnas agent train`.")
        for key in data:
            if key not in known:
                raise QnasError(not_allowed(f"{path} key", key, known, "The file was not written by this qnas."))
        return cls(**data)

    def write(self, folder: Path) -> None:
        (folder / AGENT_FILE).write_text(json.dumps(asdict(self), indent=2, sort_keys=True))


def make_env(config: AgentConfig) -> gym.Env:
    """One masked environment, as the agent sees it (one torch thread: envs run side by side)."""
    import torch
    from sb3_contrib.common.wrappers import ActionMasker

    from qnas.envs.circuit_design import CircuitDesignEnv

    options = [p.name for p in inspect.signature(CircuitDesignEnv).parameters.values() if p.kind is p.KEYWORD_ONLY]
    for key in config.env:
        if key not in options:
            raise QnasError(not_allowed("--env-arg", key, options, "Pass one of the environment's options as KEY=VALUE."))
    torch.set_num_threads(1)
    env = gym.make(CIRCUIT_DESIGN_ID, task=config.task, space=config.space, **config.env)
    return ActionMasker(env, lambda e: e.unwrapped.action_masks())


def _model(config: AgentConfig, vec_env: Any, **kwargs: Any) -> Any:
    """An untrained MaskablePPO or DQN for `config`, on `vec_env`."""
    if config.algorithm == "dqn":
        from stable_baselines3 import DQN

        return DQN("MlpPolicy", vec_env, seed=config.seed, verbose=0, **config.dqn, **kwargs)
    from sb3_contrib import MaskablePPO

    return MaskablePPO(policy_class(config), vec_env, seed=config.seed, verbose=0, **config.ppo, **kwargs)


def masked_action(model: Any, obs: np.ndarray, masks: np.ndarray, deterministic: bool = False) -> int:
    """The policy's action among the legal ones: MaskablePPO applies `masks` itself; a DQN takes
    the legal action of highest Q, or with its final exploration rate a random legal one."""
    if not hasattr(model, "q_net"):
        action, _ = model.predict(obs, action_masks=masks, deterministic=deterministic)
        return int(action)
    import torch

    legal = np.flatnonzero(masks)
    if not deterministic and torch.rand(()) < model.exploration_final_eps:
        return int(legal[torch.randint(len(legal), ())])
    with torch.no_grad():
        q_values = model.q_net(model.policy.obs_to_tensor(obs)[0])[0].numpy()
    return int(legal[np.argmax(q_values[legal])])


def policy_class(config: AgentConfig) -> Any:
    """MaskablePPO's MLP policy; with the env's screen in the observation (`screen_observation`),
    the one that also uses it as a prior on the logits, so training starts informed."""
    if config.env.get("screen_observation"):
        from qnas.agents.screen_prior import ScreenPriorPolicy

        return ScreenPriorPolicy
    return "MlpPolicy"


def _env_factory(config: AgentConfig) -> Callable[[], gym.Env]:
    return lambda: make_env(config)


def train_agent(config: AgentConfig, out: str | os.PathLike[str], *, progress_bar: bool = False) -> Any:
    """Train MaskablePPO or DQN for `config.timesteps` steps on `config.n_envs` environments in
    parallel processes; save the agent folder (see the module docstring) and return the model."""
    from stable_baselines3.common.callbacks import CheckpointCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    if config.algorithm not in ALGORITHMS:
        raise QnasError(not_allowed("--algorithm", config.algorithm, ALGORITHMS))
    if config.timesteps < 1:
        raise QnasError(f"--timesteps = {config.timesteps} must be at least 1.")
    if config.n_envs < 1:
        raise QnasError(f"--n-envs = {config.n_envs} must be at least 1.")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    make_env(config).close()  # bad task, space or settings fail here, before any process starts
    vec_env = make_vec_env(
        _env_factory(config),
        n_envs=config.n_envs,
        seed=config.seed,
        vec_env_cls=SubprocVecEnv if config.n_envs > 1 else DummyVecEnv,
        monitor_dir=str(folder / "monitor"),
    )
    try:
        model = _model(config, vec_env, tensorboard_log=str(folder / "tensorboard"))
        checkpoints = CheckpointCallback(
            save_freq=max(1, config.ppo.get("n_steps", DEFAULT_PPO["n_steps"]) * 4 // config.n_envs),  # every 4 PPO rollouts
            save_path=str(folder / "checkpoints"),
            name_prefix="agent",
        )
        model.learn(total_timesteps=config.timesteps, callback=checkpoints, progress_bar=progress_bar)
    finally:
        vec_env.close()
    model.save(folder / WEIGHTS_FILE)
    config.write(folder)
    plot_learning_curve(folder)
    return model


def load_agent(folder: str | os.PathLike[str]) -> tuple[Any, AgentConfig]:
    """The trained policy of an agent folder, with its config; weights only, no unpickling."""
    from stable_baselines3.common.vec_env import DummyVecEnv

    config = AgentConfig.read(folder)
    weights = Path(folder) / WEIGHTS_FILE
    if not weights.is_file():
        raise QnasError(f"{folder} holds no {WEIGHTS_FILE}: the training did not finish; rerun `qnas agent train`.")
    model = _model(config, DummyVecEnv([_env_factory(config)]))
    try:
        model.set_parameters(str(weights), exact_match=True)
    except Exception as exc:
        raise QnasError(f"{weights} could not be loaded ({type(exc).__name__}: {exc}); retrain with `qnas agent train`.") from None
    return model, config


def rollout(model: Any, env: gym.Env, seed: int, deterministic: bool = False) -> tuple[dict[str, Any], list[str], float]:
    """Run one episode with the policy; return the final info, the action labels and the return.

    The same seed gives the same episode: the env is reset with it, and the policy samples its
    actions from a torch generator seeded with it (the global one is left as it was)."""
    import torch

    obs, info = env.reset(seed=seed)
    labels: list[str] = []
    total = 0.0
    done = False
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        while not done:
            action = masked_action(model, obs, env.unwrapped.action_masks(), deterministic)
            obs, reward, terminated, truncated, info = env.step(action)
            labels.append(info["action"])
            total += float(reward)
            done = terminated or truncated
    return info, labels, total


def plot_learning_curve(folder: Path) -> Path | None:
    """`learning_curve.png`: episode return against timesteps, raw and smoothed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from stable_baselines3.common.monitor import load_results

    try:
        results = load_results(str(folder / "monitor")).sort_values("t")
    except Exception:  # no finished episode yet: nothing to plot
        return None
    steps = np.cumsum(results["l"].to_numpy())
    returns = results["r"].to_numpy()
    window = max(1, len(returns) // 20)
    smooth = np.convolve(returns, np.ones(window) / window, mode="valid")
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, returns, alpha=0.3, label="episode return")
    ax.plot(steps[window - 1 :], smooth, label=f"mean of {window}")
    ax.set_xlabel("timesteps")
    ax.set_ylabel("return")
    ax.set_title("the agent on qnas/CircuitDesign-v0")
    ax.legend()
    path = folder / "learning_curve.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
