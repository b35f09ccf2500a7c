"""The block beam (`qnas.agents.block_beam`) and `--agent beam`: circuits grown by CNOT count reach
LiH-4's chemical accuracy with at most 4 CNOTs (issue 21, point 6's circuits)."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import optuna
import pytest

from qnas.agents.block_beam import BlockBeam
from qnas.envs import CIRCUIT_DESIGN_ID
from qnas.envs.scoring import CHEMICAL_ACCURACY
from qnas.errors import QnasError
from qnas.search import SearchConfig, run_search
from qnas.search_spaces import load_space
from qnas.tasks import make_task

ROOT = Path(__file__).resolve().parents[1]
LIH4 = ROOT.parent / "shared" / "benchmarks" / "hamiltonians" / "lih_4q_parity_{}A.npz"
SPACE = ROOT / "benchmarks" / "spaces" / "vqe_ry_cnot.yaml"


def lih4_env(bond: str, **options):
    task = make_task({"name": "npz", "path": str(LIH4).format(bond)})
    return gym.make(CIRCUIT_DESIGN_ID, task=task, space=load_space(str(SPACE)), gate_set="blocks",
                    threshold=CHEMICAL_ACCURACY, **{"max_gates": 16, **options})


@pytest.mark.parametrize("bond", ["1.2", "2.2", "3.4"])
def test_the_beam_reaches_chemical_accuracy_with_at_most_four_cnots(bond: str) -> None:
    env = lih4_env(bond)
    beam = BlockBeam(env)
    found = next(((c, i) for c, i in beam.circuits(seed=0) if env.unwrapped.reached_threshold()), None)
    assert found is not None, "the beam ended at the gate limit without reaching chemical accuracy"
    circuit, info = found
    assert info["energy_error"] <= CHEMICAL_ACCURACY and info["n_two_qubit"] <= 4
    assert circuit[: len(beam.layer)] == beam.layer  # the rotation layer first, then blocks
    assert beam.evaluations <= 250  # within a beam of width 3 up to four blocks: 1 + 12 + 3*2*12 + 3*3*12 + 3*4*12


def test_insertions_reach_a_circuit_from_each_of_its_shorter_sub_circuits() -> None:
    beam = BlockBeam(lih4_env("2.2"))
    a, b = beam.blocks[0], beam.blocks[5]
    layer = beam.layer
    from_a = set(beam._insertions((*layer, a)))
    assert (*layer, b, a) in from_a and (*layer, a, b) in from_a
    assert (*layer, a, a) not in from_a  # the same CNOT twice in a row cancels
    assert all(c[: len(layer)] == layer and len(c) == len(layer) + 2 for c in from_a)
    assert len(from_a) == 2 * (len(beam.blocks) - 1)


def test_the_beam_names_what_it_needs() -> None:
    task = make_task({"name": "npz", "path": str(LIH4).format("2.2")})
    with pytest.raises(QnasError, match="build the environment with gate_set='blocks'"):
        BlockBeam(gym.make(CIRCUIT_DESIGN_ID, task=task, gate_set="pauli"))
    with pytest.raises(QnasError, match="beam width = 0 must be at least 1"):
        BlockBeam(lih4_env("2.2"), width=0)
    with pytest.raises(QnasError, match="max_gates = 5 leaves no room for a block after the first rotation layer"):
        BlockBeam(lih4_env("2.2", max_gates=5))


@pytest.mark.parametrize("bond", ["2.2", "3.4"])
def test_agent_beam_proposes_the_lean_circuit_and_records_its_cost(bond: str, storage: str) -> None:
    """At 3.4 Å training from random angles lands at 4e-3 Ha on this circuit; from the beam's own
    angles (`Proposal.angles`) the worker keeps chemical accuracy."""
    task = {"name": "npz", "path": str(LIH4).format(bond)}
    run_search(SearchConfig(task=task, space=str(SPACE), trials=2, workers=0, storage=storage, study=f"beam{bond}",
                            agent="beam", seed=0))
    trials = optuna.load_study(study_name=f"beam{bond}", storage=storage).trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 2
    first = trials[0].user_attrs
    assert first["proposer"] == "beam" and first["beam_width"] == 3 and 1 < first["beam_full_evaluations"] <= 250
    assert first["metrics"]["two_qubit_gates"] <= 4 and first["beam_env_score"] > -1
    assert trials[1].user_attrs["beam_full_evaluations"] >= 1  # the next ask goes on from where the first stopped
    assert trials[0].value <= CHEMICAL_ACCURACY  # trained again by the worker, from the beam's angles


def test_an_ask_that_scores_for_long_says_how_far_it_got(capsys) -> None:
    """`progress_seconds=0`: every circuit scored before the target prints its line, so a search
    whose first trial takes minutes is not silent."""
    from qnas.agents.beam_proposer import BeamProposer

    task = make_task({"name": "npz", "path": str(LIH4).format("2.2")})
    proposer = BeamProposer(optuna.create_study(), task, load_space(str(SPACE)), progress_seconds=0.0)
    proposal = proposer.ask()
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("beam: ")]
    # one line per circuit scored, all but the one that reached the target
    assert lines and all(line.startswith(f"beam: {n} circuits scored for the next trial, now with ")
                         for n, line in enumerate(lines, start=1))
    assert "best energy_error so far" in lines[-1] and proposal.spec.gates
