"""`qnas search --device noisy`: two scores and the gap in the study, `studies show`, export of a
trial run again on the noisy device, and no credential from the environment anywhere on disk."""

from __future__ import annotations

import optuna
import pytest
import torch

from qnas import load
from qnas.cli import main
from qnas.devices import DeviceConfig
from qnas.errors import QnasError
from qnas.objectives import ANALYTIC_SHOTS, objective_values, parse_objectives
from qnas.pareto import plot_pareto
from qnas.study import load_study
from qnas.tasks import make_task

FAKE_TOKEN = "fake-hardware-token-7f3a9c"

TINY_SPACE = """
name: tiny_noisy
task_kinds: [classification]
fixed: {split: quantum_first, n_qubits: 2, measurement: expval, epochs: 2, batch_size: 32}
params:
  readout_mitigation: {choices: [false, true]}
  zne: {choices: ["off", "1,3"]}
  layout: {choices: [trivial, low_noise]}
layer:
  per_layer: false
  rotations: {choices: [RY]}
  entangler: {choices: [linear]}
"""


def test_noisy_search_records_both_scores_and_never_stores_credentials(tmp_path, monkeypatch, capsys):
    for variable in ("QISKIT_IBM_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"):
        monkeypatch.setenv(variable, FAKE_TOKEN)
    space = tmp_path / "tiny_noisy.yaml"
    space.write_text(TINY_SPACE)
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    args = ["--storage", storage]
    code = main(
        ["search", "--task", "moons", "--space", str(space), "--trials", "3", "--workers", "0", "--study", "noisy",
         "--pruner", "none", "--device", "noisy", "--device-arg", "calibration=ibm_manila", *args]
    )
    assert code == 0
    study = load_study(storage, "noisy")
    assert study.user_attrs["device"] == {"name": "noisy", "options": {"calibration": "ibm_manila"}}
    trial = study.best_trial
    metrics = trial.user_attrs["metrics"]
    assert metrics["noise_gap"] == metrics["ideal_val_accuracy"] - metrics["val_accuracy"]
    assert trial.value == metrics["val_accuracy"]

    capsys.readouterr()
    assert main(["studies", "show", "noisy", *args]) == 0
    shown = capsys.readouterr().out
    assert "noise gap" in shown and "ideal val acc" in shown and "2q routed" in shown

    out = tmp_path / "export"
    assert main(["export", "--study", "noisy", "--trial", str(trial.number), "--out", str(out), *args]) == 0
    model = load(out, device=DeviceConfig("noisy", {"calibration": "ibm_manila"}))
    task = make_task({"name": "moons"})
    with torch.no_grad():
        logits = model(torch.as_tensor(task.x_val[:8], dtype=torch.float32))
    assert logits.shape == (8, 2) and torch.isfinite(logits).all()

    files = [tmp_path / "studies.db", *(p for p in tmp_path.rglob("*") if p.is_file())]
    for path in files:
        assert FAKE_TOKEN.encode() not in path.read_bytes(), f"credential leaked into {path}"


def test_multi_objective_search_prints_plots_and_exports_its_pareto_front(tmp_path, capsys):
    space = tmp_path / "tiny_noisy.yaml"
    space.write_text(TINY_SPACE.replace("  layout:", "  shots: {choices: [100, 1000]}\n  layout:"))
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    args = ["--storage", storage]
    code = main(
        ["search", "--task", "moons", "--space", str(space), "--trials", "4", "--workers", "0", "--study", "mo",
         "--device", "noisy", "--device-arg", "calibration=ibm_manila",
         "--objectives", "noisy_score,two_qubit_gates,shots", *args]
    )
    assert code == 0
    study = load_study(storage, "mo")
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE", "MINIMIZE"]
    assert {t.user_attrs["proposer"] for t in study.trials} == {"optuna:nsga2"}
    front = study.best_trials
    assert front
    for trial in front:
        m = trial.user_attrs["metrics"]
        assert trial.values == [m["val_accuracy"], m["two_qubit_gates_routed"], m["shots"]]

    capsys.readouterr()
    assert main(["studies", "show", "mo", *args]) == 0
    shown = capsys.readouterr().out
    assert "Pareto front" in shown and "noisy_score (maximize)" in shown
    png = tmp_path / "front.png"
    assert main(["studies", "plot", "mo", "--out", str(png), *args]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert main(["export", "--study", "mo", "--out", str(tmp_path / "best"), *args]) == 2
    assert "pick a point of its Pareto front with --trial N" in capsys.readouterr().err
    point = front[-1].number
    assert main(["export", "--study", "mo", "--trial", str(point), "--out", str(tmp_path / "point"), *args]) == 0
    model = load(tmp_path / "point", device=DeviceConfig("noisy", {"calibration": "ibm_manila"}))
    task = make_task({"name": "moons"})
    with torch.no_grad():
        assert torch.isfinite(model(torch.as_tensor(task.x_val[:4], dtype=torch.float32))).all()


def test_objectives_are_validated_with_the_fix():
    moons, h2 = make_task({"name": "moons"}), make_task({"name": "h2"})
    objectives = parse_objectives("noisy_score,two_qubit_gates,shots", moons)
    assert [(o.name, o.direction) for o in objectives] == [
        ("noisy_score", "maximize"), ("two_qubit_gates", "minimize"), ("shots", "minimize")
    ]
    assert parse_objectives(["noisy_score", "noise_gap"], h2)[0].direction == "minimize"  # energy error
    metrics = {"val_accuracy": 0.9, "two_qubit_gates": 3, "two_qubit_gates_routed": 9, "shots": 0}
    assert objective_values(objectives, metrics) == [0.9, 9.0, float(ANALYTIC_SHOTS)]
    with pytest.raises(QnasError, match="needs at least two"):
        parse_objectives("noisy_score", moons)
    with pytest.raises(QnasError, match="objective = 'two_qubit_gate' is not allowed.*Did you mean 'two_qubit_gates'"):
        parse_objectives("noisy_score,two_qubit_gate", moons)
    with pytest.raises(QnasError, match="repeats an objective"):
        parse_objectives("shots,shots", moons)


def test_plot_refuses_a_single_objective_study(tmp_path):
    study = optuna.create_study(study_name="single")
    with pytest.raises(QnasError, match="has one objective, so it has no Pareto front; run a search with --objectives"):
        plot_pareto(study, tmp_path / "x.png")
