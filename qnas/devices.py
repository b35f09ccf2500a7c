"""Devices as configuration: a PennyLane device name plus JSON-able keyword options.

A spec or a study never holds a live device, only a `DeviceConfig`, so it can be sent to a worker,
stored and exported. Credentials never live here: plugins that need them read environment
variables, and option keys that look like secrets are refused.

Four kinds of device:

- simulators (`SIMULATORS`), as PennyLane names them;
- ``noisy``: a simulator of a real device from its calibration data, options
  ``{"calibration": NAME_OR_PATH, "seed": int?, "noise_aware": bool?}`` (noise-aware: train there too) (`qnas.calibration`, `qnas.noise_model`), e.g.
  ``DeviceConfig("noisy", {"calibration": "ibm_manila"})``; readout mitigation measures its
  assignment matrices as ``readout_method`` says (per_qubit, tensored, full), or uses a stored
  ``readout_calibration`` (`qnas.mitigation.readout_calibration.ReadoutCalibration.to_dict()`);
- ``qiskit.aer`` with ``{"backend": "fake_manila", "seed": int?}``: qiskit-aer's noise model of
  an IBM device from qiskit-ibm-runtime's calibration snapshot (`qnas.qiskit_aer_device`); an
  optional install, for scoring;
- hardware plugins (`HARDWARE_CREDENTIALS`), e.g. ``qiskit.remote`` with ``{"backend": "ibm_fez"}``
  or ``braket.aws.qubit`` with ``{"device_arn": ...}``: their credentials come only from the
  environment variables listed there, and are checked when the device is made.

`max_qubits` answers "how many qubits can this machine simulate for training?" from its memory,
so a too-large candidate fails fast with a message instead of being killed by the OOM killer.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from qnas.errors import DeviceError, not_allowed

SIMULATORS = ("default.qubit", "lightning.qubit", "default.mixed", "noisy")
HARDWARE_CREDENTIALS = {
    "qiskit.remote": ("QISKIT_IBM_TOKEN",),
    "braket.aws.qubit": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
}
"""Hardware plugin devices and the environment variables their credentials are read from."""
HARDWARE_PLUGINS = {"qiskit.remote": "'qnas[qiskit]'", "braket.aws.qubit": "amazon-braket-pennylane-plugin"}
QISKIT_AER = "qiskit.aer"
"""qiskit-aer's noise model of a fake IBM backend (`qnas.qiskit_aer_device`)."""
KNOWN_DEVICES = (*SIMULATORS, QISKIT_AER, *HARDWARE_CREDENTIALS)
NOISY_OPTIONS = ("calibration", "seed", "noise_aware", "readout_method", "readout_calibration")

HARD_LIMITS = {"default.qubit": 28, "lightning.qubit": 30, "default.mixed": 14, "noisy": 14}
"""Qubits a simulator accepts regardless of memory: beyond these a run is too slow to be of use,
as each qubit more doubles the work (for a density matrix: quadruples it)."""

STATE_FACTOR = {"default.qubit": 1, "lightning.qubit": 1, "default.mixed": 2, "noisy": 2}
"""A pure state stores 2**n amplitudes; a density matrix stores 4**n = 2**(2n)."""

AUTOGRAD_FACTOR = 16
"""Copies of the state kept per sample while training: backprop keeps intermediate states alive."""

MEMORY_FRACTION = 0.5
"""Share of physical memory a single training run may plan to use (workers run side by side)."""

BYTES_PER_AMPLITUDE = 16  # complex128

SECRET_MARKERS = (
    "token",
    "api_key",
    "apikey",
    "password",
    "passwd",
    "secret",
    "credential",
    "access_key",
    "private_key",
)


def _looks_secret(key: str) -> bool:
    lowered = key.lower().replace("-", "_")
    return any(marker in lowered for marker in SECRET_MARKERS)


@dataclass(frozen=True)
class DeviceConfig:
    """A PennyLane device by name, with keyword options passed to `qml.device`."""

    name: str = "default.qubit"
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or self.name not in KNOWN_DEVICES:
            raise DeviceError(not_allowed("device name", self.name, KNOWN_DEVICES))
        if not isinstance(self.options, dict):
            raise DeviceError(f"device options = {self.options!r} must be a mapping of option name to value.")
        for key in self.options:
            if not isinstance(key, str):
                raise DeviceError(f"device option key {key!r} must be a string.")
            if _looks_secret(key):
                raise DeviceError(
                    f"device option {key!r} looks like a credential; credentials are never stored in a config, "
                    "a study or an export. Remove it and set it in an environment variable the device plugin reads."
                )
            if key in ("wires", "shots"):
                raise DeviceError(
                    f"device option {key!r} is set by qnas (wires from the spec's n_qubits, shots from "
                    "calibration.shots); remove it from the options."
                )
        try:
            # A JSON round trip both validates and deep-copies, so the frozen config owns its options.
            options = json.loads(json.dumps(self.options, sort_keys=True, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise DeviceError(
                f"device options = {self.options!r} must be JSON-able (numbers, strings, lists): {exc}."
            ) from exc
        object.__setattr__(self, "options", options)
        if self.name == "noisy":
            self._check_noisy()
        if self.name == QISKIT_AER:
            from qnas.qiskit_aer_device import check_options

            check_options(self.options)

    def _check_noisy(self) -> None:
        from qnas.calibration import SHIPPED_CALIBRATIONS, load_calibration

        for key in self.options:
            if key not in NOISY_OPTIONS:
                raise DeviceError(not_allowed("noisy device option", key, NOISY_OPTIONS))
        if "calibration" not in self.options:
            raise DeviceError(
                f"device 'noisy' needs a calibration: one of {list(SHIPPED_CALIBRATIONS)} or a file path, "
                "e.g. --device noisy --device-arg calibration=ibm_manila."
            )
        if not isinstance(self.options.get("noise_aware", False), bool):
            raise DeviceError(f"noisy device option noise_aware = {self.options['noise_aware']!r} must be true or false.")
        load_calibration(self.options["calibration"])  # validates the name or the file now, not on a worker
        from qnas.mitigation.readout_calibration import READOUT_METHODS, ReadoutCalibration

        if self.options.get("readout_method", "per_qubit") not in READOUT_METHODS:
            raise DeviceError(not_allowed("noisy device option readout_method", self.options["readout_method"], READOUT_METHODS))
        if "readout_calibration" in self.options:
            ReadoutCalibration.from_dict(self.options["readout_calibration"], where="device option readout_calibration")

    @property
    def is_hardware(self) -> bool:
        return self.name in HARDWARE_CREDENTIALS

    @property
    def samples_only(self) -> bool:
        """True for devices that only sample (Aer's fake backends, hardware): a circuit needs shots."""
        return self.name == QISKIT_AER or self.is_hardware

    def check_shots(self, shots: int | None) -> None:
        """DeviceError, with the fix, when this device samples only and `shots` is None."""
        if shots is None and self.samples_only:
            raise DeviceError(
                f"device {self.name!r} samples, and calibration.shots is not set: give the spec (or the search "
                "space) a shot count, e.g. calibration.shots: 4000."
            )

    def __hash__(self) -> int:
        return hash((self.name, json.dumps(self.options, sort_keys=True)))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "options": json.loads(json.dumps(self.options))}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | str) -> DeviceConfig:
        """Accept a dict or a bare device name (the common case in configs and CLI flags)."""
        if isinstance(data, str):
            return cls(name=data)
        if not isinstance(data, dict):
            raise DeviceError(f"device must be a name or a mapping with 'name' and 'options', got {data!r}.")
        unknown = sorted(set(data) - {"name", "options"})
        if unknown:
            raise DeviceError(not_allowed("device key", unknown[0], ["name", "options"]))
        return cls(name=data.get("name", "default.qubit"), options=data.get("options", {}))


def total_memory_bytes() -> int:
    """Physical memory of this machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def max_qubits(device_name: str, batch_size: int = 1) -> int:
    """Most qubits simulator `device_name` can train with at `batch_size` on this machine (memory and hard cap)."""
    if device_name not in SIMULATORS:
        raise DeviceError(not_allowed("simulator name", device_name, SIMULATORS))
    budget = MEMORY_FRACTION * total_memory_bytes()
    per_unit = BYTES_PER_AMPLITUDE * max(1, batch_size) * AUTOGRAD_FACTOR
    # Solve per_unit * 2**(factor * n) <= budget for the largest integer n.
    by_memory = int(math.floor(math.log2(budget / per_unit) / STATE_FACTOR[device_name])) if budget > per_unit else 0
    return max(0, min(HARD_LIMITS[device_name], by_memory))


def check_capacity(device: DeviceConfig, n_qubits: int, batch_size: int) -> None:
    """Raise DeviceError when a run of `n_qubits` at `batch_size` does not fit on `device` here
    (for a noisy device also: on the real device it models)."""
    if device.is_hardware:
        return  # the plugin checks the machine's own size when the device is made
    if device.name == QISKIT_AER:
        from qnas.qiskit_aer_device import backend_qubits

        size = backend_qubits(device.options)
        if n_qubits > size:
            raise DeviceError(
                f"spec asks for {n_qubits} qubits but backend {device.options['backend']!r} has {size}; "
                f"lower n_qubits to at most {size} or pick a larger backend."
            )
        return  # Aer simulates only circuits that fit the device, a few dozen qubits at most
    if device.name == "noisy":
        from qnas.calibration import load_calibration

        calibration = load_calibration(device.options["calibration"])
        if n_qubits > calibration.n_qubits:
            raise DeviceError(
                f"spec asks for {n_qubits} qubits but device {calibration.name!r} has {calibration.n_qubits}; "
                f"lower n_qubits to at most {calibration.n_qubits} or pick a larger device."
            )
    limit = max_qubits(device.name, batch_size)
    if n_qubits > limit:
        gib = total_memory_bytes() / 2**30
        raise DeviceError(
            f"spec asks for {n_qubits} qubits but {device.name} can hold at most {limit} here "
            f"(batch {batch_size}, {gib:.1f} GiB memory); lower n_qubits or the batch size."
        )


def make_device(config: DeviceConfig, wires: int):
    """A real PennyLane device for `wires` qubits.

    Shots are not a device setting here: PennyLane 0.45 deprecates `qml.device(..., shots=)`, so
    `qnas.circuits.make_qnode` sets them on the QNode. Sampling devices take `options["seed"]`.
    """
    import pennylane as qml

    if config.name == "noisy":
        raise DeviceError("the noisy device is built per circuit: use qnas.circuits.make_qnode, not make_device.")
    if config.is_hardware:
        return _hardware_device(config, wires)
    if config.name == QISKIT_AER:
        from qnas.qiskit_aer_device import make_aer_device

        return make_aer_device(config.options, wires)
    return qml.device(config.name, wires=wires, **config.options)


def hardware_credentials(name: str) -> dict[str, str]:
    """The credential environment variables of hardware device `name`; DeviceError naming any unset."""
    variables = HARDWARE_CREDENTIALS[name]
    missing = [v for v in variables if not os.environ.get(v)]
    if missing:
        raise DeviceError(
            f"device {name!r} needs the environment variable(s) {', '.join(missing)} set to your credentials; "
            "qnas reads credentials only from the environment and never stores them."
        )
    return {v: os.environ[v] for v in variables}


def _hardware_device(config: DeviceConfig, wires: int):
    """A hardware plugin device; credentials are read here, in the process that runs it, and never kept."""
    import importlib.util

    import pennylane as qml

    credentials = hardware_credentials(config.name)
    module = "pennylane_qiskit" if config.name == "qiskit.remote" else "braket.pennylane_plugin"
    if importlib.util.find_spec(module.split(".")[0]) is None:
        raise DeviceError(f"device {config.name!r} needs its plugin: pip install {HARDWARE_PLUGINS[config.name]}.")
    if config.name == "qiskit.remote":
        from qiskit_ibm_runtime import QiskitRuntimeService

        if "backend" not in config.options:
            raise DeviceError("device 'qiskit.remote' needs the option backend (an IBM backend name, e.g. ibm_fez).")
        service = QiskitRuntimeService(channel="ibm_quantum_platform", token=credentials["QISKIT_IBM_TOKEN"])
        options = {k: v for k, v in config.options.items() if k != "backend"}
        return qml.device(config.name, wires=wires, backend=service.backend(config.options["backend"]), **options)
    return qml.device(config.name, wires=wires, **config.options)  # boto3 reads the AWS variables itself
