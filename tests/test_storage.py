"""Shared study storage: PostgreSQL and Optuna's journal file, with two drivers on one study.

PostgreSQL tests need a server: `.ci/run` starts one on loopback and sets QNAS_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from qnas.cli import main
from qnas.storage import open_storage, write_trial_record

POSTGRES = os.environ.get("QNAS_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(not POSTGRES, reason="QNAS_TEST_POSTGRES_URL is not set (.ci/run sets it)")


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


def _restart_postgres() -> None:
    command = f"{os.environ['QNAS_TEST_POSTGRES_CTL']} -m fast -w restart"
    as_owner = ["su", "postgres", "-s", "/bin/sh", "-c", command] if os.geteuid() == 0 else ["sh", "-c", command]
    # No pipes: the restarted server would inherit them and keep them open.
    subprocess.run(as_owner, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


@needs_postgres
@pytest.mark.skipif(not os.environ.get("QNAS_TEST_POSTGRES_CTL"), reason="needs QNAS_TEST_POSTGRES_CTL to restart it")
def test_a_database_restart_mid_search_loses_no_result(tmp_path: Path, tiny_space: str) -> None:
    """The server restarts mid-search; the driver reconnects and every trial finishes."""
    space = tmp_path / "steady.yaml"
    # Trials of about 1.5 s: the 3 left after the first outlast the restart, so it lands mid-search.
    space.write_text(Path(tiny_space).read_text().replace("{choices: [0.05, 0.02]}", "{float: [0.01, 0.1]}")
                     .replace("epochs: 4", "epochs: 150"))
    study = f"restart-{uuid.uuid4().hex[:8]}"
    driver = subprocess.Popen(
        [sys.executable, "-m", "qnas.cli", "search", "--space", str(space), "--task", "moons", "--task-arg",
         "n_samples=120", "--workers", "0", "--trials", "4", "--storage", POSTGRES, "--study", study,
         "--artifacts", str(tmp_path / "artifacts")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and driver.poll() is None:
            try:
                if _complete(POSTGRES, study):
                    break
            except KeyError:
                pass
            time.sleep(0.3)
        _restart_postgres()
        _, err = driver.communicate(timeout=300)
    finally:
        driver.kill()
    assert driver.returncode == 0, err[-3000:]
    assert "lost the connection" in err
    assert len(_complete(POSTGRES, study)) == 4
