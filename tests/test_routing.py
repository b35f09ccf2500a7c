"""Layouts and SWAP routing on real coupling maps: every routed gate is on a coupler, and the
routed circuit computes the same state as the original, up to the final layout."""

from __future__ import annotations

import numpy as np
import pennylane as qml
import pytest

from qnas.calibration import load_calibration
from qnas.errors import DeviceError
from qnas.routing import choose_layout, route


@pytest.fixture(scope="module")
def manila():
    return load_calibration("ibm_manila")  # a line 0-1-2-3-4


@pytest.fixture(scope="module")
def garnet():
    return load_calibration("iqm_garnet")  # a square lattice


def test_layouts_are_connected_and_validated(manila, garnet):
    assert choose_layout("trivial", 3, manila) == (0, 1, 2)
    garnet_trivial = choose_layout("trivial", 4, garnet)
    assert garnet_trivial[0] == 0 and len(set(garnet_trivial)) == 4  # breadth first from 0: 0, 1, 3, 4
    low = choose_layout("low_noise", 3, manila)
    costs = [q.gate_error_1q + q.readout_error for q in manila.qubits]
    assert low[0] == int(np.argmin(costs))
    assert choose_layout([4, 3], 2, manila) == (4, 3)
    with pytest.raises(DeviceError, match="spec asks for 6 qubits but device 'ibm_manila' has 5"):
        choose_layout("trivial", 6, manila)
    with pytest.raises(DeviceError, match=r"layout \[0, 2\] on device 'ibm_manila' is not connected"):
        choose_layout([0, 2], 2, manila)
    with pytest.raises(DeviceError, match="names qubit 7"):
        choose_layout([0, 7], 2, manila)
    with pytest.raises(DeviceError, match="must list 2 different physical qubits"):
        choose_layout([1, 1], 2, manila)
    with pytest.raises(DeviceError, match="'diagonal' is not allowed"):
        choose_layout("diagonal", 2, manila)


def _circuit(n: int) -> list:
    """Rotations and two-qubit gates between distant qubits, so routing has work to do."""
    rng = np.random.default_rng(3)
    ops = [qml.RY(float(rng.uniform(0, np.pi)), wires=w) for w in range(n)]
    ops += [qml.CNOT([0, n - 1]), qml.RX(0.4, wires=1), qml.CZ([n - 1, 1]), qml.CNOT([2, 0]), qml.RY(0.3, wires=0)]
    return ops


@pytest.mark.parametrize(
    ("device", "layout"),
    [("ibm_manila", "trivial"), ("ibm_manila", "low_noise"), ("ibm_manila", [4, 3, 2, 1]),
     ("ibm_perth", "trivial"), ("ibm_perth", [6, 5, 3, 1])],  # perth: an H, so routes branch
)
def test_routed_circuit_is_equivalent_and_uses_only_couplers(device, layout):
    n = 4
    calibration = load_calibration(device)
    physical = choose_layout(layout, n, calibration)
    ops = _circuit(n)
    routed = route(ops, physical, calibration)
    couplers = {frozenset(c.qubits) for c in calibration.couplers}
    assert all(frozenset(op.wires) in couplers for op in routed.operations if len(op.wires) == 2)
    assert routed.swaps > 0
    assert routed.two_qubit_gates == 3 + 3 * routed.swaps

    @qml.qnode(qml.device("default.qubit", wires=range(n)))
    def ideal():
        for op in ops:
            qml.apply(op)
        return qml.probs(wires=range(n))

    @qml.qnode(qml.device("default.qubit", wires=list(physical)))
    def on_device():
        for op in routed.operations:
            qml.apply(op)
        return qml.probs(wires=[routed.final_layout[w] for w in range(n)])

    np.testing.assert_allclose(on_device(), ideal(), atol=1e-12)


def test_coupled_gates_need_no_swaps(manila):
    routed = route([qml.CNOT([0, 1]), qml.CNOT([2, 1])], (0, 1, 2), manila)
    assert routed.swaps == 0 and routed.final_layout == {0: 0, 1: 1, 2: 2}
    with pytest.raises(DeviceError, match="decompose it"):
        route([qml.Toffoli([0, 1, 2])], (0, 1, 2), manila)
