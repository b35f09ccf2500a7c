"""IBM device noise models from qiskit-aer, as a scoring device: ``qiskit.aer`` with a fake backend.

qiskit-ibm-runtime ships calibration snapshots of IBM devices as "fake backends" (``fake_manila``,
``fake_perth``, ...). ``AerSimulator.from_backend`` turns one into qiskit-aer's own noise model of
that device (gate errors with thermal relaxation, readout errors, its coupling map and basis
gates), and pennylane-qiskit runs PennyLane circuits on it, transpiled (routed) to that device.
This is a second noise model beside qnas's own ``noisy`` device (`qnas.noise_model`), built by
another library from the same kind of data, so each can be checked against the other.

Options: ``backend`` (required, a fake backend name) and ``seed`` (for the transpiler's choices
and the sampling). Aer samples: a candidate scored here needs ``calibration.shots``. The calibration settings that
``noisy`` applies itself (readout mitigation, ZNE, layout) are not applied here; the
transpiler picks the layout.

Install: ``pip install 'qnas[qiskit]'`` (pennylane-qiskit, qiskit-aer, qiskit-ibm-runtime).
"""

from __future__ import annotations

import functools
import importlib.util
import warnings
from typing import Any

from qnas.devices import QISKIT_AER
from qnas.errors import DeviceError, not_allowed

OPTIONS = ("backend", "seed")
PLUGINS = "pip install 'qnas[qiskit]'  (pennylane-qiskit, qiskit-aer and qiskit-ibm-runtime)"


def _require_plugins() -> None:
    missing = [m for m in ("pennylane_qiskit", "qiskit_aer", "qiskit_ibm_runtime") if importlib.util.find_spec(m) is None]
    if missing:
        raise DeviceError(f"device {QISKIT_AER!r} needs {', '.join(missing)}: {PLUGINS}.")


@functools.cache
def fake_backends() -> dict[str, type]:
    """Fake backend name (``fake_manila``) -> its class in qiskit-ibm-runtime, without building any.
    Read once per process: every device config and capacity check looks names up here."""
    _require_plugins()
    from qiskit_ibm_runtime import fake_provider
    from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

    classes = {}
    for attr in dir(fake_provider):
        cls = getattr(fake_provider, attr)
        if isinstance(cls, type) and issubclass(cls, FakeBackendV2) and not attr.endswith("Backend"):
            classes["fake_" + attr.removeprefix("Fake").removesuffix("V2").lower()] = cls
    return classes


def check_options(options: dict[str, Any]) -> None:
    """Refuse unknown options, a missing or unknown backend and a non-integer seed, naming the fix."""
    for key in options:
        if key not in OPTIONS:
            raise DeviceError(not_allowed(f"{QISKIT_AER} device option", key, OPTIONS))
    if "backend" not in options:
        raise DeviceError(
            f"device {QISKIT_AER!r} needs the option backend, a fake IBM backend of qiskit-ibm-runtime, "
            "e.g. --device qiskit.aer --device-arg backend=fake_manila."
        )
    names = fake_backends()
    if options["backend"] not in names:
        raise DeviceError(not_allowed(f"{QISKIT_AER} backend", options["backend"], sorted(names)))
    seed = options.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise DeviceError(f"{QISKIT_AER} device option seed = {seed!r} must be an integer.")


def backend_qubits(options: dict[str, Any]) -> int:
    """Qubits of the device the backend describes."""
    return _qubit_count(options["backend"])


@functools.cache
def _qubit_count(name: str) -> int:
    """Built once per backend name: the capacity check runs on every evaluation."""
    return _fake_backend(name).num_qubits


def make_aer_device(options: dict[str, Any], wires: int):
    """A PennyLane device running circuits on the fake backend's Aer noise model.

    It is pennylane-qiskit's primitive-based device (the class behind ``qiskit.remote``) with an
    ``AerSimulator`` as its backend: that device transpiles each circuit to the coupling map,
    SWAPs included. pennylane-qiskit's own ``qiskit.aer`` device turns routing off, so any
    two-qubit gate between uncoupled qubits would fail there.
    """
    import pennylane as qml
    from qiskit_aer import AerSimulator

    simulator = AerSimulator.from_backend(_fake_backend(options["backend"]))
    seeds = {}
    if "seed" in options:  # the transpiler's choices and the sampling both repeat
        seeds = {"seed_transpiler": options["seed"], "options": {"simulator": {"seed_simulator": options["seed"]}}}
    return qml.device("qiskit.remote", wires=wires, backend=simulator, **seeds)


def _fake_backend(name: str):
    with warnings.catch_warnings():  # some snapshots warn that they are not typical of their device
        warnings.simplefilter("ignore", UserWarning)
        return fake_backends()[name]()
