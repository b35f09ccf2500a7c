"""benchmarks/search_efficiency.py's hard tier (issue 20, points 3-7): its tasks, the masked random
proposer, the three cost units, the pruned CNOT count, and a tiny end-to-end report."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

BENCHMARKS_DIR = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture()
def efficiency(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS_DIR))
    import search_efficiency

    return search_efficiency


class Refusals(gym.Wrapper):
    """Counts the steps the environment refused."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.refused = 0

    def step(self, action):
        out = self.env.step(action)
        self.refused += out[4]["invalid_action"]
        return out


def test_every_hard_task_states_its_action_set_target_budget_and_quick_budget(efficiency) -> None:
    assert set(efficiency.HARD) == {"lih6", "lih4_2.2", "lih4_3.4", "beh2", "tfim8", "ghz5"}
    assert set(efficiency.PAULI) == {f"{name}_pauli" for name in efficiency.HARD}
    for bench in efficiency.HARD.values():
        assert bench.env["gate_set"] in ("blocks", "space", "qas-gym")
        assert 0 < bench.quick_budget < bench.budget and bench.target > 0
    assert efficiency.HARD["ghz5"].env["gate_set"] == "qas-gym"
    assert efficiency.HARD["lih4_3.4"].env == {**efficiency.SINGLE_RY_CNOT, "max_gates": 40}  # the published limit
    beh2 = efficiency.HARD["beh2"].task
    assert 2 * beh2["active_orbitals"] == 6 and beh2["active_electrons"] == 4  # 6 qubits


def test_the_tfim8_target_is_a_relative_error_of_1e_3(efficiency) -> None:
    from qnas.tasks import make_task

    exact = make_task(efficiency.HARD["tfim8"].task).exact_energy
    assert efficiency.TFIM8_EXACT == pytest.approx(exact, abs=1e-9)
    assert efficiency.HARD["tfim8"].target == pytest.approx(1e-3 * abs(exact))


def test_masked_random_never_draws_an_illegal_action(efficiency) -> None:
    bench = dataclasses.replace(efficiency.BENCHMARKS["ghz3"], budget=300)
    refusals = Refusals(bench.make_env())
    env = efficiency.Tally(refusals, bench)
    efficiency.play_masked_random(env, seed=0, evaluations=bench.budget, timers=efficiency.PhaseTimers())
    assert env.evaluations == 300 and refusals.refused == 0


def test_masked_random_replays_exactly_from_its_seed(efficiency) -> None:
    bench = dataclasses.replace(efficiency.BENCHMARKS["ghz3"], budget=100)
    outcomes = [efficiency.run_masked(bench, 3, efficiency.PhaseTimers()) for _ in range(2)]
    for outcome in outcomes:
        outcome.pop("env_seconds")
        if outcome["first_success"]:
            outcome["first_success"].pop("seconds")
    assert outcomes[0] == outcomes[1]


def test_tally_counts_probes_and_keeps_the_leanest_circuit_at_the_target(efficiency) -> None:
    bench = dataclasses.replace(efficiency.BENCHMARKS["bell"], budget=20)
    env = efficiency.Tally(bench.make_env(), bench)
    labels = [action.label for action in env.unwrapped.actions]
    env.count_probes(4)
    for seed, episode in enumerate([("Z0", "H0", "CNOT0,1"), ("H0", "CNOT0,1")]):
        env.reset(seed=seed)
        for label in episode:
            env.step(labels.index(label))
    assert env.first_success["probes"] == 4 and env.first_success["seconds"] > 0
    n_two_qubit, n_gates, actions = env.best_circuit
    assert (n_two_qubit, n_gates) == (1, 2) and [labels[a] for a in actions] == ["H0", "CNOT0,1"]
    assert env.outcome()["scored"] == 5 and env.outcome()["probes"] == 4


def test_pruning_drops_the_gates_that_do_nothing(efficiency) -> None:
    bench = efficiency.BENCHMARKS["ghz3"]
    labels = [action.label for action in bench.make_env().unwrapped.actions]
    # H0 CNOT0,1 CNOT1,2 prepares GHZ-3; CNOT0,2 CNOT0,2 around X1 X1 cancel in pairs
    circuit = tuple(labels.index(g) for g in ("H0", "X1", "CNOT0,1", "X1", "CNOT0,2"))
    assert efficiency.pruned_two_qubit(bench, circuit, seed=0) == 2


def test_a_tiny_report_has_every_cost_column_and_the_statistics(efficiency, monkeypatch, capsys) -> None:
    argv = ["search_efficiency.py", "--tasks", "lih4_2.2", "--proposers", "random", "masked", "--seeds", "2",
            "--budget", "12"]
    monkeypatch.setattr(sys, "argv", argv)
    efficiency.main()
    out = capsys.readouterr().out
    costs, comparisons = out.split("proposer vs random")
    rows = {line.split("|")[1].strip(): line for line in costs.splitlines() if line.startswith("| ")}
    assert "budget 12 evaluations" in out and "'gate_set': 'space'" in out
    for proposer in ("random", "masked"):
        cells = rows[proposer].split("|")[1:-1]
        assert len(cells) == 10 and cells[1].strip().endswith("/2")
        assert cells[5].strip().endswith("; 0 (0 to 0)")  # cheap probes at the budget: none for today's proposers
    masked = next(line for line in comparisons.splitlines() if line.startswith("| masked |"))
    ratio, p_value, censored, _, wall_ratio, wall_p = (cell.strip() for cell in masked.split("|")[2:8])
    assert "[" in ratio and 0.0 <= float(p_value) <= 1.0 and censored.count("/2") == 2
    assert "[" in wall_ratio and 0.0 <= float(wall_p) <= 1.0  # wall seconds to the target, screening included


def test_wall_time_to_target_censors_a_run_that_never_reached_it_above_every_success(efficiency) -> None:
    def run(seconds: float | None, wall: float) -> dict:
        first = None if seconds is None else {"scored": 5, "seconds": seconds}
        return {"outcome": {"first_success": first}, "wall": wall}

    fast = [run(1.0, 9.0), run(2.0, 9.0), run(1.5, 9.0)]
    slow = [run(None, 40.0), run(30.0, 40.0), run(None, 40.0)]  # two never reached it: censored above 30 s
    cells = [cell.strip() for cell in efficiency.comparison_cells(fast, slow, budget=10).split("|")]
    assert cells[4].startswith(f"{1.5 / 41:.2f} [")  # the baseline's median: a censored run, at ceil(40 s) + 1
    assert float(cells[5]) < 0.1


def test_seeds_side_by_side_count_what_they_count_one_after_the_other(efficiency, monkeypatch, capsys) -> None:
    def rows(jobs: str) -> dict[str, list[str]]:
        argv = ["search_efficiency.py", "--tasks", "ghz3", "--proposers", "random", "masked", "--seeds", "2",
                "--budget", "60", "--jobs", jobs]
        monkeypatch.setattr(sys, "argv", argv)
        efficiency.main()
        costs = capsys.readouterr().out.split("proposer vs random")[0]
        table = [line.split("|")[1:-1] for line in costs.splitlines() if line.startswith("| ") and line.endswith("|")]
        return {cells[0]: cells[1:6] + cells[8:] for cells in table[1:]}  # the runs' rows, all but the wall seconds

    assert rows("2") == rows("1")


def test_adapt_charges_each_screened_operator_as_a_cheap_probe(efficiency) -> None:
    bench = dataclasses.replace(efficiency.PAULI["lih6_pauli"], budget=12)
    outcome = efficiency.run_adapt(bench, seed=0, timers=efficiency.PhaseTimers())
    pool = len(bench.make_env().unwrapped.actions) - 1
    first = outcome["first_success"]
    assert first["scored"] <= 6 and first["probes"] == first["steps"] * pool  # one screen per step
    assert outcome["probes"] == 12 * pool and outcome["best_circuit"][0] > 0


def test_a_campaign_file_keeps_each_run_and_a_rerun_runs_none_again(efficiency, monkeypatch, capsys,
                                                                     tmp_path) -> None:
    results = tmp_path / "campaign.jsonl"

    def report(*flags: str) -> tuple[str, str]:
        argv = ["search_efficiency.py", "--tasks", "ghz3", "--proposers", "random", "masked", "--budget", "30",
                "--results", str(results), *flags]
        monkeypatch.setattr(sys, "argv", argv)
        efficiency.main()
        captured = capsys.readouterr()
        return captured.out, captured.err

    first, log = report("--seeds", "2")
    assert "ghz3: 0 runs from" in log and log.count("] ghz3 ") == 4 and len(results.read_text().splitlines()) == 4
    again, log = report("--seeds", "2")
    assert again == first and "ghz3: 4 runs from" in log and "0 to run" in log and "] ghz3 " not in log
    # a campaign killed while writing leaves a cut line: that run alone is run again
    lines = results.read_text().splitlines()
    results.write_text("\n".join(lines[:3]) + "\n" + lines[3][:40])
    again, log = report("--seeds", "2")
    assert again == first and "campaign.jsonl:4: not a complete record" in log and log.count("] ghz3 ") == 1
    # another budget is another benchmark: its runs are not mixed with the first's
    _, log = report("--seeds", "1", "--budget", "20")
    assert "ghz3: 0 runs from" in log and "4 stale (another definition of the task) left out" in log


def test_the_beam_acts_on_a_spaces_gates_as_blocks(efficiency) -> None:
    hard, pauli = efficiency.HARD, efficiency.PAULI
    assert efficiency.applies("beam", hard["lih4_2.2"]) and efficiency.applies("beam", hard["lih6"])
    assert not efficiency.applies("beam", hard["ghz5"]) and not efficiency.applies("beam", pauli["lih6_pauli"])
    acting = efficiency.acting_bench(hard["lih4_2.2"], "beam")
    assert acting.env == {**hard["lih4_2.2"].env, "gate_set": "blocks"} and acting.target == hard["lih4_2.2"].target
    assert efficiency.acting_bench(hard["lih4_2.2"], "masked") is hard["lih4_2.2"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [(["--workers", "2", "--proposers", "masked"], "masked/adapt/adapt-landscape/rl-screen/rl-curriculum/dqn/beam proposers run on one worker"),
     (["--jobs", "2", "--profile"], "--jobs 2 must be at least 1, and 1 with --workers 2 or --profile"),
     (["--profile", "--results", "r.jsonl"], "--results keeps runs on 1 worker without --profile"),
     (["--against", "ghz5"], "--against 'ghz5' must be TASK:PROPOSER"),
     (["--against", "ghz5:masked"], "its runs need --against-results or --results")],
)
def test_flags_that_cannot_go_together_are_refused(efficiency, monkeypatch, capsys, flags, message) -> None:
    monkeypatch.setattr(sys, "argv", ["search_efficiency.py", *flags])
    with pytest.raises(SystemExit) as exit_code:
        efficiency.parse_args()
    assert exit_code.value.code == 2 and message in capsys.readouterr().err


def test_a_task_of_ones_own_is_defined_in_a_file_and_run_like_a_shipped_one(efficiency, monkeypatch, capsys,
                                                                             tmp_path) -> None:
    monkeypatch.setattr(efficiency, "BENCHMARKS", dict(efficiency.BENCHMARKS))
    file = tmp_path / "chain.yaml"
    file.write_text("task: {name: tfim, n: 3, J: 1.0, h: 0.5}\nenv: {gate_set: pauli, max_gates: 6}\n"
                    "metric: energy_error\ntarget: 0.01\nbudget: 12\n")
    argv = ["search_efficiency.py", "--define", f"chain3={file}", "--tasks", "chain3", "--proposers", "masked", "adapt",
            "--baseline", "masked", "--seeds", "2"]
    monkeypatch.setattr(sys, "argv", argv)
    efficiency.main()
    out = capsys.readouterr().out
    assert "### chain3: {'name': 'tfim', 'n': 3, 'J': 1.0, 'h': 0.5}, actions {'gate_set': 'pauli', 'max_gates': 6}" in out
    assert "| chain3: proposer vs masked |" in out and "\n| adapt | " in out


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [("mine", "task: {name: tfim, n: 3}\nmetric: energy_error\n", "keys missing ['target', 'budget']; the keys are task (dict)"),
     ("mine", "task: {name: tfim, n: 3}\nmetric: energy\ntarget: 0.1\nbudget: 10\n", "metric = 'energy' is not allowed"),
     ("mine", "task: {name: tfim, n: 3}\nmetric: energy_error\ntarget: 0.1\nbudget: 10\nseeds: 3\n", "keys unknown ['seeds']"),
     ("mine", "task: {name: tfim, n: 3}\nmetric: energy_error\ntarget: small\nbudget: 10\n", "keys of the wrong type ['target']"),
     ("mine", "task: {name: tfim, n: 3}\nenv: {gate_set: magic}\nmetric: energy_error\ntarget: 0.1\nbudget: 10\n",
      "gate_set = 'magic' is not allowed"),
     ("lih6", "task: {name: tfim, n: 3}\nmetric: energy_error\ntarget: 0.1\nbudget: 10\n",
      "NAME 'lih6' must be a new identifier")],
)
def test_a_bad_task_definition_is_refused_with_what_to_fix(efficiency, monkeypatch, capsys, tmp_path, name, text,
                                                            message) -> None:
    monkeypatch.setattr(efficiency, "BENCHMARKS", dict(efficiency.BENCHMARKS))
    file = tmp_path / "mine.yaml"
    file.write_text(text)
    monkeypatch.setattr(sys, "argv", ["search_efficiency.py", "--define", f"{name}={file}", "--tasks", name])
    with pytest.raises(SystemExit):
        efficiency.parse_args()
    assert message in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", ["search_efficiency.py", "--tasks", "nope"])
    with pytest.raises(SystemExit):
        efficiency.parse_args()
    assert "--tasks ['nope'] unknown" in capsys.readouterr().err


def test_against_compares_seed_for_seed_with_another_tasks_runs(efficiency, monkeypatch, capsys, tmp_path) -> None:
    """GHZ-5 over Pauli rotations against masked random over qas-gym's gates: the other task's runs
    come from its campaign file, under its own definition; a missing seed is named, not guessed."""
    from campaign_records import RunRecords

    file = tmp_path / "hard.jsonl"
    ghz5 = efficiency.BENCHMARKS["ghz5"]
    records = RunRecords(file)
    for seed, first in ((0, None), (1, {"scored": 9000, "seconds": 50.0}), (2, None)):
        outcome = {"first_success": first, "best": 0.5, "scored": 10000, "probes": 0, "best_circuit": None}
        records.add("ghz5", dataclasses.asdict(ghz5), {}, "masked", seed, {"outcome": outcome, "wall": 1.0, "cnots": None})
    monkeypatch.setattr(sys, "argv", ["search_efficiency.py", "--against", "ghz5:masked", "--against-results", str(file)])
    args = efficiency.parse_args()
    adapt = {"outcome": {"first_success": {"scored": 1, "seconds": 0.5}}, "wall": 30.0}
    efficiency.print_against("ghz5_pauli", efficiency.PAULI["ghz5_pauli"], {"adapt": [adapt] * 3}, args, range(3))
    out = capsys.readouterr().out
    assert "| ghz5_pauli: proposer vs ghz5's masked (qas-gym) |" in out
    # adapt's median 1 against a median censored at the budget (10001): the ratio, and 2 of 3 censored;
    # its 0.5 s against a median censored above the slowest run (50 s)
    assert "| adapt | 1.0e-04 [" in out and "| 0/3, 2/3 |" in out and f"| {0.5 / 51:.1e} [" in out
    efficiency.print_against("ghz5_pauli", efficiency.PAULI["ghz5_pauli"], {"adapt": [adapt] * 4}, args, range(4))
    assert "lacks its seeds [3]" in capsys.readouterr().out
    efficiency.print_against("lih6_pauli", efficiency.PAULI["lih6_pauli"], {"adapt": [adapt]}, args, range(1))
    assert "lih6_pauli is not compared with ghz5: their targets or budgets differ." in capsys.readouterr().out


@pytest.mark.slow  # every hard task and proposer, 1 seed, the quick budgets: a few minutes
def test_the_quick_hard_tier_prints_a_table_and_comparisons_per_task(tmp_path: Path) -> None:
    script = str(BENCHMARKS_DIR / "search_efficiency.py")
    command = [sys.executable, script, "--tier", "hard", "--quick", "--seeds", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900, check=True).stdout
    for name in ("lih6", "lih4_2.2", "lih4_3.4", "tfim8", "ghz5"):
        assert f"### {name}:" in out and f"| {name}: proposer vs random |" in out
    assert "### beh2:" in out
    assert np.sum([line.startswith("| rl |") for line in out.splitlines()]) >= 5
