"""RL (MaskablePPO) against TPE against random search at equal circuit evaluations (issue 4).

Every proposer builds circuits in the same environment, `qnas/CircuitDesign-v0`, and one
evaluation is one environment step (the circuit so far is simulated and scored):

- rl: MaskablePPO trained for the whole budget; every training episode counts;
- tpe / random: an Optuna study whose trial picks action k at slot k, define-by-run, until stop
  or the gate limit; the trial's value is the episode's return (the RL agent's signal too).

Per run it records whether any episode succeeded (fidelity > 0.95, or an energy error within
chemical accuracy, 1.6e-3 Ha), the first evaluation at which one did, and the fewest gates and
fewest two-qubit gates (CNOTs) of a successful circuit. Printed: per proposer, the success rate
over seeds, the median evaluations to first success and the median (and best) counts; for VQE
also the lowest energy error any episode of each seed ended with, so a miss shows how close it was.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/rl_vs_samplers.py --task bell --budget 6000 --seeds 5
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/rl_vs_samplers.py --task ghz --task-arg n=3 --budget 6000 --seeds 5

The default rules are qas-gym's (Kuo et al. 2021): gates X, Y, Z, H, RZ(pi/4) and CNOT,
success at fidelity > 0.95 (strictly), at most 20 gates; the optima are 2 gates (Bell) and 3 (GHZ-3).
VQE runs use the space's gates with trainable angles (`--gate-set space`). LiH uses the gates
of the hardware-efficient ansatz it is compared with, RY and CNOT (`benchmarks/spaces/`):

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/rl_vs_samplers.py --task npz \\
        --task-arg path=../shared/benchmarks/hamiltonians/lih_4q_parity_2.2A.npz --gate-set space \\
        --space benchmarks/spaces/vqe_ry_cnot.yaml --budget 3000

`--gate-set blocks` places each CNOT with an RY on both of its wires in one action (the
environment's block actions), which is what reaches LiH in fewer than 6 CNOTs.

`--prune` wraps every proposer's environment in `qnas.envs.pruning.PruneOnSuccess`: each circuit
that reaches the threshold is replayed without one block, then two, and the shortest replay that
still reaches it counts as found. The replays' steps are evaluations within the same budget, and
nothing found after the budget counts.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import optuna
from episode_trials import play_trials
from profiling import PhaseTimers

from qnas.cli import parse_task_args
from qnas.envs import CIRCUIT_DESIGN_ID
from qnas.envs.pruning import PruneOnSuccess
from qnas.envs.scoring import CHEMICAL_ACCURACY


@dataclass
class Run:
    """What one proposer found within the budget (episodes ending past it are not counted)."""

    budget: int
    evaluations: int = 0
    first_success: int | None = None
    best_gates: int | None = None
    best_two_qubit: int | None = None
    best_error: float | None = None
    returns: list[float] = field(default_factory=list)

    def episode_end(self, info: dict[str, Any], threshold: float) -> None:
        if self.evaluations > self.budget:
            return
        if "energy_error" in info:
            error = float(info["energy_error"])
            self.best_error = error if self.best_error is None else min(self.best_error, error)
        if "fidelity" in info:
            success = info["fidelity"] > threshold
        else:
            success = info["energy_error"] <= CHEMICAL_ACCURACY
        if success:
            if self.first_success is None:
                self.first_success = self.evaluations
            gates, two_qubit = int(info["n_gates"]), int(info["n_two_qubit"])
            self.best_gates = gates if self.best_gates is None else min(self.best_gates, gates)
            self.best_two_qubit = two_qubit if self.best_two_qubit is None else min(self.best_two_qubit, two_qubit)


class CountingEnv(gym.Wrapper):
    """Counts every step as one evaluation and records each finished episode into `run`."""

    def __init__(self, env: gym.Env, run: Run, threshold: float) -> None:
        super().__init__(env)
        self.run, self.threshold, self._return = run, threshold, 0.0

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.run.evaluations += 1
        self._return += float(reward)
        if terminated or truncated:
            self.run.episode_end(info, self.threshold)
            self.run.returns.append(self._return)
            self._return = 0.0
        return obs, reward, terminated, truncated, info

    @property
    def evaluations(self) -> int:
        return self.run.evaluations

    def action_masks(self) -> np.ndarray:
        return self.env.unwrapped.action_masks()


class CountedPruning(PruneOnSuccess):
    """Pruning outside the counter, so its replays are counted; `play_trials` reads the count."""

    @property
    def evaluations(self) -> int:
        return self.env.evaluations


@dataclass(frozen=True)
class Setting:
    """The environment every proposer of one benchmark run designs in."""

    task: dict[str, Any]
    threshold: float
    gate_set: str
    space: str | None = None
    prune: bool = False


def make_env(setting: Setting, run: Run) -> gym.Env:
    env = gym.make(CIRCUIT_DESIGN_ID, task=setting.task, space=setting.space, gate_set=setting.gate_set, max_gates=20)
    counted = CountingEnv(env, run, setting.threshold)
    return CountedPruning(counted) if setting.prune else counted


def run_rl(setting: Setting, seed: int, budget: int) -> Run:
    import torch
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.callbacks import BaseCallback

    class StopAtBudget(BaseCallback):
        """Ends training once the run has spent its evaluations (pruning's replays count too)."""

        def _on_step(self) -> bool:
            return run.evaluations < budget

    torch.set_num_threads(1)
    run = Run(budget)
    env = make_env(setting, run)
    env.reset(seed=seed)
    model = MaskablePPO("MlpPolicy", env, seed=seed, n_steps=256, batch_size=64, ent_coef=0.01, verbose=0)
    model.learn(total_timesteps=budget, callback=StopAtBudget())
    return run


def run_sampler(setting: Setting, seed: int, budget: int, sampler: str) -> Run:
    run = Run(budget)
    env = make_env(setting, run)
    samplers = {"tpe": optuna.samplers.TPESampler(seed=seed), "random": optuna.samplers.RandomSampler(seed=seed)}
    study = optuna.create_study(direction="maximize", sampler=samplers[sampler])
    play_trials(study, env, seed, budget, PhaseTimers())
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="bell")
    parser.add_argument("--task-arg", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--budget", type=int, default=6000, help="circuit evaluations (env steps) per run")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--proposers", default="rl,tpe,random")
    parser.add_argument("--gate-set", default="qas-gym", choices=("qas-gym", "space", "blocks"))
    parser.add_argument("--space", default=None, help="search space name or YAML path (default: the task kind's)")
    parser.add_argument("--prune", action="store_true", help="prune every circuit that reaches the threshold")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    task = {"name": args.task, **parse_task_args(args.task_arg)}
    setting = Setting(task, args.threshold, args.gate_set, args.space, args.prune)
    print(f"{task}, {args.gate_set} gate set, space {args.space or 'default'}, budget {args.budget} evaluations, "
          f"seeds 0..{args.seeds - 1}{', pruned' if args.prune else ''}\n")
    print("| proposer | success | median evaluations to first success | median fewest gates | median fewest 2q gates "
          "| per seed (evals, gates, 2q gates) |")
    print("|---|---|---|---|---|---|")
    for proposer in args.proposers.split(","):
        runs = []
        for seed in range(args.seeds):
            if proposer == "rl":
                runs.append(run_rl(setting, seed, args.budget))
            else:
                runs.append(run_sampler(setting, seed, args.budget, proposer))
        solved = [r for r in runs if r.first_success is not None]
        evals = statistics.median(r.first_success for r in solved) if solved else float("nan")
        gates = statistics.median(r.best_gates for r in solved) if solved else float("nan")
        two_qubit = statistics.median(r.best_two_qubit for r in solved) if solved else float("nan")
        seeds = ", ".join(f"({r.first_success}, {r.best_gates}, {r.best_two_qubit})" for r in runs)
        print(f"| {proposer} | {len(solved)}/{len(runs)} | {evals:g} | {gates:g} | {two_qubit:g} | {seeds} |", flush=True)
        if runs[0].best_error is not None:
            errors = ", ".join(f"{r.best_error:.1e}" for r in runs)
            print(f"  {proposer}: lowest energy error (Ha) per seed: {errors}", flush=True)


if __name__ == "__main__":
    main()
