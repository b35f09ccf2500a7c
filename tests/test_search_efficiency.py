"""benchmarks/search_efficiency.py: what it counts, and a one-seed run of every proposer."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS_DIR = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture()
def efficiency(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS_DIR))
    import search_efficiency

    return search_efficiency


def _bell_run(efficiency, budget: int, *episodes: tuple[str, ...]):
    """A Tally on Bell that has played `episodes` (action labels; by default one that reaches the
    Bell state at its third evaluation), each from its own reset."""
    bench = dataclasses.replace(efficiency.BENCHMARKS["bell"], budget=budget)
    env = efficiency.Tally(bench.make_env(), bench)
    labels = [action.label for action in env.unwrapped.actions]
    for seed, episode in enumerate(episodes or [("Z0", "H0", "CNOT0,1")]):
        env.reset(seed=seed)
        for label in episode:
            env.step(labels.index(label))
    return env


def test_tally_records_the_first_evaluation_that_meets_the_target(efficiency) -> None:
    env = _bell_run(efficiency, budget=10)
    assert env.evaluations == 3
    assert env.first_success.pop("seconds") > 0
    assert env.first_success == {"steps": 3, "scored": 3, "circuits": 3, "probes": 0}
    assert env.best == pytest.approx(1.0)


def test_tally_scores_neither_stop_nor_refused_actions_and_counts_a_repeated_circuit_once(efficiency) -> None:
    # H twice in a row is refused and stop scores nothing; H0 in the second episode is a repeat
    env = _bell_run(efficiency, 10, ("H0", "H0", "stop"), ("H0", "CNOT0,1"))
    counts = {unit: env.first_success[unit] for unit in ("steps", "scored", "circuits")}
    assert counts == {"steps": 5, "scored": 3, "circuits": 2}


def test_tally_ignores_evaluations_past_the_budget(efficiency) -> None:
    env = _bell_run(efficiency, budget=2)
    assert env.evaluations == 3
    assert env.first_success is None
    assert env.best == pytest.approx(0.5)  # H0|00>: half the Bell state


@pytest.mark.slow  # a fresh subprocess: it imports torch, PennyLane and SB3, then runs all four proposers
def test_one_seed_of_every_proposer_prints_a_row(tmp_path: Path) -> None:
    command = [sys.executable, str(BENCHMARKS_DIR / "search_efficiency.py"), "--tasks", "bell", "--seeds", "1",
               "--budget", "40"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=True).stdout
    rows = {line.split("|")[1].strip(): line for line in out.splitlines() if line.startswith("| ") and "/1 |" in line}
    assert set(rows) == {"random", "masked", "tpe", "nsga2", "rl"}


def test_a_budget_below_one_step_per_worker_is_refused() -> None:
    command = [sys.executable, str(BENCHMARKS_DIR / "search_efficiency.py"), "--budget", "1"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "--budget 1 at least 2" in result.stderr


def test_ppo_overrides_replace_the_budget_derived_rollout(efficiency) -> None:
    assert efficiency.ppo_settings(2000, 1, {})["n_steps"] == 128  # about 8 updates in 2,000 steps
    assert efficiency.ppo_settings(2000, 2, {})["n_steps"] == 64  # split between the 2 environments
    tuned = efficiency.ppo_settings(2000, 1, {"n_steps": 32, "learning_rate": 1e-3})
    assert tuned["n_steps"] == 32 and tuned["learning_rate"] == 1e-3 and tuned["batch_size"] == 64


def test_a_malformed_ppo_override_is_refused() -> None:
    command = [sys.executable, str(BENCHMARKS_DIR / "search_efficiency.py"), "--ppo", "n_steps"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "--ppo 'n_steps' must look like KEY=VALUE" in result.stderr


def test_a_negative_first_seed_is_refused() -> None:
    command = [sys.executable, str(BENCHMARKS_DIR / "search_efficiency.py"), "--first-seed", "-1"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "--first-seed -1 must be 0 or more" in result.stderr
