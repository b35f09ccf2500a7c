"""Shared study storage: PostgreSQL and Optuna's journal file, with two drivers on one study.

PostgreSQL tests need a server: `.ci/run` starts one on loopback and sets QNAS_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from qnas.cli import main
from qnas.storage import open_storage, write_trial_record
from tests.conftest import POSTGRES, needs_postgres
from tests.controlled_jobs import ControlledJobs

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["journal", pytest.param("postgres", marks=needs_postgres)])
def shared_storage(request, tmp_path: Path) -> str:
    return f"journal:///{tmp_path / 'studies.log'}" if request.param == "journal" else POSTGRES


def _complete(storage: str, study: str) -> list[optuna.trial.FrozenTrial]:
    trials = optuna.load_study(study_name=study, storage=open_storage(storage)).trials
    return [t for t in trials if t.state == TrialState.COMPLETE]


def test_search_list_and_export_on_shared_storage(shared_storage: str, wide_space: str, tmp_path: Path, capsys) -> None:
    study = f"shared-{uuid.uuid4().hex[:8]}"
    assert main(["search", "--space", wide_space, "--task", "moons", "--task-arg", "n_samples=120", "--workers", "0",
                 "--trials", "2", "--study", study, "--storage", shared_storage,
                 "--artifacts", str(tmp_path / "artifacts")]) == 0
    assert len(_complete(shared_storage, study)) == 2
    assert main(["studies", "list", "--storage", shared_storage]) == 0
    assert study in capsys.readouterr().out
    assert main(["export", "--study", study, "--storage", shared_storage, "--out", str(tmp_path / "best")]) == 0
    assert (tmp_path / "best" / "weights.safetensors").is_file()


def test_two_drivers_at_once_lose_and_duplicate_nothing(shared_storage: str, wide_space: str, tmp_path: Path) -> None:
    study = f"two-drivers-{uuid.uuid4().hex[:8]}"
    asked = (3, 4)
    drivers = [
        subprocess.Popen(
            [sys.executable, "-m", "qnas.cli", "search", "--space", wide_space, "--task", "moons",
             "--task-arg", "n_samples=120", "--workers", "0", "--trials", str(n), "--seed", str(seed),
             "--storage", shared_storage, "--study", study, "--artifacts", str(tmp_path / "artifacts")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        for seed, n in enumerate(asked)
    ]
    for driver in drivers:
        _, err = driver.communicate(timeout=300)
        assert driver.returncode == 0, err[-3000:]
    trials = optuna.load_study(study_name=study, storage=open_storage(shared_storage)).trials
    assert len(trials) == sum(asked) and len(_complete(shared_storage, study)) == sum(asked)
    assert len({t.number for t in trials}) == sum(asked)


@pytest.fixture(params=["sqlite", "journal", pytest.param("postgres", marks=needs_postgres)])
def any_storage(request, tmp_path: Path) -> str:
    urls = {"sqlite": f"sqlite:///{tmp_path / 'studies.db'}", "journal": f"journal:///{tmp_path / 'studies.log'}"}
    return urls.get(request.param, POSTGRES)


def test_a_trial_record_written_in_one_transaction_reads_back_through_optuna(any_storage: str) -> None:
    study = optuna.create_study(storage=open_storage(any_storage), study_name=f"record-{uuid.uuid4().hex[:8]}")
    trial = study.ask()
    trial.set_user_attr("proposer", "old")
    trial.report(0.1, 1)
    attrs = {"proposer": "optuna:tpe", "spec": {"n_qubits": 2, "layers": [{"rotations": ["RY"]}]}, "history": [0.5, 0.75]}
    values = {1: 0.25, 2: float("nan"), 3: float("inf"), 4: -float("inf")}
    write_trial_record(study._storage, trial._trial_id, attrs, values)
    write_trial_record(study._storage, trial._trial_id, attrs, values)  # a retried write changes nothing
    study.tell(trial, 1.0)

    [frozen] = optuna.load_study(study_name=study.study_name, storage=open_storage(any_storage)).trials
    assert frozen.user_attrs == attrs
    assert frozen.intermediate_values[1] == 0.25 and frozen.intermediate_values[3] == float("inf")
    assert frozen.intermediate_values[2] != frozen.intermediate_values[2]  # NaN
    assert frozen.intermediate_values[4] == -float("inf")
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        write_trial_record(study._storage, trial._trial_id, {"late": True}, {})


def test_unknown_storage_scheme_names_the_choices(wide_space: str, capsys) -> None:
    assert main(["search", "--space", wide_space, "--workers", "0", "--storage", "jurnal:///x.log"]) == 2
    assert "Did you mean 'journal'" in capsys.readouterr().err


def _postgres(action: str) -> None:
    """`stop` or `start` the test server, with the options `.ci/run` started it with."""
    command = f"{os.environ['QNAS_TEST_POSTGRES_CTL']} -m fast {action}"
    as_owner = ["su", "postgres", "-s", "/bin/sh", "-c", command] if os.geteuid() == 0 else ["sh", "-c", command]
    # No pipes: a started server would inherit them and keep them open.
    subprocess.run(as_owner, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


def _driver_holding_trial_1(
    tmp_path: Path, wide_space: str, study: str, env: dict[str, str] | None = None
) -> tuple[ControlledJobs, subprocess.Popen]:
    """A 4-trial search on the test server (`tests.controlled_search`) whose trial 1 waits to be released."""
    jobs = ControlledJobs(str(tmp_path), hold=(1,))
    driver = subprocess.Popen(
        [sys.executable, "-m", "tests.controlled_search", jobs.folder, "1", "--space", wide_space, "--task", "moons",
         "--task-arg", "n_samples=120", "--workers", "0", "--trials", "4", "--storage", POSTGRES, "--study", study,
         "--artifacts", str(tmp_path / "artifacts")],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
    )
    return jobs, driver


@needs_postgres
@pytest.mark.skipif(not os.environ.get("QNAS_TEST_POSTGRES_CTL"), reason="needs QNAS_TEST_POSTGRES_CTL to restart it")
def test_a_database_restart_mid_search_loses_no_result(tmp_path: Path, wide_space: str) -> None:
    """The server goes down while trial 1 runs, and trial 1's result is written while it is down:
    the driver retries until the server is back, and every trial finishes."""
    study = f"restart-{uuid.uuid4().hex[:8]}"
    jobs, driver = _driver_holding_trial_1(tmp_path, wide_space, study)
    try:
        jobs.wait_started(1, driver)
        _postgres("stop")
        try:
            jobs.release(1)
            err = "".join(_lines_until(driver.stderr, "lost the connection"))
        finally:
            _postgres("start")
        _, rest = driver.communicate(timeout=300)
    finally:
        driver.kill()
    assert driver.returncode == 0, (err + rest)[-3000:]
    assert "lost the connection" in err
    assert len(_complete(POSTGRES, study)) == 4


@needs_postgres
@pytest.mark.skipif(not os.environ.get("QNAS_TEST_POSTGRES_CTL"), reason="needs QNAS_TEST_POSTGRES_CTL to restart it")
def test_a_database_down_past_the_retries_ends_the_search_with_one_line(tmp_path: Path, wide_space: str) -> None:
    """The server stays down while trial 1's result is written: after the retries (1 s here) the
    driver exits 2 with one error line that says how to continue; trial 0 stays in the study."""
    study = f"down-{uuid.uuid4().hex[:8]}"
    jobs, driver = _driver_holding_trial_1(tmp_path, wide_space, study, {"QNAS_TEST_RECONNECT_SECONDS": "1"})
    try:
        jobs.wait_started(1, driver)
        _postgres("stop")
        try:
            jobs.release(1)
            _, err = driver.communicate(timeout=300)
        finally:
            _postgres("start")
    finally:
        driver.kill()
    assert driver.returncode == 2, err[-3000:]
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("qnas: error: lost the connection to ") and "could not reconnect in 1 s" in last, last
    assert "--resume" in last
    assert [t.number for t in _complete(POSTGRES, study)] == [0]


def _lines_until(stream, text: str) -> list[str]:
    """Read `stream` line by line up to the first line holding `text`, or to its end."""
    lines: list[str] = []
    for line in stream:
        lines.append(line)
        if text in line:
            break
    return lines
