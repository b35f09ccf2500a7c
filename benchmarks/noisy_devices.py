"""Noise, mitigation and noise-aware search on a shipped device model (issue 5).

Three measurements, each printed with the baseline it is compared against:

1. Noisy H2 VQE on a device model: an ansatz trained on the ideal simulator (exact energy to
   ~1e-3 Ha) is scored on the noisy device unmitigated, with readout mitigation, with ZNE
   (fold factors 1,3,5; Richardson or exponential), and with both. Error = |E - E_exact|; the target is ZNE
   cutting it at least 5x against unmitigated.
2. Noise-aware against noise-blind search, same budget and seed: the noise-blind search trains and
   selects on the ideal simulator and its winner is then scored on the noisy device; the
   noise-aware search trains on the noisy device (`noise_aware=true`) and selects on its noisy
   score. Both winners' noisy test accuracies are compared.
3. The cost of a noisy evaluation against an ideal one: the same trained classifier scored on
   its validation set on `default.qubit` and on the noisy device (ratio of wall times), and one
   training epoch on each.
4. The same trained H2 circuit on qnas's noise model of ibm_manila and on qiskit-aer's model of
   the same calibration snapshot (`--device qiskit.aer`, fake_manila), unmitigated, with shots.

    OMP_NUM_THREADS=1 flock /tmp/qnas-heavy.lock .venv/bin/python benchmarks/noisy_devices.py
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import optuna
import torch

from qnas.devices import DeviceConfig
from qnas.evaluation import Budget, evaluate, make_model_config
from qnas.models import build_model
from qnas.search import SearchConfig, run_search
from qnas.spec import CalibrationSpec, CandidateSpec, EncodingSpec, LayerSpec, TrainingSpec
from qnas.study import load_study
from qnas.tasks import make_task
from qnas.training import accuracy


def h2_ansatz(n_qubits: int) -> CandidateSpec:
    """3 RY layers with two linear CNOT entanglers, trained to ~1e-5 Ha of the exact H2 energy."""
    return CandidateSpec(
        split="quantum_only",
        n_qubits=n_qubits,
        encoding=EncodingSpec("none"),
        layers=(LayerSpec(("RY",), "linear", "CNOT"), LayerSpec(("RY",), "linear", "CNOT"), LayerSpec(("RY",), "none", None)),
        training=TrainingSpec(epochs=400, learning_rate=0.05),
    )


def vqe_mitigation(calibration: str) -> None:
    task = make_task({"name": "h2"})
    noisy = DeviceConfig("noisy", {"calibration": calibration})
    base = h2_ansatz(task.required_qubits)
    settings = {
        "unmitigated": CalibrationSpec(),
        "readout mitigation": CalibrationSpec(readout_mitigation=True),
        "ZNE 1,3,5 richardson": CalibrationSpec(zne_factors=(1, 3, 5)),
        "ZNE 1,3,5 exponential": CalibrationSpec(zne_factors=(1, 3, 5), zne_method="exponential"),
        "ZNE rich. + readout mit.": CalibrationSpec(zne_factors=(1, 3, 5), readout_mitigation=True),
        "ZNE exp. + readout mit.": CalibrationSpec(zne_factors=(1, 3, 5), zne_method="exponential", readout_mitigation=True),
    }
    print(f"\n== 1. noisy H2 VQE on {calibration} (exact E = {task.exact_energy:.6f} Ha)")
    to_exact, to_ideal = {}, {}
    for label, calibration_spec in settings.items():
        spec = CandidateSpec(**{**base.__dict__, "calibration": calibration_spec})
        result = evaluate(spec, task, noisy, Budget(seed=0))
        assert result.status == "ok", result.error
        m = result.metrics
        to_exact[label] = abs(m["energy"] - task.exact_energy)
        to_ideal[label] = abs(m["energy"] - m["ideal_energy"])
        print(
            f"{label:26s} E = {m['energy']:.5f} Ha: error vs the ideal circuit's E ({m['ideal_energy']:.5f}) "
            f"{to_ideal[label]:.5f}, vs exact {to_exact[label]:.5f}; 2q gates routed {m['two_qubit_gates_routed']}, "
            f"scored in {m['wall_time_s'] - m['train_time_s']:.2f} s"
        )
    for label in list(settings)[1:]:
        print(
            f"error reduction, {label} vs unmitigated: {to_ideal['unmitigated'] / to_ideal[label]:.1f}x "
            f"(vs the ideal circuit), {to_exact['unmitigated'] / to_exact[label]:.1f}x (vs exact)"
        )


def aer_cross_check(shots: int) -> None:
    """The trained H2 circuit, unmitigated, on qnas's noise model and on qiskit-aer's, built from
    the same IBM calibration snapshot (ibm_manila, 2024-05-27)."""
    task = make_task({"name": "h2"})
    print(f"\n== 4. H2 on two noise models of ibm_manila, {shots} shots, unmitigated (exact E = {task.exact_energy:.6f} Ha)")
    devices = {
        "noisy ibm_manila, layout trivial": (DeviceConfig("noisy", {"calibration": "ibm_manila", "seed": 0}), "trivial"),
        "noisy ibm_manila, layout low_noise": (DeviceConfig("noisy", {"calibration": "ibm_manila", "seed": 0}), "low_noise"),
        "qiskit.aer fake_manila": (DeviceConfig("qiskit.aer", {"backend": "fake_manila", "seed": 0}), "trivial"),
    }
    for label, (device, layout) in devices.items():
        spec = CandidateSpec(**{**h2_ansatz(task.required_qubits).__dict__, "calibration": CalibrationSpec(shots=shots, layout=layout)})
        m = evaluate(spec, task, device, Budget(seed=0)).metrics
        print(f"{label:36s} E = {m['energy']:.5f} Ha, error {abs(m['energy'] - task.exact_energy):.5f}, "
              f"scored in {m['wall_time_s'] - m['train_time_s']:.2f} s")


def _search(study: str, storage: str, device: dict, trials: int, seed: int) -> optuna.Study:
    config = SearchConfig(
        space="noisy_classification", task={"name": "moons"}, trials=trials, workers=0, storage=storage,
        study=study, sampler="tpe", pruner="none", seed=seed, device=device,
    )
    run_search(config)
    return load_study(storage, study)


def noise_aware_vs_blind(calibration: str, trials: int, seed: int) -> None:
    task = make_task({"name": "moons"})
    noisy = {"name": "noisy", "options": {"calibration": calibration}}
    aware = {"name": "noisy", "options": {"calibration": calibration, "noise_aware": True}}
    print(f"\n== 2. noise-aware vs noise-blind classifier search on {calibration}: {trials} trials each, seed {seed}")
    with tempfile.TemporaryDirectory() as tmp:
        storage = f"sqlite:///{Path(tmp) / 'bench.db'}"
        started = time.perf_counter()
        blind = _search("blind", storage, {"name": "default.qubit"}, trials, seed)
        blind_s = time.perf_counter() - started
        spec = CandidateSpec.from_dict(blind.best_trial.user_attrs["spec"])
        rescored = evaluate(spec, task, noisy, Budget(seed=seed)).metrics
        started = time.perf_counter()
        aware_study = _search("aware", storage, aware, trials, seed)
        aware_s = time.perf_counter() - started
        best = aware_study.best_trial.user_attrs["metrics"]
    print(
        f"noise-blind winner (trial {blind.best_trial.number}): ideal val acc {blind.best_value:.3f}; on the noisy "
        f"device val acc {rescored['val_accuracy']:.3f}, test acc {rescored['test_accuracy']:.3f}  [{blind_s:.0f} s]"
    )
    print(
        f"noise-aware winner (trial {aware_study.best_trial.number}): on the noisy device val acc "
        f"{best['val_accuracy']:.3f}, test acc {best['test_accuracy']:.3f}  [{aware_s:.0f} s]"
    )
    print(f"noisy test accuracy, aware - blind: {best['test_accuracy'] - rescored['test_accuracy']:+.3f}")


def evaluation_cost(calibration: str, repeats: int) -> None:
    task = make_task({"name": "moons"})
    spec = CandidateSpec(
        split="quantum_first", n_qubits=4, layers=(LayerSpec(("RY",), "ring", "CNOT"),) * 2,
        post_layers=(8,), training=TrainingSpec(epochs=1, batch_size=32),
    )
    config = make_model_config(spec, task)
    torch.manual_seed(0)
    ideal = build_model(config)
    ideal.set_standardization(task.feature_mean, task.feature_std)
    pennylane = build_model(config, fast_path=False)  # default.qubit through PennyLane, as the noisy path
    pennylane.load_state_dict(ideal.state_dict())
    noisy = build_model(config, device=DeviceConfig("noisy", {"calibration": calibration}))
    noisy.load_state_dict(ideal.state_dict())
    print(f"\n== 3. cost of scoring on {calibration} vs default.qubit ({len(task.x_val)} validation rows, 4 qubits, "
          f"2 ring layers; best of {repeats})")
    times = {}
    for label, model in (("ideal, compiled fast path", ideal), ("ideal, PennyLane", pennylane), ("noisy", noisy)):
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            accuracy(model, task.x_val, task.y_val)
            best = min(best, time.perf_counter() - started)
        times[label] = best
        print(f"{label:26s} scoring pass {best * 1000:.1f} ms")
    for baseline in ("ideal, compiled fast path", "ideal, PennyLane"):
        print(f"noisy / {baseline} scoring cost: {times['noisy'] / times[baseline]:.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibration", nargs="+", default=["ibm_manila"], help="shipped device models, one run each")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shots", type=int, default=20_000, help="shots of the aer cross-check")
    parser.add_argument("--only", choices=["vqe", "search", "cost", "aer"])
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for calibration in args.calibration:
        if args.only in (None, "vqe"):
            vqe_mitigation(calibration)
        if args.only in (None, "cost"):
            evaluation_cost(calibration, args.repeats)
        if args.only in (None, "search"):
            noise_aware_vs_blind(calibration, args.trials, args.seed)
    if args.only in (None, "aer"):
        aer_cross_check(args.shots)  # needs the qiskit extra


if __name__ == "__main__":
    main()
