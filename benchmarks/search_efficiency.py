"""Search efficiency of random, masked random, TPE, NSGA-II and RL: evaluations to a target, the
best score at a fixed budget, the wall time, and whether a proposer beats random search (issues 7
and 20).

Two tiers of tasks (`--tier`): `easy` (Bell, GHZ-3, H2, LiH-4 at 1.2 Å, iris, wine: random search
reaches them within a few episodes) and `hard` (LiH-6 and LiH-4 at 2.2 and 3.4 Å, BeH2-6, TFIM-8,
GHZ-5; see `HARD`). Each task fixes its action set, target and budget before any run.

Every proposer designs circuits in `qnas/CircuitDesign-v0`, as in `rl_vs_samplers.py`, and the
budget counts environment steps: a step that places a block scores the circuit so far (gate
tasks: its angles re-optimized; classification: the layer stack trained for the env's epochs).

- random / tpe / nsga2: qnas' own samplers (`qnas.agents.make_sampler`, what `qnas search
  --sampler` builds); each Optuna trial picks the action at slot k, define-by-run, until stop,
  the target or the gate limit, and its value is the episode's return;
- surrogate: `qnas.agents.surrogate_sampler.SurrogateSampler`, an Optuna sampler that fits a ridge
  model to every prefix score the trials report and picks each slot's action by it (10 random
  trials first);
- masked: each action uniform among the legal ones (`masked_random.py`): random search that,
  like MaskablePPO, never spends a step on an action the env refuses;
- rl: MaskablePPO (sb3-contrib, `qnas.agents.rl_agent`'s PPO settings, shorter rollouts for small
  budgets) learning for the whole budget; every training step counts;
- adapt (Pauli-rotation tasks only, the `pauli` tier: `gate_set="pauli"`): `qnas.agents.adapt`'s
  gradient screen picks each action, greedy in the first episode, then among the 3 largest
  gradients; every screened operator is charged as a cheap probe (issue 21); adapt-landscape
  ranks by each rotation's best gain over its whole angle instead (one probe a rotation too, each
  with one more product with the Hamiltonian than a gradient's);
- dqn: stable-baselines3's DQN (`qnas.agents.rl_agent.DEFAULT_DQN`: a replay buffer, updates
  from step 64 on, epsilon from 1 to 0.05 over half the budget), the off-policy agent of the QAS
  literature; it has no masks, so like Optuna's random sampler it spends steps on refused actions;
- rl-curriculum (ground-state tasks): rl with the env's moving threshold (`curriculum=True`:
  from halfway between the reference state's error and the target, on a log scale, halved after
  every 5 successes), as in Ostaszewski et al. and CRLQAS; the table still counts the real target;
- beam (gate tasks with a space's gates, `space` or `blocks`): `qnas.agents.block_beam`, a beam
  search by CNOT count over blocks [CNOT a,b and the rotations on a and b] after one rotation
  layer, each circuit scored through the env's warm start (one full evaluation); on a `space` task
  it acts on the same gates grouped into blocks (`acting_bench`), so its circuits are made of the
  same gates but a block is one evaluation where masked random search spends three;
- rl-screen (the pauli tier only): rl with the env's screen in its observation and as a prior on
  its logits (`qnas.agents.screen_prior.ScreenPriorPolicy`), so its first episode samples about
  as ADAPT ranks; the env's screens are charged as cheap probes (issue 21).

Counts (`--workers 1`, the default): each run is one process, one thread; sequential, or with
`--jobs N` N seeds side by side in forked processes (one core each: N at most the free cores).
Per task and proposer, in three units, to the first success and at the budget (see `Tally`):
full evaluations (circuits scored with their angles optimized), cheap probes (none for these
proposers) and wall seconds; the env steps to the target per seed; the best metric within the
budget; and the CNOT count of the leanest circuit that met the target, after `PruneOnSuccess`.
Then each proposer against `--baseline` (random): the ratio of median full evaluations to the
target with a bootstrap 95% interval and a one-sided Mann-Whitney p, runs that never reached the
target censored at the budget (`proposer_statistics.py`); and the same for the wall seconds to the
target, screening included, a run that never reached it censored above the slowest run's wall time.

`--quick` runs each task's quick budget on 2 seeds: a smoke check of the whole tier, not a result.

Wall time (`--workers 2`): the same budget on 2 workers, seconds per run. Samplers: 2 Ray tasks on
a private local Ray, each running trials on one study in a shared Optuna journal file until it has
spent half the budget; RL: MaskablePPO on 2 environments in SB3's SubprocVecEnv (forked);
masked random runs on one worker only. One-off start-up (ray.init, the Ray workers' imports, the
env subprocesses) is measured apart from the runs. These runs count evaluations too (twice the
first successful worker's own count).

`--define NAME=FILE` adds a task of your own (`define_benchmark`: a YAML or JSON file with its task,
action set, target and budget), so any molecule or Hamiltonian is compared with the same counts
and statistics.

`--first-seed N` and `--ppo KEY=VALUE` run other seeds and other PPO settings (BENCHMARKS.md's
pilots: does RL reach the target sooner when it learns faster?).

`--profile` prints where the time goes: evaluation (env steps: circuit building, simulation,
angle optimization or training), proposer (ask/tell with storage, or the policy's forward passes
and PPO updates), and Ray / subprocess overhead; with `--workers 1`, cProfile's top functions.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/search_efficiency.py --tasks bell ghz3 iris wine --seeds 5
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/search_efficiency.py --tier hard --quick
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/search_efficiency.py --tier hard --seeds 30 --jobs 2
    OMP_NUM_THREADS=1 flock /tmp/qnas-heavy.lock .venv/bin/python benchmarks/search_efficiency.py \\
        --tasks bell ghz3 iris wine --seeds 5 --workers 2 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import json
import math
import multiprocessing
import operator
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import optuna
import torch
import yaml
from campaign_records import RunRecords
from episode_trials import play_trials
from masked_random import play_masked_random
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from profiling import PhaseTimers, print_phases
from proposer_statistics import compare
from sb3_contrib import MaskablePPO
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

from qnas.agents import make_sampler
from qnas.agents.adapt import AdaptScreen
from qnas.agents.block_beam import BlockBeam
from qnas.agents.rl_agent import DEFAULT_DQN, DEFAULT_PPO
from qnas.agents.screen_prior import ScreenPriorPolicy
from qnas.agents.surrogate_sampler import SurrogateSampler
from qnas.cli import parse_task_args
from qnas.envs import CIRCUIT_DESIGN_ID
from qnas.envs.pruning import PruneOnSuccess
from qnas.envs.scoring import CHEMICAL_ACCURACY
from qnas.errors import QnasError, not_allowed

HAMILTONIANS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "hamiltonians"
PROPOSERS = (
    "random", "masked", "tpe", "nsga2", "surrogate", "rl", "rl-curriculum", "dqn", "adapt", "adapt-landscape", "rl-screen",
    "beam",
)
SCREENING = ("adapt", "adapt-landscape", "rl-screen")
"""Proposers that screen Pauli rotations: they run on the pauli tier only."""
RL = {"rl": {}, "rl-curriculum": {"curriculum": True}, "rl-screen": {"screen_observation": True}}
"""MaskablePPO proposers and the env options each adds."""
ONE_WORKER = ("masked", "adapt", "adapt-landscape", "rl-screen", "rl-curriculum", "dqn", "beam")
"""Proposers that run on one worker only (`--workers 2` compares samplers and RL on two)."""
METRICS: dict[str, tuple[Callable[[float, float], bool], Callable[..., float]]] = {
    "fidelity": (operator.gt, max),
    "energy_error": (operator.le, min),
    "val_accuracy": (lambda value, target: value >= target - 1e-6, max),  # accuracies are float32
}
"""The metric a task's target applies to: (reached(value, target), which of two values is better)."""
ROLLOUT = "rollout (env steps + policy + IPC)"
EVALUATION = "evaluation (env steps)"
STARTUP = "start-up: env subprocesses"


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """A task in the design env (its action set in `env`), its target and the evaluation budget
    of one run; `quick_budget` is the smoke check's (`--quick`)."""

    task: dict[str, Any]
    env: dict[str, Any]
    metric: str
    target: float
    budget: int
    quick_budget: int = 0

    def reached(self, value: float) -> bool:
        return METRICS[self.metric][0](value, self.target)

    def make_env(self) -> gym.Env:
        import qnas.envs  # noqa: F401  (registers the env id where this runs: Ray workers unpickle this by value)

        threshold = {"threshold": self.target} if self.metric in ("val_accuracy", "energy_error") else {}
        return gym.make(CIRCUIT_DESIGN_ID, task=self.task, **self.env, **threshold)


QAS_GYM = {"gate_set": "qas-gym", "max_gates": 20}
RY_CNOT = str(Path(__file__).parent / "spaces" / "vqe_ry_cnot.yaml")
SINGLE_RY_CNOT = {"gate_set": "space", "space": RY_CNOT, "max_gates": 20}
"""Single trainable RY and CNOT gates, one per action."""
BLOCKS = {"gate_set": "blocks", "space": RY_CNOT, "max_gates": 20}
"""RY on a wire, or a block [CNOT a,b RY a RY b]: the hard tier's natural action set (issue 20, point 2)."""
LIH4_ACTIONS = {**SINGLE_RY_CNOT, "max_gates": 40}
"""Single RY and CNOT gates, at most 40: the gate limit of the published LiH-4 runs (Ostaszewski et
al. 2021 and CRLQAS 2024, both 40 per episode; their configuration files)."""
EASY = {
    "bell": Benchmark({"name": "bell"}, QAS_GYM, "fidelity", 0.95, 1000),
    "ghz3": Benchmark({"name": "ghz", "n": 3}, QAS_GYM, "fidelity", 0.95, 4000),
    "h2": Benchmark({"name": "h2"}, {"gate_set": "space", "max_gates": 20}, "energy_error", CHEMICAL_ACCURACY, 2000),
    # LiH with the gates the RL issue's LiH benchmark uses (RY and CNOT, `rl_vs_samplers.py`)
    "lih": Benchmark(
        {"name": "npz", "path": str(HAMILTONIANS / "lih_4q_parity_1.2A.npz")}, SINGLE_RY_CNOT, "energy_error",
        CHEMICAL_ACCURACY, 3000,
    ),
    # Classification targets, fixed before the table was run: see BENCHMARKS.md.
    "iris": Benchmark({"name": "iris"}, {}, "val_accuracy", 0.9, 200),
    "wine": Benchmark({"name": "wine"}, {}, "val_accuracy", 0.9, 200),
}
TFIM8_EXACT = -9.837951447459387
"""Exact ground energy of the open TFIM-8 chain, J = h = 1 (tests check it against the task)."""
BEH2_BOND = 2.5
"""Å, both Be-H bonds stretched: the (4e, 3o) Hartree-Fock error is 7.4e-2 Ha there, between LiH-4's
at 2.2 and 3.4 Å (3.7e-2, 1.19e-1 Ha); at the equilibrium 1.3264 Å it is 3.0e-3 Ha, 2 chemical
accuracies, and random search reached the target in 13 and 20 evaluations (BENCHMARKS.md)."""
BEH2 = {
    "name": "molecule",
    "symbols": ["Be", "H", "H"],
    "geometry": [[0.0, 0.0, 0.0], [0.0, 0.0, -BEH2_BOND], [0.0, 0.0, BEH2_BOND]],  # linear, symmetric stretch
    "active_electrons": 4,
    "active_orbitals": 3,  # 4 electrons in 3 spatial orbitals: 6 spin orbitals, 6 qubits (Jordan-Wigner)
}
# Fixed before the campaign (issue 20, point 3): task, action set, target, budget, quick budget.
# BENCHMARKS.md says what the smoke and timing runs before it changed (BeH2 stretched, LiH-4 40 gates).
HARD = {
    "lih6": Benchmark(
        {"name": "npz", "path": str(HAMILTONIANS / "lih_6q_jw_2.2A.npz")}, BLOCKS, "energy_error",
        CHEMICAL_ACCURACY, 3000, 200,
    ),
    # The shipped parity-mapped LiH-4 of Ostaszewski et al. (2021), not the `lih` task: its 2-in-2
    # active space at 2.2 Å starts within chemical accuracy (Hartree-Fock error 1.07e-3 Ha).
    "lih4_2.2": Benchmark(
        {"name": "npz", "path": str(HAMILTONIANS / "lih_4q_parity_2.2A.npz")}, LIH4_ACTIONS, "energy_error",
        CHEMICAL_ACCURACY, 3000, 300,
    ),
    "lih4_3.4": Benchmark(
        {"name": "npz", "path": str(HAMILTONIANS / "lih_4q_parity_3.4A.npz")}, LIH4_ACTIONS, "energy_error",
        CHEMICAL_ACCURACY, 3000, 300,
    ),
    "beh2": Benchmark(BEH2, BLOCKS, "energy_error", CHEMICAL_ACCURACY, 3000, 200),
    # a relative energy error of 1e-3: 1e-3 * |exact ground energy|; blocks on the chain's bonds only
    "tfim8": Benchmark(
        {"name": "tfim", "n": 8, "J": 1.0, "h": 1.0}, {**BLOCKS, "connectivity": "linear", "max_gates": 30},
        "energy_error", 1e-3 * abs(TFIM8_EXACT), 3000, 200,
    ),
    "ghz5": Benchmark({"name": "ghz", "n": 5}, QAS_GYM, "fidelity", 0.95, 10000, 1000),
}
PAULI = {
    f"{name}_pauli": dataclasses.replace(bench, env={"gate_set": "pauli", "max_gates": bench.env["max_gates"]})
    for name, bench in HARD.items()
}
"""The hard tier's tasks over Pauli rotations (the `all` pool of `qnas.pauli_rotations`, each action
one rotation exp(-i theta P / 2)), with the same gate limits, targets and budgets: where a
screening proposer (adapt) is compared with the others on its own action set (issue 21)."""
TIERS = {"easy": EASY, "hard": HARD, "pauli": PAULI}
BENCHMARKS = {**EASY, **HARD, **PAULI}
QUICK_SEEDS = 2
PRUNE_REPLAY_STEPS = 300
"""Replay steps the best circuit's pruning may spend (after the run, not charged to its budget)."""


class Tally(gym.Wrapper):
    """Counts evaluations within `bench.budget` (steps past it, the rest of PPO's last rollout,
    count in none of the units) and the first one that met the target, plus the best metric, the
    seconds spent inside the environment (steps and resets) and the circuit at the target with
    the fewest two-qubit gates.

    - `evaluations`: environment steps, the budget's unit (every step is charged, as an RL
      agent's training is);
    - `scored`: full evaluations, the steps that placed a block and scored the new circuit with
      its angles optimized (a stop, or an action the env refuses, scores nothing);
    - `circuits`: the distinct circuits (action sequences since reset) scored, as if a cache
      answered repeats: what a deterministic score would cost with one;
    - `probes`: cheap probes, screening evaluations a proposer makes outside the env's steps (a
      gradient or energy landscape of candidate gates); it calls `count_probes`. None of today's
      proposers makes any.
    """

    def __init__(self, env: gym.Env, bench: Benchmark) -> None:
        super().__init__(env)
        self.bench = bench
        self.evaluations = 0
        self.scored = 0
        self.probes = 0
        self.circuits: set[tuple[int, ...]] = set()
        self.first_success: dict[str, float] | None = None
        self.best: float | None = None
        self.best_circuit: tuple[int, int, tuple[int, ...]] | None = None
        """(two-qubit gates, gates, actions) of the leanest circuit that met the target."""
        self.env_seconds = 0.0
        self._started = time.perf_counter()
        self._prefix: tuple[int, ...] = ()

    def reset(self, **kwargs: Any) -> Any:
        started = time.perf_counter()
        out = self.env.reset(**kwargs)
        self.env_seconds += time.perf_counter() - started
        info = out[1]
        if self.evaluations < self.bench.budget:
            self.probes += info.get("probes", 0)
        self._prefix = tuple(int(a) for a in (kwargs.get("options") or {}).get("actions", ()))
        if info.get("warm_started"):  # the warm start's one angle optimization: a full evaluation, and a step
            self.evaluations += 1
            if self.evaluations <= self.bench.budget:
                self._record(info, scored=True)
        return out

    def count_probes(self, n: int) -> None:
        """Charge `n` cheap probes (screening evaluations made outside `step`)."""
        self.probes += n

    def step(self, action: Any) -> Any:
        started = time.perf_counter()
        out = self.env.step(action)
        self.env_seconds += time.perf_counter() - started
        info = out[4]
        self.evaluations += 1
        if self.evaluations <= self.bench.budget:
            self.probes += info.get("probes", 0)  # screens the env makes for its observation
        placed = not info["invalid_action"] and self.env.unwrapped.actions[int(action)].kind != "stop"
        if placed:
            self._prefix += (int(action),)
        if self.evaluations > self.bench.budget:
            return out
        self._record(info, scored=placed)
        return out

    def _record(self, info: dict[str, Any], scored: bool) -> None:
        """A step's metrics: count a circuit `scored` with its angles optimized (the prefix so far),
        keep the best value and the first success."""
        if scored:
            self.scored += 1
            self.circuits.add(self._prefix)
        value = info.get(self.bench.metric)
        if value is not None:
            self.best = value if self.best is None else METRICS[self.bench.metric][1](self.best, value)
            if self.bench.reached(value):
                circuit = (info["n_two_qubit"], info["n_gates"], self._prefix)
                self.best_circuit = circuit if self.best_circuit is None else min(self.best_circuit, circuit)
                if self.first_success is None:
                    self.first_success = {"steps": self.evaluations, "scored": self.scored,
                                          "circuits": len(self.circuits), "probes": self.probes,
                                          "seconds": time.perf_counter() - self._started}

    def action_masks(self) -> np.ndarray:
        return self.env.unwrapped.action_masks()

    def outcome(self) -> dict[str, Any]:
        return {"first_success": self.first_success, "best": self.best, "env_seconds": self.env_seconds,
                "scored": self.scored, "probes": self.probes, "best_circuit": self.best_circuit}


def pruned_two_qubit(bench: Benchmark, circuit: tuple[int, ...], seed: int) -> int | None:
    """Two-qubit gates of `circuit` after `PruneOnSuccess` (at most PRUNE_REPLAY_STEPS replays);
    None when its replay here, with this seed's angle draws, misses the target."""
    env = PruneOnSuccess(bench.make_env(), max_replay_steps=PRUNE_REPLAY_STEPS)
    env.reset(seed=seed)
    info: dict[str, Any] = {}
    for action in circuit:
        *_, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            break
    return info["pruned"]["n_two_qubit"] if "pruned" in info else None


def ppo_settings(budget: int, n_envs: int, overrides: dict[str, Any]) -> dict[str, Any]:
    """The agent's PPO settings, with rollouts short enough for at least ~8 updates in `budget`;
    `overrides` (MaskablePPO keyword arguments, from `--ppo`) are applied as given."""
    rollout = int(min(DEFAULT_PPO["n_steps"], max(16, 2 ** math.floor(math.log2(max(1, budget // 8))))))
    tuned = {**DEFAULT_PPO, "n_steps": rollout // n_envs, "batch_size": min(DEFAULT_PPO["batch_size"], rollout)}
    return {**tuned, **overrides}


class PPOTimer(BaseCallback):
    """Splits `learn` into rollouts (env steps, policy forward passes, vec-env IPC) and PPO updates."""

    def __init__(self, timers: PhaseTimers) -> None:
        super().__init__()
        self.timers = timers
        self._mark = 0.0

    def _on_training_start(self) -> None:
        self._mark = time.perf_counter()

    def _on_rollout_start(self) -> None:
        self._mark = self.timers.add("proposer: PPO update", self._mark)

    def _on_rollout_end(self) -> None:
        self._mark = self.timers.add(ROLLOUT, self._mark)

    def _on_training_end(self) -> None:
        self.timers.add("proposer: PPO update", self._mark)

    def _on_step(self) -> bool:
        return True


def run_rl(bench: Benchmark, seed: int, n_envs: int, ppo: dict[str, Any], timers: PhaseTimers,
           proposer: str = "rl") -> list[dict[str, Any]]:
    """MaskablePPO (`proposer`, one of RL) learning for `bench.budget` steps on `n_envs` environments
    (subprocesses when 2+); rl-screen has the env's gradient screen in its observation and as a
    prior on its logits, rl-curriculum the env's moving threshold."""
    mark = time.perf_counter()
    screen = proposer == "rl-screen"
    env_bench = dataclasses.replace(bench, env={**bench.env, **RL[proposer]})
    factories = [lambda: Tally(env_bench.make_env(), bench) for _ in range(n_envs)]
    # fork: the subprocesses inherit this process' imports instead of paying them again
    env = SubprocVecEnv(factories, start_method="fork") if n_envs > 1 else DummyVecEnv(factories)
    mark = timers.add(STARTUP, mark)
    policy = ScreenPriorPolicy if screen else "MlpPolicy"
    model = MaskablePPO(policy, env, seed=seed, verbose=0, **ppo_settings(bench.budget, n_envs, ppo))
    timers.add("proposer: PPO set-up", mark)
    model.learn(total_timesteps=bench.budget, callback=PPOTimer(timers))
    outcomes = env.env_method("outcome")
    env.close()
    return outcomes


def applies(proposer: str, bench: Benchmark) -> bool:
    """Whether `proposer` runs on `bench`: screening needs Pauli rotations, the beam a space's
    gates, a curriculum an energy."""
    if proposer in SCREENING:
        return bench.env.get("gate_set") == "pauli"
    if proposer == "beam":
        return bench.env.get("gate_set") in ("space", "blocks") and bench.metric != "val_accuracy"
    return proposer != "rl-curriculum" or bench.metric == "energy_error"


def acting_bench(bench: Benchmark, proposer: str) -> Benchmark:
    """`bench` as `proposer` acts on it: the beam places a space's gates as blocks (a CNOT and the
    rotations after it in one action), so its circuits' action indices are those of that env."""
    if proposer == "beam" and bench.env.get("gate_set") != "blocks":
        return dataclasses.replace(bench, env={**bench.env, "gate_set": "blocks"})
    return bench


def run_dqn(bench: Benchmark, seed: int, timers: PhaseTimers) -> dict[str, Any]:
    """DQN learning for `bench.budget` steps on one environment, from its replay buffer."""
    env = DummyVecEnv([lambda: Tally(bench.make_env(), bench)])
    settings = {**DEFAULT_DQN, "learning_starts": min(DEFAULT_DQN["learning_starts"], bench.budget // 4)}
    mark = time.perf_counter()
    model = DQN("MlpPolicy", env, seed=seed, verbose=0, **settings)
    timers.add("proposer: DQN set-up", mark)
    model.learn(total_timesteps=bench.budget)
    outcome = env.env_method("outcome")[0]
    env.close()
    return outcome


def run_masked(bench: Benchmark, seed: int, timers: PhaseTimers) -> dict[str, Any]:
    """Masked-uniform random search, one process, until the budget is spent."""
    env = Tally(bench.make_env(), bench)
    play_masked_random(env, seed, bench.budget, timers)
    return env.outcome()


def run_adapt(bench: Benchmark, seed: int, timers: PhaseTimers, criterion: str = "gradient") -> dict[str, Any]:
    """ADAPT's screen (`criterion`) choosing every action until the budget is spent: the first
    episode greedy, later ones drawing among the beam (seeded); each screen's operators are
    charged as probes."""
    env = Tally(bench.make_env(), bench)
    screen = AdaptScreen(env, criterion=criterion)
    rng = np.random.default_rng(seed)
    episode = 0
    while env.evaluations < bench.budget:
        env.reset(seed=seed * 1_000_003 + episode)
        done = False
        while not done and env.evaluations < bench.budget:
            mark, probes = time.perf_counter(), screen.probes
            action = screen.choose(None if episode == 0 else rng)
            env.count_probes(screen.probes - probes)
            timers.add("proposer: screen", mark)
            _, _, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
        episode += 1
    return env.outcome()


def run_beam(bench: Benchmark, seed: int) -> dict[str, Any]:
    """The block beam until the budget is spent: a pass that reaches the gate limit is followed by
    one twice as wide."""
    env = Tally(bench.make_env(), bench)
    beam = BlockBeam(env)
    while env.evaluations < bench.budget:
        for _ in beam.circuits(seed * 1_000_003 + beam.width):
            if env.evaluations >= bench.budget:
                break
        beam.widen()
    return env.outcome()


def episode_sampler(name: str, seed: int, budget: int) -> optuna.samplers.BaseSampler:
    """qnas' own sampler `name` (`qnas search --sampler`), or the slot-wise surrogate."""
    return SurrogateSampler(seed=seed) if name == "surrogate" else make_sampler(name, seed, budget)


def run_sampler(bench: Benchmark, sampler: str, seed: int, timers: PhaseTimers) -> dict[str, Any]:
    """One sampler, one process: trials until the budget is spent."""
    env = Tally(bench.make_env(), bench)
    study = optuna.create_study(direction="maximize", sampler=episode_sampler(sampler, seed, bench.budget))
    play_trials(study, env, seed, bench.budget, timers)
    return env.outcome()


def sampler_worker(bench: Benchmark, sampler: str, seed: int, worker: int, journal: str) -> dict[str, Any]:
    """A Ray task: trials on the shared study until this worker has spent half the budget."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)
    started = time.perf_counter()
    timers = PhaseTimers()
    storage = JournalStorage(JournalFileBackend(journal))
    seed = seed * 1000 + worker  # the two workers must not draw the same random trials
    sampler_object = episode_sampler(sampler, seed, bench.budget)
    study = optuna.load_study(study_name="efficiency", storage=storage, sampler=sampler_object)
    env = Tally(bench.make_env(), bench)
    timers.add("worker set-up: load the study, build the env", started)
    play_trials(study, env, seed, bench.budget // 2, timers)
    return {**env.outcome(), **timers.seconds, "busy": time.perf_counter() - started}


class RayPair:
    """A private local Ray with 2 worker slots, warmed up, running a sampler's trials on both."""

    def __init__(self, timers: PhaseTimers) -> None:
        import ray

        from qnas.ray_executor import WORKER_ENV, connect

        mark = time.perf_counter()
        connect(None, 2)
        mark = timers.add("start-up: ray.init", mark)
        # Workers import this script's modules (profiling, this one) from benchmarks/; one
        # runtime_env for both functions, so the warmed-up workers are the ones that run trials.
        options = {"num_cpus": 1, "runtime_env": {"env_vars": {**WORKER_ENV, "PYTHONPATH": str(Path(__file__).parent)}}}
        self._worker = ray.remote(**options)(sampler_worker)
        self.run(dataclasses.replace(BENCHMARKS["bell"], budget=4), "random", 0, PhaseTimers())
        timers.add("start-up: Ray workers' imports and first env", mark)

    def run(self, bench: Benchmark, sampler: str, seed: int, timers: PhaseTimers) -> list[dict[str, Any]]:
        """Both workers on one study (an Optuna journal file); returns each worker's outcome."""
        import ray

        with tempfile.TemporaryDirectory() as folder:
            journal = str(Path(folder) / "study.log")
            storage = JournalStorage(JournalFileBackend(journal))
            optuna.create_study(study_name="efficiency", storage=storage, direction="maximize")
            mark = time.perf_counter()
            outcomes = ray.get([self._worker.remote(bench, sampler, seed, worker, journal) for worker in range(2)])
            wall = time.perf_counter() - mark
        for phase in ("proposer: ask/tell", "worker set-up: load the study, build the env"):
            timers.seconds[phase] += sum(o.get(phase, 0.0) for o in outcomes) / 2
        timers.seconds["Ray dispatch + set-up (wall - busiest worker)"] += wall - max(o["busy"] for o in outcomes)
        return outcomes


def one_run(
    bench: Benchmark,
    proposer: str,
    seed: int,
    workers: int,
    pair: RayPair | None,
    ppo: dict[str, Any],
    timers: PhaseTimers,
) -> tuple[dict[str, Any], float]:
    """(outcome, wall seconds) of one run on `workers` (samplers: on `pair`). With 2 workers the
    outcome merges both workers' records; their evaluations to the target are counted as twice
    the first worker's own count (they run at the same pace)."""
    started, startup = time.perf_counter(), timers.seconds.get(STARTUP, 0.0)
    if proposer in RL:
        outcomes = run_rl(bench, seed, workers, ppo, timers, proposer)
    elif proposer == "masked":
        outcomes = [run_masked(bench, seed, timers)]
    elif proposer in ("adapt", "adapt-landscape"):
        outcomes = [run_adapt(bench, seed, timers, "landscape" if proposer == "adapt-landscape" else "gradient")]
    elif proposer == "dqn":
        outcomes = [run_dqn(bench, seed, timers)]
    elif proposer == "beam":
        outcomes = [run_beam(bench, seed)]
    elif pair is not None:
        outcomes = pair.run(bench, proposer, seed, timers)
    else:
        outcomes = [run_sampler(bench, proposer, seed, timers)]
    wall = time.perf_counter() - started - (timers.seconds.get(STARTUP, 0.0) - startup)
    env_seconds = sum(o["env_seconds"] for o in outcomes)
    timers.seconds[EVALUATION] += env_seconds / workers  # the workers step in parallel
    if proposer in RL:  # the rollout's env steps are charged to evaluation
        timers.seconds["proposer: policy forward + vec-env IPC"] += timers.seconds.pop(ROLLOUT) - env_seconds / workers
    reached = [o["first_success"] for o in outcomes if o["first_success"] is not None]
    bests = [o["best"] for o in outcomes if o["best"] is not None]
    better = METRICS[bench.metric][1]
    first = min(reached, key=operator.itemgetter("steps")) if reached else None
    circuits = [o["best_circuit"] for o in outcomes if o["best_circuit"] is not None]
    merged = {
        # with 2 workers, evaluations of both are counted up to the first success of either
        "first_success": {unit: count if unit == "seconds" else count * len(outcomes) for unit, count in first.items()}
        if first else None,
        "best": better(bests) if bests else None,
        "scored": sum(o["scored"] for o in outcomes),
        "probes": sum(o["probes"] for o in outcomes),
        "best_circuit": min(circuits) if circuits else None,
    }
    return merged, wall


def spread(values: list[float], fmt: str) -> str:
    """Median (min-max); infinite values (target not reached) print as "–"."""
    if not values:
        return "–"
    cells = [f"{v:{fmt}}" if math.isfinite(v) else "–" for v in (statistics.median(values), min(values), max(values))]
    return f"{cells[0]} ({cells[1]} to {cells[2]})"


DEFINITION_KEYS = {"task": dict, "env": dict, "metric": str, "target": (int, float), "budget": int, "quick_budget": int}


def define_benchmark(name: str, file: Path) -> Benchmark:
    """A task of the user's own (`--define NAME=FILE`), fixed in a file before the runs: e.g. a
    molecule no shipped task names, over the Pauli rotations, to chemical accuracy,

        task: {name: molecule, symbols: [O, H, H], geometry: [[0, 0, 0], [0.757, 0.586, 0], [-0.757, 0.586, 0]],
               active_electrons: 4, active_orbitals: 3}
        env: {gate_set: pauli, max_gates: 20}
        metric: energy_error
        target: 0.0016
        budget: 3000

    `env` takes the design env's settings (`gate_set`, `space`, `max_gates`, `pool`, ...), `metric`
    one of METRICS. The env is built once here, so a bad task fails before any run."""
    if name in BENCHMARKS or not name.isidentifier():
        raise QnasError(f"NAME {name!r} must be a new identifier (the shipped tasks: {', '.join(BENCHMARKS)})")
    data = yaml.safe_load(file.read_text())  # JSON is YAML too
    if not isinstance(data, dict):
        raise QnasError(f"{file} must hold a mapping with the keys {list(DEFINITION_KEYS)}")
    missing = [key for key in ("task", "metric", "target", "budget") if key not in data]
    unknown = [key for key in data if key not in DEFINITION_KEYS]
    wrong = [key for key, kind in DEFINITION_KEYS.items() if key in data and not isinstance(data[key], kind)]
    problems = [f"{what} {keys}" for what, keys in (("missing", missing), ("unknown", unknown), ("of the wrong type", wrong)) if keys]
    if problems:
        raise QnasError(f"{file}: keys {', '.join(problems)}; the keys are "
                        + ", ".join(f"{key} ({getattr(kind, '__name__', 'number')})" for key, kind in DEFINITION_KEYS.items()))
    if data["metric"] not in METRICS:
        raise QnasError(not_allowed("metric", data["metric"], list(METRICS)))
    if data["budget"] < 2:
        raise QnasError(f"budget = {data['budget']} must be at least 2 evaluations")
    bench = Benchmark(data["task"], data.get("env", {}), data["metric"], float(data["target"]), data["budget"],
                      data.get("quick_budget", 0))
    bench.make_env().close()
    return bench


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", choices=list(TIERS), default="easy", help="the tasks run when --tasks is not given")
    parser.add_argument("--tasks", nargs="+", help=f"default: every task of --tier; known: {', '.join(BENCHMARKS)}")
    parser.add_argument("--define", action="append", default=[], metavar="NAME=FILE",
                        help="a task of your own from a YAML or JSON file (task, env, metric, target, budget; "
                             "see define_benchmark), then run it with --tasks NAME")
    parser.add_argument("--proposers", nargs="+", choices=PROPOSERS,
                        help="default: all (with --workers 2, all but masked, which runs on one worker)")
    parser.add_argument("--baseline", choices=PROPOSERS, default="random",
                        help="the proposer every other one is compared with (ratio, p-value)")
    parser.add_argument("--seeds", type=int, default=None, help=f"default 5 ({QUICK_SEEDS} with --quick)")
    parser.add_argument("--first-seed", type=int, default=0, help="run seeds first-seed .. first-seed + seeds - 1")
    parser.add_argument("--ppo", action="append", default=[], metavar="KEY=VALUE",
                        help="override a MaskablePPO setting of the rl proposer, e.g. --ppo n_steps=64")
    parser.add_argument("--budget", type=int, default=None, help="evaluations per run (default: the task's)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke check: each task's quick budget and {QUICK_SEEDS} seeds unless given")
    parser.add_argument("--workers", type=int, default=1, choices=(1, 2))
    parser.add_argument("--jobs", type=int, default=1,
                        help="seeds run side by side in forked processes, one core each (at most the free cores)")
    parser.add_argument("--profile", action="store_true", help="print where the time goes, per task")
    parser.add_argument("--against", metavar="TASK:PROPOSER",
                        help="also compare every proposer with another task's runs of PROPOSER, read from "
                             "--against-results: the same problem over another action set (e.g. lih6:masked for "
                             "lih6_pauli), with the same target and budget")
    parser.add_argument("--against-results", type=Path, metavar="FILE.jsonl",
                        help="the campaign file holding --against's runs (default: --results)")
    parser.add_argument("--results", type=Path, metavar="FILE.jsonl",
                        help="keep each finished run in this file and skip the runs it holds: a campaign "
                             "stopped half-way resumes where it stopped (1 worker, no --profile)")
    args = parser.parse_args()
    for definition in args.define:
        name, _, file = definition.partition("=")
        try:
            BENCHMARKS[name] = define_benchmark(name, Path(file))
        except (QnasError, OSError) as exc:
            parser.error(f"--define {definition!r}: {exc}")
    unknown = [task for task in args.tasks or () if task not in BENCHMARKS]
    if unknown:
        parser.error(f"--tasks {unknown} unknown; known: {', '.join(BENCHMARKS)} (or add one with --define NAME=FILE)")
    if args.seeds is None:
        args.seeds = QUICK_SEEDS if args.quick else 5
    args.tasks = args.tasks or list(TIERS[args.tier])
    args.named_proposers = args.proposers is not None
    args.proposers = args.proposers or [p for p in PROPOSERS if args.workers == 1 or p not in ONE_WORKER]
    if args.seeds < 1 or (args.budget is not None and args.budget < 2):
        parser.error(f"--seeds {args.seeds} must be at least 1 and --budget {args.budget} at least 2 (one step per worker)")
    if args.first_seed < 0:
        parser.error(f"--first-seed {args.first_seed} must be 0 or more (seeds are unsigned)")
    if args.jobs < 1 or (args.jobs > 1 and (args.workers > 1 or args.profile)):
        parser.error(f"--jobs {args.jobs} must be at least 1, and 1 with --workers 2 or --profile (they time one run)")
    if args.results and (args.workers > 1 or args.profile):
        parser.error("--results keeps runs on 1 worker without --profile (the runs a campaign compares); "
                     "drop --workers 2 / --profile, or --results")
    if args.workers == 2 and set(args.proposers) & set(ONE_WORKER):
        parser.error(f"the {'/'.join(ONE_WORKER)} proposers run on one worker; drop them from --proposers with --workers 2")
    if args.against:
        task, _, proposer = args.against.partition(":")
        if task not in BENCHMARKS or proposer not in PROPOSERS or not (args.against_results or args.results):
            parser.error(f"--against {args.against!r} must be TASK:PROPOSER with a known task and proposer "
                         "(e.g. lih6:masked), and its runs need --against-results or --results")
        args.against = (task, proposer)
    unbudgeted = [task for task in args.tasks if not BENCHMARKS[task].quick_budget]
    if args.quick and args.budget is None and unbudgeted:
        parser.error(f"--quick needs --budget for tasks without a quick budget: {unbudgeted}")
    try:
        args.ppo = parse_task_args(args.ppo, "--ppo")
    except QnasError as exc:
        parser.error(str(exc))
    return args


def leanest_two_qubit(bench: Benchmark, outcome: dict[str, Any], seed: int) -> int | None:
    """The CNOTs of the run's leanest circuit at the target after pruning (unpruned where the
    pruning replay misses the target); None when no circuit met it."""
    if outcome["best_circuit"] is None:
        return None
    pruned = pruned_two_qubit(bench, outcome["best_circuit"][2], seed)
    return outcome["best_circuit"][0] if pruned is None else pruned


def seed_run(bench: Benchmark, proposer: str, seed: int, ppo: dict[str, Any]) -> dict[str, Any]:
    """One seed on one worker (in a `--jobs` child too): its outcome, wall seconds and pruned CNOTs,
    as JSON types (what a campaign file holds)."""
    bench = acting_bench(bench, proposer)
    outcome, wall = one_run(bench, proposer, seed, 1, None, ppo, PhaseTimers())
    return run_result(bench, outcome, wall, seed)


def run_result(bench: Benchmark, outcome: dict[str, Any], wall: float, seed: int) -> dict[str, Any]:
    """A run's outcome, wall seconds and pruned CNOTs as they read back from a campaign file
    (tuples become lists), so fresh and resumed runs make the same table."""
    return json.loads(json.dumps({"outcome": outcome, "wall": wall, "cnots": leanest_two_qubit(bench, outcome, seed)}))


def proposer_row(bench: Benchmark, proposer: str, results: list[dict[str, Any]]) -> str:
    """One proposer's row of the cost table (`seed_run`'s results, one per seed); see `run_task`."""
    runs = [result["outcome"] for result in results]
    walls = [result["wall"] for result in results]
    cnots = [result["cnots"] for result in results if result["cnots"] is not None]
    def at_target(unit: str) -> list[float]:
        return [math.inf if r["first_success"] is None else r["first_success"][unit] for r in runs]

    steps = at_target("steps")
    per_seed = ", ".join("–" if math.isinf(v) else f"{v:g}" for v in steps)
    successes = f"{sum(map(math.isfinite, steps))}/{len(runs)}"
    bests = [r["best"] for r in runs if r["best"] is not None]
    fmt = ".2e" if bench.metric == "energy_error" else ".3f"
    probes = f"{spread(at_target('probes'), 'g')}; {spread([r['probes'] for r in runs], 'g')}"
    return (f"| {proposer} | {successes} | {spread(at_target('scored'), 'g')} | "
            f"{spread([r['scored'] for r in runs], 'g')} | "
            f"{per_seed} | {probes} | {spread(at_target('seconds'), '.1f')} | {spread(walls, '.1f')} | "
            f"{spread(bests, fmt)} | {spread(cnots, 'g') if cnots else '–'} |")


def progress(name: str, proposer: str, seed: int, result: dict[str, Any], done: int, total: int) -> None:
    """One line on stderr per finished run: a campaign runs for hours."""
    first = result["outcome"]["first_success"]
    reached = f"reached after {first['scored']} full evaluations" if first else "not reached"
    print(f"[{done}/{total}] {name} {proposer} seed {seed}: {reached}, {result['wall']:.0f} s", file=sys.stderr, flush=True)


def run_missing(name: str, bench: Benchmark, args: argparse.Namespace, missing: list[tuple[str, int]],
                records: RunRecords | None) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """`seed_run` for each (proposer, seed) of `missing`, `--jobs` side by side in forked processes
    (they inherit this process' imports), each appended to `records` as it finishes."""
    def finished(proposer: str, seed: int, result: dict[str, Any], done: int) -> tuple[str, int, dict[str, Any]]:
        if records is not None:
            records.add(name, dataclasses.asdict(bench), args.ppo, proposer, seed, result)
        progress(name, proposer, seed, result, done, len(missing))
        return proposer, seed, result

    if args.jobs == 1:
        for done, (proposer, seed) in enumerate(missing, 1):
            yield finished(proposer, seed, seed_run(bench, proposer, seed, args.ppo), done)
        return
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = {pool.submit(seed_run, bench, proposer, seed, args.ppo): (proposer, seed) for proposer, seed in missing}
        for done, future in enumerate(as_completed(futures), 1):
            yield finished(*futures[future], future.result(), done)


def profiled_runs(name: str, bench: Benchmark, args: argparse.Namespace, proposers: list[str], pair: RayPair | None,
                  seeds: range) -> dict[str, tuple[PhaseTimers, list[dict[str, Any]]]]:
    """Every proposer's runs one after the other (`--workers 2` or `--profile`): the phase timers
    and the results per proposer, cProfile's top functions printed with `--profile` on 1 worker."""
    profiles = {}
    for proposer in proposers:
        timers, results = PhaseTimers(), []
        acting = acting_bench(bench, proposer)
        profiler = cProfile.Profile() if args.profile and args.workers == 1 else None
        for seed in seeds:
            if profiler:
                profiler.enable()
            outcome, wall = one_run(acting, proposer, seed, args.workers, pair, args.ppo, timers)
            if profiler:
                profiler.disable()
            results.append(run_result(acting, outcome, wall, seed))
        profiles[proposer] = (timers, results)
        if profiler:
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime")
            print(f"\ncProfile, {name}, {proposer}: functions by own time")
            stats.print_stats(8)
    return profiles


def run_task(name: str, bench: Benchmark, args: argparse.Namespace, pair: RayPair | None,
             records: RunRecords | None) -> None:
    """Every proposer on one task: the cost table, the comparison table, and profiles if asked.
    Runs that `records` holds under today's definition are not run again."""
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    proposers = [p for p in args.proposers if applies(p, bench)]
    if args.named_proposers and len(proposers) < len(args.proposers):
        left_out = sorted(set(args.proposers) - set(proposers))
        print(f"{name}: {', '.join(left_out)} left out: screening needs Pauli rotations (the pauli tier), "
              "a curriculum an energy target", file=sys.stderr)
    if args.workers > 1 or args.profile:
        profiles = profiled_runs(name, bench, args, proposers, pair, seeds)
        results = {proposer: runs for proposer, (_, runs) in profiles.items()}
    else:
        profiles = {}
        held: dict[tuple[str, int], dict[str, Any]] = {}
        if records is not None:
            records.select(name, dataclasses.asdict(bench), args.ppo)
            held = {(p, s): r["result"] for p in proposers for s in seeds if (r := records.get(name, p, s))}
        # seed by seed, so a campaign stopped half-way leaves every proposer about as many seeds
        missing = [(p, s) for s in seeds for p in proposers if (p, s) not in held]
        if records is not None:
            print(f"{name}: {len(held)} runs from {records.path}, {len(missing)} to run"
                  f"{f', {records.stale} stale (another definition of the task) left out' if records.stale else ''}",
                  file=sys.stderr, flush=True)
        held.update({(p, s): result for p, s, result in run_missing(name, bench, args, missing, records)})
        results = {p: [held[(p, s)] for s in seeds] for p in proposers}
    sign = {"fidelity": ">", "energy_error": "<=", "val_accuracy": ">="}[bench.metric]
    print(f"### {name}: {bench.task}, actions {bench.env or 'the space default'}, target {bench.metric} {sign} "
          f"{bench.target:g}, budget {bench.budget} evaluations, seeds {seeds[0]}-{seeds[-1]}, {args.workers} worker(s)"
          f"{f', PPO overrides {args.ppo}' if args.ppo else ''}\n")
    print("| proposer | success | full evaluations to target: median (range; – = not reached) "
          "| full evaluations at the budget | env steps to target, per seed | cheap probes: to target; at the budget "
          f"| wall s to target | wall s at the budget | best {bench.metric} at the budget "
          "| CNOTs of the leanest circuit at the target, pruned |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for proposer in proposers:
        print(proposer_row(bench, proposer, results[proposer]), flush=True)
    if args.baseline in results and len(results) > 1:
        print(f"\n| {name}: proposer vs {args.baseline} {COMPARISON_HEADER}")
        for proposer, runs in results.items():
            if proposer != args.baseline:
                print(f"| {proposer} | {comparison_cells(runs, results[args.baseline], bench.budget)} |")
    if args.against:
        print_against(name, bench, results, args, seeds)
    for proposer, (timers, runs) in profiles.items():
        seconds = dict(timers.seconds)
        startup = seconds.pop(STARTUP, 0.0)
        outside = f" (+ {startup:.1f} s of env subprocess start-up, not in the wall time)" if startup else ""
        title = f"Profile, {name}, {proposer}, {args.seeds} runs on {args.workers} worker(s){outside}"
        print_phases(title, seconds, sum(r["wall"] for r in runs))
    print()


COMPARISON_HEADER = (
    "| median full evaluations to target, ratio [bootstrap 95%] | one-sided Mann-Whitney p (fewer) "
    "| censored runs: proposer, baseline | one-sided Fisher p (more successes) "
    "| median wall s to target, ratio [bootstrap 95%] | one-sided Mann-Whitney p (sooner) |\n"
    "|---|---|---|---|---|---|---|"
)


def to_target(result: dict[str, Any], unit: str) -> float | None:
    """A run's cost to the target in `unit` ("scored": full evaluations, "seconds": wall time);
    None where it never reached it within the budget."""
    first = result["outcome"]["first_success"]
    return None if first is None else first[unit]


def comparison_cells(results: list[dict[str, Any]], baseline: list[dict[str, Any]], budget: int) -> str:
    """One proposer's runs against the baseline's (`run_result`s, seed for seed): full evaluations
    to the target, then wall seconds to it, screening included (the Tally's clock runs from the
    env's creation). A run that never reached the target is censored at the slowest run's wall
    time at the budget, which is above every run's time to the target."""
    evaluations = compare([to_target(r, "scored") for r in results], [to_target(r, "scored") for r in baseline], budget)
    mine, theirs = [to_target(r, "seconds") for r in results], [to_target(r, "seconds") for r in baseline]
    ceiling = math.ceil(max([r["wall"] for r in results + baseline] + [t for t in mine + theirs if t is not None]))
    wall = compare(mine, theirs, ceiling)
    return f"{evaluations.row()} | {wall.interval()} | {wall.p_value:.3g}"


def print_against(name: str, bench: Benchmark, results: dict[str, list[dict[str, Any]]], args: argparse.Namespace,
                  seeds: range) -> None:
    """Every proposer of `name` against another task's runs of one proposer (`--against`), seed for seed."""
    task, proposer = args.against
    other = BENCHMARKS[task]
    if (other.metric, other.target, other.budget) != (bench.metric, bench.target, bench.budget):
        print(f"\n{name} is not compared with {task}: their targets or budgets differ.")
        return
    records = RunRecords(args.against_results or args.results)
    records.select(task, dataclasses.asdict(other), args.ppo)
    runs = [records.get(task, proposer, seed) for seed in seeds]
    missing = [seed for seed, run in zip(seeds, runs, strict=True) if run is None]
    if missing:
        print(f"\n{name} is not compared with {task}'s {proposer}: {records.path} lacks its seeds {missing}.")
        return
    baseline = [run["result"] for run in runs]
    print(f"\n| {name}: proposer vs {task}'s {proposer} ({other.env.get('gate_set')}) {COMPARISON_HEADER}")
    for mine, mine_runs in results.items():
        print(f"| {mine} | {comparison_cells(mine_runs, baseline, bench.budget)} |")


def main() -> None:
    args = parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)
    startup = PhaseTimers()
    pair = RayPair(startup) if args.workers == 2 and set(args.proposers) - {"rl"} else None
    if startup.seconds:
        print("one-off start-up: " + ", ".join(f"{k} {v:.1f} s" for k, v in startup.seconds.items()) + "\n")
    records = RunRecords(args.results) if args.results else None
    for name in args.tasks:
        budget = args.budget or (BENCHMARKS[name].quick_budget if args.quick else BENCHMARKS[name].budget)
        run_task(name, dataclasses.replace(BENCHMARKS[name], budget=budget), args, pair, records)


if __name__ == "__main__":
    main()
