"""RankCheckedPruner: the inner pruner decides only at steps whose values have ranked final values."""

from __future__ import annotations

import optuna
import pytest

from qnas.agents.optuna_proposer import make_pruner
from qnas.agents.rank_checked_pruner import MIN_TRIALS, RankCheckedPruner


def _study(finished: int, ranked: bool) -> optuna.Study:
    """Finished trials that report 1..n at step 3 and end at the same order (`ranked`) or reversed."""
    study = optuna.create_study(direction="minimize")
    for i in range(finished):
        trial = study.ask()
        trial.report(float(i), step=3)
        study.tell(trial, float(i if ranked else -i))
    return study


def _prunes(study: optuna.Study, value: float) -> bool:
    """Whether a running trial reporting `value` at step 3 is stopped; the inner pruner always says stop."""
    study.pruner = RankCheckedPruner(optuna.pruners.ThresholdPruner(upper=-1e9))
    trial = study.ask()
    trial.report(value, step=3)
    return trial.should_prune()


@pytest.mark.parametrize(
    ("finished", "ranked", "stopped"),
    [(MIN_TRIALS, True, True), (MIN_TRIALS, False, False), (MIN_TRIALS - 1, True, False)],
)
def test_the_inner_pruner_decides_only_where_values_have_ranked(finished: int, ranked: bool, stopped: bool) -> None:
    assert _prunes(_study(finished, ranked), 100.0) is stopped


def test_a_step_no_finished_trial_reported_at_is_never_pruned() -> None:
    study = _study(MIN_TRIALS, ranked=True)
    study.pruner = RankCheckedPruner(optuna.pruners.ThresholdPruner(upper=-1e9))
    trial = study.ask()
    trial.report(100.0, step=4)
    assert not trial.should_prune()


def test_vqe_and_state_preparation_pruners_are_rank_checked_classifiers_are_not() -> None:
    assert isinstance(make_pruner("median", "vqe"), RankCheckedPruner)
    assert isinstance(make_pruner("percentile", "state_prep"), RankCheckedPruner)
    assert isinstance(make_pruner("percentile", "classification"), optuna.pruners.PercentilePruner)
    assert isinstance(make_pruner("none", "vqe"), optuna.pruners.NopPruner)
