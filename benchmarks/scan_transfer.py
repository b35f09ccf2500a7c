"""Transfer along a potential-energy curve: what a whole curve costs ADAPT, warm-started from the
point before (as `qnas scan` runs it), against masked random search at every point (issue 21,
point 4).

Each point is LiH in the `molecule` task at one bond length, in one of two forms (`--curve`):
- `lih6`: STO-3G, 2 active electrons in 3 active orbitals: 6 qubits, Jordan-Wigner;
- `lih4`: the papers' LiH-4 (Ostaszewski et al. 2021, CRLQAS 2024), 4 qubits: the same molecule
  with orbitals 1, 2 and 5 active, parity-mapped with the two-qubit reduction. At 1.2, 2.2 and
  3.4 Å it is the shipped `lih_4q_parity_*.npz` (tested in `tests/test_tasks_hamiltonians.py`).
Its action set is the design env's Pauli rotations
(`gate_set="pauli"`, the `all` pool, at most 20). The target is chemical accuracy. Per seed the
cost of the curve is the sum, over its points, of the full evaluations to the target (angles
optimized); a point never reached within the budget counts as budget + 1:

- adapt + transfer: at each point, ADAPT's episodes start from the previous point's successful
  circuit (the env's warm start: placed at once and its angles optimized once, one full
  evaluation), then screen on (greedy first, then a beam of 3), until the target;
- adapt: the same without the warm start, to show what the transfer itself saves;
- masked: masked random search at each point on its own (`masked_random.py`).

Cheap probes (screened rotations) are counted apart. The ratio of the medians of the curve costs
comes with a bootstrap 95% interval and a one-sided Mann-Whitney p (`proposer_statistics.py`).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scan_transfer.py --seeds 10 --curve lih4
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from proposer_statistics import median_ratio_interval
from scipy.stats import mannwhitneyu
from search_efficiency import Benchmark, PhaseTimers, Tally, run_masked

from qnas.agents.adapt import AdaptScreen
from qnas.envs.scoring import CHEMICAL_ACCURACY

BONDS = (0.8, 1.1, 1.4, 1.7, 2.0, 2.3, 2.6, 2.9, 3.2, 3.4)
CURVES = {
    "lih6": ({"name": "molecule", "symbols": ["Li", "H"], "active_electrons": 2, "active_orbitals": 3},
             "LiH (2e, 3o), 6 qubits, Jordan-Wigner"),
    "lih4": ({"name": "molecule", "symbols": ["Li", "H"], "active_electrons": 2, "active_orbitals": [1, 2, 5],
              "mapping": "parity", "two_qubit_reduction": True}, "LiH-4 (orbitals 1, 2, 5; parity, two-qubit reduction)"),
}
PAULI = {"gate_set": "pauli", "max_gates": 20}


def point(curve: str, bond: float, budget: int) -> Benchmark:
    return Benchmark({**CURVES[curve][0], "bond_length": bond}, PAULI, "energy_error", CHEMICAL_ACCURACY, budget)


def adapt_until_reached(bench: Benchmark, seed: int, warm: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """ADAPT episodes until the target or the budget, each starting from `warm` (the env's warm
    start: placed at once, its angles optimized once, one full evaluation); the outcome and the
    action labels of the circuit that reached it (empty if none did)."""
    env = Tally(bench.make_env(), bench)
    screen = AdaptScreen(env)
    labels = [action.label for action in env.unwrapped.actions]
    start = [labels.index(label) for label in warm]
    rng = np.random.default_rng(seed)
    episode = 0
    while env.evaluations < bench.budget and env.first_success is None:
        env.reset(seed=seed * 1_000_003 + episode, options={"actions": start} if start else None)
        placed, done = [labels[a] for a in start], env.first_success is not None
        while not done and env.evaluations < bench.budget:
            probes = screen.probes
            action = screen.choose(None if episode == 0 else rng)
            env.count_probes(screen.probes - probes)
            *_, terminated, truncated, _ = env.step(action)
            placed.append(labels[action])
            done = terminated or truncated
        episode += 1
        if env.first_success is not None:
            return env.outcome(), [label for label in placed if label != "stop"]
    return env.outcome(), []


def curve_cost(curve: str, seed: int, budget: int, proposer: str) -> tuple[int, int]:
    """(full evaluations to the target summed over the curve, cheap probes) for one seed."""
    evaluations = probes = 0
    warm: list[str] = []
    for bond in BONDS:
        bench = point(curve, bond, budget)
        if proposer == "masked":
            outcome = run_masked(bench, seed, PhaseTimers())
        else:
            outcome, reached = adapt_until_reached(bench, seed, warm if proposer == "adapt+transfer" else ())
            warm = reached or warm
        first = outcome["first_success"]
        evaluations += budget + 1 if first is None else first["scored"]
        probes += 0 if first is None else first["probes"]
    return evaluations, probes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=300, help="env steps per point and proposer")
    parser.add_argument("--curve", choices=sorted(CURVES), default="lih6")
    args = parser.parse_args()
    costs: dict[str, list[int]] = {}
    for bond in BONDS:  # build each molecule once before any timing (the task cache keeps it)
        point(args.curve, bond, args.budget).make_env().close()
    print(f"{CURVES[args.curve][1]}, {len(BONDS)} bond lengths {BONDS[0]}-{BONDS[-1]} Å, Pauli rotations, "
          f"target {CHEMICAL_ACCURACY} Ha, budget {args.budget} steps per point, seeds 0-{args.seeds - 1}\n")
    print("| proposer | full evaluations for the curve: median (range) | cheap probes: median | wall s per seed |")
    print("|---|---|---|---|")
    for proposer in ("adapt+transfer", "adapt", "masked"):
        started = time.perf_counter()
        runs = [curve_cost(args.curve, seed, args.budget, proposer) for seed in range(args.seeds)]
        costs[proposer] = [evaluations for evaluations, _ in runs]
        wall = (time.perf_counter() - started) / args.seeds
        print(f"| {proposer} | {statistics.median(costs[proposer]):g} ({min(costs[proposer])} to {max(costs[proposer])}) "
              f"| {statistics.median(p for _, p in runs):g} | {wall:.1f} |", flush=True)
    print("\n| vs masked | ratio of medians [bootstrap 95%] | one-sided Mann-Whitney p (fewer) |\n|---|---|---|")
    baseline = np.array(costs["masked"], dtype=float)
    for proposer in ("adapt+transfer", "adapt"):
        x = np.array(costs[proposer], dtype=float)
        ratio, low, high = median_ratio_interval(x, baseline)
        p_value = mannwhitneyu(x, baseline, alternative="less").pvalue
        print(f"| {proposer} | {ratio:.3f} [{low:.3f}, {high:.3f}] | {p_value:.3g} |")


if __name__ == "__main__":
    main()
