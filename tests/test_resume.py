"""A study remembers how it was searched: resume from the study alone, refusals that name both
values, nothing overwritten, and data fingerprints (`qnas.search_record`).

The kill-and-resume test runs the README's command exactly, with Ray workers, so this module keeps
no Ray of its own running beside it.
"""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

import qnas.executor
from qnas.cli import main
from qnas.errors import QnasError
from qnas.executor import Job, TaskCache, run_job
from qnas.search import SearchConfig, run_search
from qnas.search_record import DataChangedError, recorded_runs
from qnas.spec import CandidateSpec
from qnas.tasks import make_task
from qnas.wall_time import TIME_PREFIX, study_wall_time
from tests.conftest import SMALL_MOONS
from tests.controlled_jobs import ControlledJobs

REPO = Path(__file__).resolve().parent.parent


def _study(storage: str, name: str = "s") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=storage)


def _settings(study: optuna.Study) -> dict:
    """The study's attributes less the runs' times (`qnas.wall_time`), which each finished run adds."""
    return {key: value for key, value in study.user_attrs.items() if not key.startswith(TIME_PREFIX)}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_driver_killed_then_resumed_with_the_readme_command_alone(wide_space: str, storage: str, tmp_path: Path) -> None:
    """`qnas search --resume --study NAME --storage URL`, after SIGKILL, with the space file gone."""
    search = ["--space", wide_space, "--workers", "0", "--pruner", "none", "--seed", "5", "--sampler", "random",
              "--storage", storage, "--study", "r", "--task", "moons", "--task-arg", "n_samples=120", "--trials", "4"]
    jobs = ControlledJobs(str(tmp_path), hold=(1,))  # trial 1 is running when the driver is killed
    driver = subprocess.Popen([sys.executable, "-m", "tests.controlled_search", jobs.folder, "1", *search], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        jobs.wait_started(1, driver)
        states = [t.state for t in _study(storage, "r").trials]
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    assert states[:2] == [TrialState.COMPLETE, TrialState.RUNNING]
    killed = _study(storage, "r")
    before = {t.number: t.value for t in killed.trials if t.state == TrialState.COMPLETE}
    attrs_before = killed.user_attrs
    Path(wide_space).unlink()  # the study's own copy of the space is what a resume uses

    resume = [sys.executable, "-m", "qnas.cli", "search", "--resume", "--study", "r", "--storage", storage]
    refused = subprocess.run([*resume, "--trials", "2"], capture_output=True, text=True)
    assert refused.returncode == 2 and "drop --trials" in refused.stderr
    resumed = subprocess.run(resume, capture_output=True, text=True, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    study = _study(storage, "r")
    assert _settings(study) == attrs_before, "a resume overwrites nothing in the study"
    # The killed run recorded no time; its finished trials' span stands in for it, and the figure says so.
    wall = study_wall_time(study)
    assert wall.recorded_runs == 1 and 0 < wall.untimed_s < wall.seconds and "of it from trial times" in wall.describe()
    trials = study.trials
    assert {t.number: t.value for t in trials if t.number in before} == before
    interrupted = [t for t in trials if t.user_attrs.get("interrupted")]
    assert 1 in [t.number for t in interrupted] and all(t.state == TrialState.FAIL for t in interrupted)
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 4
    [(run, record)] = recorded_runs(study.user_attrs)
    assert (record["seed"], record["sampler"], record["pruner"], record["task"]["n_samples"]) == (5, "random", "none", 120)
    finished = [t for t in trials if not t.user_attrs.get("interrupted")]
    assert {(t.user_attrs["search_run"], t.user_attrs["seed"]) for t in finished} == {(run, 5)}


def test_resume_refuses_a_conflicting_setting_naming_both_values(tiny_space: str, storage: str, tmp_path: Path) -> None:
    run_search(SearchConfig(space=tiny_space, task=SMALL_MOONS, trials=2, workers=0, storage=storage, study="s", seed=3))
    attrs, trials = _settings(_study(storage)), len(_study(storage).trials)
    edited = tmp_path / "edited.yaml"
    edited.write_text(Path(tiny_space).read_text().replace("epochs: 4", "epochs: 5"))
    for setting, match in [
        ({"seed": 4}, "--seed 4 conflicts with study 's', which was searched with seed 3"),
        ({"sampler": "random"}, "--sampler random .* with sampler tpe"),
        ({"pruner": "none"}, "--pruner none .* with pruner percentile"),
        ({"agent": "random"}, "--agent random .* with agent optuna"),
        ({"task": {"name": "circles"}}, 'circles.* with task .*"n_samples": 120'),
        ({"space": str(edited)}, r"--space tiny \(content SHA-256 \w+\) .* with space tiny \(content SHA-256 \w+\)"),
        ({"device": {"name": "lightning.qubit"}}, "lightning.qubit.* with device .*default.qubit"),
        ({"objectives": ("noisy_score", "depth")}, "--objectives .* with objectives \\[\\]"),
    ]:
        with pytest.raises(QnasError, match=match):
            run_search(SearchConfig(study="s", storage=storage, resume=True, trials=None, workers=0, **setting))
    # The same values again are no conflict.
    run_search(SearchConfig(study="s", storage=storage, resume=True, trials=None, workers=0, seed=3, space=tiny_space))
    assert (_settings(_study(storage)), len(_study(storage).trials)) == (attrs, trials)


def test_a_new_search_of_another_space_is_refused_before_anything_is_written(
    tiny_space: str, storage: str, tmp_path: Path
) -> None:
    run_search(SearchConfig(space=tiny_space, task=SMALL_MOONS, trials=1, workers=0, storage=storage, study="s"))
    database = Path(storage.removeprefix("sqlite:///"))
    written = _sha256(database)
    Path(tiny_space).write_text(Path(tiny_space).read_text().replace("epochs: 4", "epochs: 5"))  # same name, new content
    with pytest.raises(QnasError, match=r"holds a search with space tiny \(content SHA-256 \w+\), not tiny .*another --study"):
        run_search(SearchConfig(space=tiny_space, task=SMALL_MOONS, trials=1, workers=0, storage=storage, study="s"))
    assert _sha256(database) == written


def test_later_searches_add_records_and_overwrite_none(tiny_space: str, storage: str) -> None:
    """Each run keeps its own record; a resume continues the last one, with its sampler and seed."""
    run_search(SearchConfig(space=tiny_space, task=SMALL_MOONS, trials=1, workers=0, storage=storage, study="s"))
    first = _study(storage).user_attrs
    run_search(SearchConfig(space=tiny_space, task=SMALL_MOONS, trials=2, workers=0, storage=storage, study="s",
                            seed=7, sampler="random"))
    study = _study(storage)
    assert {key: study.user_attrs[key] for key in first} == first
    runs = recorded_runs(study.user_attrs)
    assert [(r["seed"], r["sampler"], r["trials_requested"]) for _, r in runs] == [(0, "tpe", 1), (7, "random", 3)]
    assert [t.user_attrs["search_run"] for t in study.trials] == [runs[0][0], runs[1][0], runs[1][0]]


def test_vqe_searches_do_not_prune_unless_asked(storage: str) -> None:
    h2 = {"space": "vqe_gates", "task": {"name": "h2"}, "trials": 1, "workers": 0, "storage": storage}
    run_search(SearchConfig(study="default", **h2))
    run_search(SearchConfig(study="asked", pruner="median", **h2))
    assert [recorded_runs(_study(storage, name).user_attrs)[0][1]["pruner"] for name in ("default", "asked")] == [
        "none", "median"
    ]
    with pytest.raises(QnasError, match="--pruner median needs a single objective"):
        run_search(SearchConfig(study="multi", pruner="median", objectives=("noisy_score", "depth"), **h2))


def test_a_study_from_before_search_records_resumes_from_what_it_kept(storage: str) -> None:
    study = optuna.create_study(study_name="old", storage=storage, direction="maximize")
    kept = {"task": make_task(SMALL_MOONS).config(), "space": "classification",
            "device": {"name": "default.qubit", "options": {}}, "trials_requested": 0}
    for key, value in kept.items():
        study.set_user_attr(key, value)
    run_search(SearchConfig(study="old", storage=storage, resume=True, trials=None, workers=0))
    [(_, record)] = recorded_runs(_study(storage, "old").user_attrs)
    assert (record["task"]["n_samples"], record["space"], record["trials_requested"]) == (120, "classification", 0)


def _dataset(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(60, 2))
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "label": np.where(x[:, 0] > 0, "yes", "no")}).to_csv(path, index=False)
    return path


def test_changed_data_is_refused_unless_allowed_and_then_recorded(
    tiny_space: str, storage: str, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _dataset(tmp_path / "plants.csv", seed=0)
    search = ["search", "--space", tiny_space, "--task", "csv", "--data", str(data), "--target", "label",
              "--workers", "0", "--storage", storage, "--study", "plants", "--trials", "2"]
    assert main(search) == 0
    old = _sha256(data)
    _dataset(data, seed=1)  # the same file, changed in place
    new = _sha256(data)
    database = Path(storage.removeprefix("sqlite:///"))
    written = _sha256(database)
    capsys.readouterr()

    assert main(search) == 2
    error = capsys.readouterr().err
    assert f"had SHA-256 {old[:12]}" in error and f"has {new[:12]} now" in error
    assert "--study NEW_NAME" in error and "--allow-new-data" in error
    assert main(["search", "--resume", "--study", "plants", "--storage", storage]) == 2
    assert _sha256(database) == written, "the refusals wrote nothing"

    trained: list[str] = []
    real = qnas.executor.evaluate
    monkeypatch.setattr(qnas.executor, "evaluate", lambda spec, *a, **k: trained.append(spec) or real(spec, *a, **k))
    assert main([*search, "--allow-new-data"]) == 0
    assert trained, "results trained on the old data are not reused for the new data"
    assert main(search) == 0, "once accepted, the new data is the study's"
    trials = _study(storage, "plants").trials
    assert all(t.user_attrs.get("duplicate_of", 2) >= 2 for t in trials[2:])
    assert [t.user_attrs["data_sha256"] for t in trials] == [old, old, new, new, new, new]
    assert [bool(t.user_attrs.get("allow_new_data")) for t in trials] == [False, False, True, True, False, False]
    with pytest.raises(DataChangedError):
        _dataset(data, seed=2)
        run_search(SearchConfig(study="plants", storage=storage, resume=True, trials=None, workers=0))


def test_a_worker_whose_copy_of_the_data_differs_fails_the_trial(tmp_path: Path) -> None:
    data = _dataset(tmp_path / "plants.csv", seed=0)
    task = make_task({"name": "csv", "data": str(data), "target": "label"})
    spec = CandidateSpec(n_qubits=2).to_dict()
    job = Job(0, spec, task.config(), {"name": "default.qubit"}, {"seed": 0}, data_sha256="0" * 64)
    result = run_job(job, TaskCache(), None)
    assert result.status == "failed"
    assert f"SHA-256 {task.data_sha256[:12]}, not the study's 000000000000" in result.error


def test_resume_of_a_study_no_search_wrote_names_it_and_the_fix(storage: str) -> None:
    optuna.create_study(study_name="bare", storage=storage)
    with pytest.raises(QnasError, match="study 'bare' holds no `qnas search` to resume; start one with `qnas search`"):
        run_search(SearchConfig(study="bare", storage=storage, resume=True, trials=None, workers=0))
    assert _study(storage, "bare").trials == []
