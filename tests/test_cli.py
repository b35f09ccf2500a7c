"""The `qnas` command as a user runs it: a CSV search end to end, bad input, tables, the dashboard."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from qnas.cli import DASHBOARD_HOST, build_parser, main


def _csv(path: Path, rows: int = 120, seed: int = 0) -> Path:
    """A foreign dataset: named columns, string labels, a column the model must ignore."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    label = np.where(x[:, 0] + 0.5 * x[:, 1] > 0, "good", "bad")
    pd.DataFrame({"height": x[:, 0], "weight": x[:, 1], "noise": x[:, 2], "quality": label}).to_csv(path, index=False)
    return path


def _search(tiny_space: str, storage: str, *extra: str) -> int:
    return main(["search", "--space", tiny_space, "--trials", "2", "--workers", "0", "--storage", storage, *extra])


def test_csv_search_export_and_predict_end_to_end(tmp_path: Path, tiny_space: str, storage: str, capsys) -> None:
    data = _csv(tmp_path / "plants.csv")
    assert _search(tiny_space, storage, "--task", "csv", "--data", str(data), "--target", "quality", "--study", "plants") == 0
    out = capsys.readouterr().out
    assert "baseline test acc" in out and "plants" in out

    export_dir = tmp_path / "export"
    assert main(["export", "--study", "plants", "--storage", storage, "--out", str(export_dir)]) == 0
    predictions = tmp_path / "predictions.csv"
    assert main(["predict", str(export_dir), "--data", str(_csv(tmp_path / "new.csv", rows=40, seed=1)), "--out", str(predictions)]) == 0
    table = pd.read_csv(predictions)
    assert list(table.columns) == ["row", "predicted", "p_bad", "p_good"] and len(table) == 40
    assert set(table["predicted"]) <= {"good", "bad"}
    assert np.allclose(table[["p_bad", "p_good"]].sum(axis=1), 1.0, atol=1e-5)


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--task", "moosn"], ["'moosn'", "Did you mean 'moons'"]),
        (["--device", "default.qbit"], ["'default.qbit'", "Did you mean 'default.qubit'"]),
        (["--task", "csv", "--data", "{nan_csv}", "--target", "quality"], ["height", "NaN", "drop"]),
        (["--task", "csv", "--data", "{csv}", "--target", "qualty"], ["'qualty'", "Did you mean 'quality'"]),
        (["--task", "csv", "--data", "{text_csv}", "--target", "quality"], ["colour", "numeric"]),
        (["--task", "csv", "--data", "{csv}"], ["--target COLUMN"]),
        (["--space", "{bad_yaml}"], ["bad.yaml", "line"]),
        (["--space", "{bad_gate}"], ["'CNTO'", "Did you mean 'CNOT'"]),
        (["--space", "{too_many_qubits}"], ["n_qubits", "99"]),
        (["--task-arg", "noise"], ["KEY=VALUE"]),
        (["--workers", "1", "--address", "127.0.0.1:{closed_port}"], ["no Ray cluster answers", "ray start --head"]),
    ],
)
def test_bad_input_is_a_clear_error_and_loses_no_trials(
    tmp_path: Path, tiny_space: str, storage: str, capsys, args: list[str], fragments: list[str]
) -> None:
    assert _search(tiny_space, storage, "--study", "kept") == 0
    paths = {
        "csv": _csv(tmp_path / "ok.csv"),
        "nan_csv": tmp_path / "nan.csv",
        "text_csv": tmp_path / "text.csv",
        "bad_yaml": tmp_path / "bad.yaml",
        "bad_gate": tmp_path / "gate.yaml",
        "too_many_qubits": tmp_path / "qubits.yaml",
        "closed_port": _closed_port(),
    }
    frame = pd.read_csv(paths["csv"])
    frame.loc[3, "height"] = np.nan
    frame.to_csv(paths["nan_csv"], index=False)
    frame = pd.read_csv(paths["csv"]).assign(colour="red")
    frame.to_csv(paths["text_csv"], index=False)
    paths["bad_yaml"].write_text("name: bad\nparams: {split: [unclosed\n")
    space = Path(tiny_space).read_text()
    paths["bad_gate"].write_text(space.replace("{choices: [CNOT]}", "{choices: [CNTO]}"))
    paths["too_many_qubits"].write_text(space.replace("n_qubits: 2", "n_qubits: 99"))
    args = [a.format(**paths) for a in args]
    capsys.readouterr()

    assert _search(tiny_space, storage, "--study", "kept", *args) == 2
    err = capsys.readouterr().err
    assert err.startswith("qnas: error:") and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err
    study = optuna.load_study(study_name="kept", storage=storage)
    assert len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) == 2


def test_studies_list_and_show(tiny_space: str, storage: str, capsys) -> None:
    assert _search(tiny_space, storage, "--study", "first") == 0
    capsys.readouterr()
    assert main(["studies", "list", "--storage", storage]) == 0
    listing = capsys.readouterr().out
    assert "first" in listing and "moons" in listing and "accuracy" in listing
    assert main(["studies", "show", "first", "--storage", storage]) == 0
    shown = capsys.readouterr().out
    assert "baseline test acc" in shown and "quantum_head q=2" in shown
    assert main(["studies", "show", "frist", "--storage", storage]) == 2
    assert "Did you mean 'first'" in capsys.readouterr().err
    assert main(["studies", "list", "--storage", "sqlite:///does/not/exist.db"]) == 2


def _space_with_qubits(tiny_space: str, choices: str) -> str:
    """The tiny space with `n_qubits` drawn from `choices`: 30 qubits fail on any simulator here."""
    path = Path(tiny_space).with_name(f"qubits-{choices.replace(', ', '-')}.yaml")
    text = Path(tiny_space).read_text().replace("  n_qubits: 2\n", "")
    path.write_text(text.replace("params:\n", f"params:\n  n_qubits: {{choices: [{choices}]}}\n"))
    return str(path)


def test_a_search_with_no_ok_trial_exits_1_names_the_commonest_failure_and_studies_show_lists_them(
    tiny_space: str, storage: str, capsys
) -> None:
    assert _search(_space_with_qubits(tiny_space, "30"), storage, "--study", "huge") == 1
    out, err = capsys.readouterr()
    assert "study 'huge': 0 ok, 0 pruned, 2 failed" in out and "2 failed attempts: 2 x spec asks for 30 qubits" in out
    assert "qnas export" not in out
    assert err.splitlines()[-1].startswith("qnas: error: no trial of this search finished ok (the commonest failure, 2 of 2 ")
    assert main(["studies", "show", "huge", "--storage", storage]) == 0
    shown = capsys.readouterr().out
    assert "2 failed trials" in shown and shown.count("spec asks for 30 qubits") == 2


def test_a_search_with_some_failed_trials_exits_0_and_says_how_many_and_why(tiny_space: str, storage: str, capsys) -> None:
    space = _space_with_qubits(tiny_space, "2, 30")
    assert main(["search", "--space", space, "--trials", "6", "--workers", "0", "--storage", storage, "--study", "mixed",
                 "--sampler", "random"]) == 0
    out = capsys.readouterr().out
    failed = sum(t.state == optuna.trial.TrialState.FAIL for t in optuna.load_study(study_name="mixed", storage=storage).trials)
    assert 0 < failed < 6, "the seed draws both qubit counts"
    assert f"{failed} failed attempts: {failed} x spec asks for 30 qubits" in out and "Next: qnas export" in out


def test_export_refuses_unfinished_or_missing_trials(tiny_space: str, storage: str, tmp_path: Path, capsys) -> None:
    assert _search(tiny_space, storage, "--study", "s") == 0
    assert main(["export", "--study", "s", "--storage", storage, "--out", str(tmp_path / "x"), "--trial", "7"]) == 2
    assert "trial 7 is not in study 's'" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_dashboard_binds_to_loopback_and_serves_our_study(tiny_space: str, storage: str) -> None:
    assert build_parser().parse_args(["dashboard"]).host == DASHBOARD_HOST == "127.0.0.1"
    assert _search(tiny_space, storage, "--study", "seen") == 0
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "qnas.cli", "dashboard", "--study", "seen", "--storage", storage, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert f"http://127.0.0.1:{port}/dashboard/studies/" in server.stdout.readline()
        deadline, studies = time.monotonic() + 60, None
        while studies is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2) as response:
                    studies = json.load(response)["study_summaries"]
            except OSError:
                time.sleep(0.5)
        assert studies is not None, "the dashboard did not answer within 60 s"
        (study,) = [s for s in studies if s["study_name"] == "seen"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies/{study['study_id']}?after=0", timeout=5) as response:
            detail = json.load(response)
        attrs = {a["key"] for a in detail["trials"][0]["user_attrs"]}
        assert {"spec", "metrics", "baseline", "proposer"} <= attrs
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_next_command_after_a_multi_objective_search_works_as_printed(tmp_path: Path, capsys) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["search", "--task", "bell", "--objectives", "noisy_score,two_qubit_gates", "--trials", "2",
                 "--workers", "0", "--storage", storage, "--study", "front"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    command = out[out.index("Next: qnas export") + len("Next: qnas "):].split(" --out DIR")[0]
    assert "--trial " in command
    assert main([*command.split(), "--out", str(tmp_path / "model")]) == 0
    assert (tmp_path / "model" / "model.json").is_file()
