"""`--agent adapt` (qnas.agents.adapt_proposer): circuits grown by ADAPT's gradient screen go into
the study like any proposer's, with their screening cost, from the pool the space names."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from qnas.agents.adapt_proposer import AdaptProposer
from qnas.cli import main
from qnas.envs.scoring import CHEMICAL_ACCURACY
from qnas.errors import QnasError
from qnas.search import SearchConfig, run_search
from qnas.search_spaces import load_space, parse_space
from qnas.tasks import make_task

H2 = {"name": "h2"}


def test_adapt_proposals_reach_chemical_accuracy_and_record_their_screening_cost(storage: str) -> None:
    run_search(SearchConfig(task=H2, trials=2, workers=0, storage=storage, study="adapt", agent="adapt", seed=0))
    trials = optuna.load_study(study_name="adapt", storage=storage).trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 2
    for trial in trials:
        attrs = trial.user_attrs
        assert attrs["proposer"] == "adapt" and attrs["adapt_actions"][0].startswith("R(")
        assert attrs["adapt_probes"] >= attrs["adapt_full_evaluations"] >= 1
    greedy = trials[0]
    assert greedy.user_attrs["adapt_env_score"] > -1 and greedy.value <= CHEMICAL_ACCURACY  # scored again by the worker


def test_adapt_prepares_ghz5_in_one_full_evaluation_from_the_targets_own_excitations(storage: str) -> None:
    """Every weight-2 word has a zero gradient at |00000> for GHZ-5; the target-excitations pool
    holds YXXXX, whose rotation by pi/2 is GHZ-5 itself, and the screen finds it first."""
    ghz5 = {"name": "ghz", "n": 5}
    run_search(SearchConfig(task=ghz5, trials=1, workers=0, storage=storage, study="ghz5", agent="adapt", seed=0))
    [trial] = optuna.load_study(study_name="ghz5", storage=storage).trials
    assert trial.value > 0.95 and trial.user_attrs["adapt_full_evaluations"] == 1
    assert trial.user_attrs["adapt_actions"][0] in {"R(YXXXX)", "R(XYXXX)", "R(XXYXX)", "R(XXXYX)", "R(XXXXY)"}


def test_the_space_names_the_pool(tmp_path: Path) -> None:
    text = load_space("vqe_gates").yaml.replace("task_kinds: [vqe]", "task_kinds: [vqe]\npool: pairs")
    space = parse_space(text, "pairs.yaml")
    proposer = AdaptProposer(optuna.create_study(), make_task("h2"), space)
    words = [action.label for action in proposer.env.unwrapped.actions[:-1]]
    assert len(words) == 4 + 6 * 4 and "R(YIII)" in words  # pairs on 4 qubits: each Y, 4 words per pair


@pytest.mark.parametrize("agent", ["adapt", "beam"])
def test_a_gate_level_agent_on_a_classification_task_is_a_clear_error(agent: str, tmp_path: Path, capsys) -> None:
    code = main(["search", "--task", "iris", "--agent", agent, "--trials", "1", "--workers", "0",
                 "--storage", f"sqlite:///{tmp_path / 's.db'}"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"--agent {agent} grows gate-level circuits (vqe, state_prep tasks); task 'iris' is classification" in err
    assert "Use --agent optuna" in err


def test_a_bad_pool_in_the_space_names_the_choices() -> None:
    text = load_space("vqe_gates").yaml.replace("task_kinds: [vqe]", "task_kinds: [vqe]\npool: uccsd")
    with pytest.raises(Exception, match=r"pool = 'uccsd' is not allowed; allowed values: \['all', 'fermionic-excitations'"):
        parse_space(text, "bad.yaml")


def test_molecule_and_state_searches_use_adapt_unless_told_and_other_tasks_keep_the_sampler(storage: str) -> None:
    cases = ((H2, "h2", "adapt"), ({"name": "ghz", "n": 3}, "ghz", "adapt"), ({"name": "tfim", "n": 3}, "chain", "optuna:tpe"))
    for task, study, proposer in cases:
        run_search(SearchConfig(task=task, trials=1, workers=0, storage=storage, study=study, seed=0))
        trial = optuna.load_study(study_name=study, storage=storage).trials[0]
        assert trial.user_attrs["proposer"] == proposer
    run_search(SearchConfig(task=H2, trials=1, workers=0, storage=storage, study="told", seed=0, agent="optuna"))
    assert optuna.load_study(study_name="told", storage=storage).trials[0].user_attrs["proposer"] == "optuna:tpe"


def test_a_warm_start_the_pool_does_not_hold_names_it() -> None:
    with pytest.raises(QnasError, match=r"warm start \['R\(ZZZZ\)'\] names rotations this task's pool does not hold"):
        AdaptProposer(optuna.create_study(), make_task("h2"), load_space("vqe_gates"), warm_start=["R(ZZZZ)"])
