"""Readout-error mitigation and zero-noise extrapolation on the noisy device model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qnas.circuits import make_qnode, weight_shapes
from qnas.devices import DeviceConfig
from qnas.errors import DeviceError, SpecError
from qnas.mitigation.readout import correct_probs
from qnas.mitigation.readout_calibration import ReadoutCalibration
from qnas.mitigation.zne import extrapolation
from qnas.models import hamiltonian_from_pauli_terms
from qnas.spec import CalibrationSpec, CandidateSpec, EncodingSpec, LayerSpec


def test_correct_probs_inverts_the_assignment_of_each_qubit():
    a = np.array([[0.95, 0.1], [0.05, 0.9]])
    b = np.array([[0.98, 0.04], [0.02, 0.96]])
    calibration = ReadoutCalibration("per_qubit", ((0,), (1,)), (a, b), "test", "0" * 64, "2026-11-22T00:00:00+00:00")
    true = np.array([0.5, 0.1, 0.3, 0.1])
    measured = np.kron(a, b) @ true
    np.testing.assert_allclose(correct_probs(measured, [0, 1], calibration), true, atol=1e-12)
    batch = np.stack([measured, measured])
    np.testing.assert_allclose(correct_probs(batch, [0, 1], calibration), np.stack([true, true]), atol=1e-12)
    with pytest.raises(DeviceError, match=r"no readout calibration for qubit\(s\) \[2\]"):
        correct_probs(measured, [0, 2], calibration)
    with pytest.raises(DeviceError, match="singular assignment matrix"):
        ReadoutCalibration("per_qubit", ((0,),), (np.full((2, 2), 0.5),), "test", "0" * 64, "now")


def test_extrapolation_methods_recover_a_known_zero_noise_value():
    factors = [1, 3, 5]
    quadratic = [0.8 - 0.05 * s + 0.002 * s**2 for s in factors]
    assert extrapolation("richardson")(factors, quadratic) == pytest.approx(0.8)
    line = [0.8 - 0.05 * s for s in factors]
    assert extrapolation("linear")(factors, line) == pytest.approx(0.8)
    with pytest.raises(SpecError, match="zne_method = 'cubic' is not allowed"):
        extrapolation("cubic")


def _energy_error(settings: CalibrationSpec) -> float:
    """|noisy - ideal| energy of a fixed 3-qubit ansatz and Hamiltonian on the ibm_manila model."""
    hamiltonian = hamiltonian_from_pauli_terms([(0.5, "ZZI"), (0.3, "XIX"), (-0.2, "IYY"), (0.4, "IZI")], 3)
    spec = CandidateSpec(
        split="quantum_only", n_qubits=3, encoding=EncodingSpec("none"),
        layers=(LayerSpec(("RY", "RZ"), "linear", "CNOT"),), calibration=settings,
    )
    weights = {name: torch.linspace(0.2, 1.4, int(np.prod(shape)), dtype=torch.float64).reshape(shape)
               for name, shape in weight_shapes(spec).items()}
    ideal = make_qnode(spec, measurement=hamiltonian)(**weights)
    noisy = make_qnode(spec, device=DeviceConfig("noisy", {"calibration": "ibm_manila"}), measurement=hamiltonian)
    return abs(float(noisy(**weights)) - float(ideal))


def test_mitigation_cuts_the_energy_error_on_a_noisy_device():
    raw = _energy_error(CalibrationSpec())
    readout = _energy_error(CalibrationSpec(readout_mitigation=True))
    both = _energy_error(CalibrationSpec(readout_mitigation=True, zne_factors=(1, 3, 5)))
    assert raw > 0.01
    assert readout < raw / 2
    assert both < readout / 3
