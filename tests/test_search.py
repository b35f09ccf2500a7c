"""The search loop on real Optuna storage: records, dedupe, resume, pruning and failed trials."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

import qnas.executor
from qnas.agents import OptunaProposer
from qnas.executor import InProcessExecutor, Job
from qnas.search import SearchConfig, run_search
from qnas.search_spaces import load_space
from qnas.spec import CandidateSpec
from qnas.tasks import make_task
from tests.conftest import SMALL_MOONS

COMPLETE = optuna.trial.TrialState.COMPLETE


@pytest.fixture
def counted_evaluations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Spy on the real evaluate: records each spec hash it trains, then runs it unchanged."""
    calls: list[str] = []
    real = qnas.executor.evaluate

    def spy(spec, *args, **kwargs):
        calls.append(CandidateSpec.from_dict(spec).hash)
        return real(spec, *args, **kwargs)

    monkeypatch.setattr(qnas.executor, "evaluate", spy)
    return calls


def test_search_records_spec_metrics_baseline_and_weights(
    tiny_space: str, storage: str, counted_evaluations: list[str]
) -> None:
    outcome = run_search(
        SearchConfig(space=tiny_space, task=SMALL_MOONS, trials=5, workers=0, storage=storage, study="s", seed=1)
    )
    assert outcome.counts.done == 5
    study = optuna.load_study(study_name="s", storage=storage)
    trials = study.get_trials()
    assert len(trials) == 5 and all(t.state == COMPLETE for t in trials)
    assert study.user_attrs["task"]["name"] == "moons" and study.user_attrs["metric"] == "accuracy"

    # Only two distinct candidates exist: each is trained once, the rest reuse its result.
    assert sorted(counted_evaluations) == sorted({t.user_attrs["spec_hash"] for t in trials})
    originals = {t.number: t for t in trials if "duplicate_of" not in t.user_attrs}
    assert len(originals) == len(counted_evaluations) == 2
    for trial in trials:
        attrs = trial.user_attrs
        assert attrs["proposer"] == "optuna:tpe"
        assert set(attrs["spec"]) >= {"split", "n_qubits", "encoding", "layers", "training"}
        assert 0.5 < attrs["metrics"]["test_accuracy"] <= 1.0
        assert attrs["baseline"]["model"] == "mlp" and attrs["baseline"]["n_params"] > 0
        assert len(attrs["history"]) >= 1
        if "duplicate_of" in attrs:
            original = originals[attrs["duplicate_of"]]
            assert trial.value == original.value and attrs["spec_hash"] == original.user_attrs["spec_hash"]
        else:
            artifact = Path(study.user_attrs["artifact_dir"]) / attrs["weights_artifact"]
            assert artifact.stat().st_size > 0
            assert trial.intermediate_values, "per-epoch values are reported for pruning"


def test_resumed_search_keeps_trials_and_trains_nothing_twice(
    tiny_space: str, storage: str, counted_evaluations: list[str]
) -> None:
    config = SearchConfig(space=tiny_space, task=SMALL_MOONS, trials=3, workers=0, storage=storage, study="s", seed=2)
    run_search(config)
    run_search(config)
    study = optuna.load_study(study_name="s", storage=storage)
    assert len(study.get_trials(states=(COMPLETE,))) == 6
    # Across both runs each distinct spec was trained exactly once.
    assert sorted(counted_evaluations) == sorted({t.user_attrs["spec_hash"] for t in study.trials})


def test_a_study_refuses_a_different_task_or_device(tiny_space: str, storage: str) -> None:
    """Scores from another task or device are not comparable, and must not be reused."""
    run_search(SearchConfig(space=tiny_space, task=SMALL_MOONS, trials=1, workers=0, storage=storage, study="s"))
    with pytest.raises(qnas.errors.QnasError, match="holds a search with task .*another --study name for this task"):
        run_search(SearchConfig(space=tiny_space, task={"name": "circles"}, trials=1, workers=0, storage=storage, study="s"))
    with pytest.raises(qnas.errors.QnasError, match="with device .*lightning.qubit.*for this device"):
        run_search(
            SearchConfig(
                space=tiny_space, task=SMALL_MOONS, trials=1, workers=0, storage=storage, study="s",
                device={"name": "lightning.qubit"},
            )
        )
    assert len(optuna.load_study(study_name="s", storage=storage).trials) == 1


def test_failed_candidates_are_recorded_and_the_search_goes_on(tmp_path: Path, tiny_space: str, storage: str) -> None:
    """29 qubits do not fit the simulator: those trials fail with the reason, the others finish."""
    space = Path(tiny_space).read_text().replace("  n_qubits: 2\n", "").replace(
        "params:\n", "params:\n  n_qubits: {choices: [2, 29]}\n"
    )
    path = tmp_path / "mixed.yaml"
    path.write_text(space)
    run_search(
        SearchConfig(space=str(path), task=SMALL_MOONS, trials=6, workers=0, storage=storage, study="s", sampler="random")
    )
    trials = optuna.load_study(study_name="s", storage=storage).trials
    assert len(trials) == 6
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    assert failed and any(t.state == COMPLETE for t in trials)
    for trial in failed:
        assert trial.user_attrs["spec"]["n_qubits"] == 29
        assert "29 qubits" in trial.user_attrs["fail_reason"] and "at most" in trial.user_attrs["fail_reason"]


def test_pruner_stops_training_on_per_epoch_values(tiny_space: str) -> None:
    """A pruner that rejects every value stops the evaluation after its first report."""
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=2.0))
    study.set_user_attr("artifact_dir", "unused")
    task = make_task(SMALL_MOONS)
    proposer = OptunaProposer(study, load_space(tiny_space), None, "tpe")
    executor = InProcessExecutor(on_report=proposer.report)
    proposal = proposer.ask()
    executor.submit(Job(proposal.id, proposal.spec.to_dict(), task.config(), {"name": "default.qubit"}, {"seed": 0}))
    [(job, result)] = executor.poll(timeout=0)
    assert result.status == "pruned"
    proposer.tell(job.id, result)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert len(trial.intermediate_values) == 1


def test_bad_search_settings_fail_before_the_study_is_touched(tiny_space: str, storage: str) -> None:
    for bad, match in [
        ({"trials": 0}, "--trials = 0"),
        ({"workers": -1}, "--workers = -1"),
        ({"sampler": "tpee"}, "Did you mean 'tpe'"),
        ({"pruner": "medain"}, "Did you mean 'median'"),
        ({"device": {"name": "default.qbit"}}, "Did you mean 'default.qubit'"),
        ({"task": {"name": "moosn"}}, "Did you mean 'moons'"),
        ({"space": "clasification"}, "Did you mean 'classification'"),
        ({"space": "vqe_gates"}, "use --space classification"),
        ({"storage": "sqlit:///x.db"}, "Did you mean 'sqlite'"),
        ({"workers": 1, "trial_timeout": 0}, "--trial-timeout = 0 must be a positive number"),
        ({"trial_timeout": 5.0}, "need Ray workers: set --workers 1 or more"),
        ({"max_retries": -1}, "--max-retries = -1 must be 0 or more"),
        ({"resume": True}, "--resume continues to the trial count .* drop --trials"),
    ]:
        settings = {"space": tiny_space, "task": SMALL_MOONS, "trials": 1, "workers": 0, "storage": storage, **bad}
        with pytest.raises(qnas.errors.QnasError, match=match):
            run_search(SearchConfig(study="s", **settings))
    assert not Path(storage.removeprefix("sqlite:///")).exists() or not optuna.get_all_study_summaries(storage)


def test_default_study_names_carry_the_task_arguments_given(storage: str) -> None:
    from qnas.search import default_study_name

    for n in (3, 4):
        run_search(SearchConfig(task={"name": "ghz", "n": n}, trials=1, workers=0, storage=storage, seed=0))
    names = sorted(s.study_name for s in optuna.get_all_study_summaries(storage))
    assert names == ["ghz-n=3-state_prep", "ghz-n=4-state_prep"]  # two tasks, two studies
    assert default_study_name("csv", {"data": "/data/plants.csv", "target": "species"}, "classification") == (
        "csv-data=plants-target=species-classification"
    )
    long = default_study_name("pauli", {"path": "x.json", "reference_state": [0, 1] * 60}, "vqe_gates")
    assert len(long) == 100 and long.startswith("pauli-path=x-reference_state=[0,1,")
