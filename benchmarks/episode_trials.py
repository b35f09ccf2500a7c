"""Optuna samplers as circuit designers: one trial is one episode of `qnas/CircuitDesign-v0`.

The trial picks the action at slot k as a define-by-run integer parameter, until the episode ends
or the evaluation budget is spent, and its value is the episode's return (the RL agent's signal
too). After each step it reports the score of the circuit so far as intermediate value k, so a
sampler can learn from every prefix, not only from the episode's return (`SurrogateSampler`). `rl_vs_samplers.py` and `search_efficiency.py` both run their samplers through this loop, so
their evaluation counts mean the same thing.
"""

from __future__ import annotations

import time
from typing import Protocol

import gymnasium as gym
import optuna
from profiling import PhaseTimers


class CountedEnv(Protocol):
    """An environment wrapper that counts the steps (evaluations) it has run."""

    evaluations: int
    action_space: gym.spaces.Discrete

    def reset(self, *, seed: int | None = None) -> object: ...

    def step(self, action: int) -> tuple[object, float, bool, bool, dict]: ...


def play_trials(study: optuna.Study, env: CountedEnv, seed: int, evaluations: int, timers: PhaseTimers) -> None:
    """Run trials until `env` has spent `evaluations` steps; `timers` gets the proposer's share
    (ask, suggest, tell). Episode k resets with its own seed, so runs replay exactly."""
    episode = 0
    while env.evaluations < evaluations:
        mark = time.perf_counter()
        trial = study.ask()
        mark = timers.add("proposer: ask/tell", mark)
        env.reset(seed=seed * 1_000_003 + episode)
        episode += 1
        total, slot, done = 0.0, 0, False
        while not done and env.evaluations < evaluations:
            mark = time.perf_counter()
            action = trial.suggest_int(f"slot{slot}", 0, int(env.action_space.n) - 1)
            mark = timers.add("proposer: ask/tell", mark)
            _, reward, terminated, truncated, info = env.step(action)
            trial.report(info["score"], slot)
            total += float(reward)
            slot += 1
            done = terminated or truncated
        mark = time.perf_counter()
        study.tell(trial, total)
        timers.add("proposer: ask/tell", mark)
