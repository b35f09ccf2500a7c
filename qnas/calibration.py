"""Device calibration data: the schema, its validation, and the shipped files of real devices.

A calibration file describes one quantum computer as measured by its maker, so a noisy simulator
can stand in for it. It is JSON (``.json``) or YAML (``.yaml``/``.yml``) with this schema:

.. code-block:: yaml

    schema: qnas.calibration/1
    name: ibm_manila                    # lower-case letters, digits, '_' or '-'
    technology: superconducting transmon
    source: where the numbers come from (a URL, a package file, a date)
    qubits:                             # one entry per physical qubit, indexed 0..n-1
      - {t1_ns: 131528.6, t2_ns: 102203.9, readout_error: 0.0353,
         gate_error_1q: 0.000155, gate_time_1q_ns: 35.6}
    couplers:                           # the coupling map: pairs that run a two-qubit gate
      - {qubits: [0, 1], gate_error_2q: 0.0088, gate_time_2q_ns: 277.3}

Units: times in nanoseconds; errors are probabilities in [0, 1): ``gate_error_*`` is the average
gate infidelity (what randomized benchmarking reports), ``readout_error`` the probability that a
measured bit is flipped. Couplers are undirected. Physics is checked, not only types: T2 may not
exceed 2 T1, because no physical qubit dephases slower than that bound (and PennyLane's
`ThermalRelaxationError` refuses it).

Shipped devices (`SHIPPED_CALIBRATIONS`) live in `qnas/calibration_data/`; each file's `source`
says where its numbers come from.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from qnas.errors import DeviceError, not_allowed

SCHEMA = "qnas.calibration/1"
SHIPPED_CALIBRATIONS = ("ibm_manila", "ibm_perth", "iqm_garnet", "ionq_harmony")
"""Calibration files inside the package: 5-qubit IBM transmons (line), 7-qubit IBM transmons
(H-shaped; readout error 3% on average), 20-qubit IQM transmons (square lattice), 11-qubit IonQ
trapped ions (all-to-all)."""

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_TOP_KEYS = ("schema", "name", "technology", "source", "qubits", "couplers")
_QUBIT_KEYS = ("t1_ns", "t2_ns", "readout_error", "gate_error_1q", "gate_time_1q_ns")
_COUPLER_KEYS = ("qubits", "gate_error_2q", "gate_time_2q_ns")


@dataclass(frozen=True)
class QubitCalibration:
    """One physical qubit: coherence times, its single-qubit gate and its readout."""

    t1_ns: float
    t2_ns: float
    readout_error: float
    gate_error_1q: float
    gate_time_1q_ns: float


@dataclass(frozen=True)
class CouplerCalibration:
    """One coupled pair (undirected) and the two-qubit gate it runs."""

    qubits: tuple[int, int]
    gate_error_2q: float
    gate_time_2q_ns: float


@dataclass(frozen=True)
class DeviceCalibration:
    """A validated calibration file; build with `load_calibration` or `DeviceCalibration.from_dict`."""

    name: str
    technology: str
    source: str
    qubits: tuple[QubitCalibration, ...]
    couplers: tuple[CouplerCalibration, ...]

    @property
    def n_qubits(self) -> int:
        return len(self.qubits)

    def coupler(self, a: int, b: int) -> CouplerCalibration:
        """The coupler joining physical qubits a and b, in either order."""
        found = self._couplers_by_pair().get(frozenset((a, b)))
        if found is None:
            raise DeviceError(f"device {self.name!r} has no coupler between qubits {a} and {b}; route the gate first.")
        return found

    def neighbors(self) -> dict[int, list[int]]:
        """Adjacency lists of the coupling map, each sorted."""
        adjacency: dict[int, list[int]] = {q: [] for q in range(self.n_qubits)}
        for c in self.couplers:
            a, b = c.qubits
            adjacency[a].append(b)
            adjacency[b].append(a)
        return {q: sorted(n) for q, n in adjacency.items()}

    def _couplers_by_pair(self) -> dict[frozenset[int], CouplerCalibration]:
        cached = self.__dict__.get("_pairs")
        if cached is None:
            cached = {frozenset(c.qubits): c for c in self.couplers}
            object.__setattr__(self, "_pairs", cached)
        return cached

    @classmethod
    def from_dict(cls, data: Any, where: str = "calibration") -> DeviceCalibration:
        """Validate a parsed file; every message names the file, the field path, the value and the rule."""
        if not isinstance(data, dict):
            raise DeviceError(f"{where}: must be a mapping with keys {list(_TOP_KEYS)}, got {type(data).__name__}.")
        _check_keys(where, data, _TOP_KEYS)
        if data["schema"] != SCHEMA:
            raise DeviceError(f"{where}: schema = {data['schema']!r} is not supported; write schema: {SCHEMA}.")
        name = data["name"]
        if not isinstance(name, str) or not _NAME.match(name):
            raise DeviceError(f"{where}: name = {name!r} must be lower-case letters, digits, '_' or '-'.")
        for key in ("technology", "source"):
            if not isinstance(data[key], str) or not data[key].strip():
                raise DeviceError(f"{where}: {key} must be a non-empty text (say what and where from).")
        raw_qubits = data["qubits"]
        if not isinstance(raw_qubits, list) or not raw_qubits:
            raise DeviceError(f"{where}: qubits must be a non-empty list, one entry per physical qubit.")
        qubits = tuple(_qubit(f"{where}: qubits[{i}]", q) for i, q in enumerate(raw_qubits))
        raw_couplers = data["couplers"]
        if not isinstance(raw_couplers, list):
            raise DeviceError(f"{where}: couplers must be a list of {{qubits: [a, b], gate_error_2q, gate_time_2q_ns}}.")
        couplers = tuple(_coupler(f"{where}: couplers[{i}]", c, len(qubits)) for i, c in enumerate(raw_couplers))
        seen: set[frozenset[int]] = set()
        for i, c in enumerate(couplers):
            pair = frozenset(c.qubits)
            if pair in seen:
                raise DeviceError(f"{where}: couplers[{i}] repeats the pair {list(c.qubits)}; list each pair once.")
            seen.add(pair)
        return cls(name, data["technology"].strip(), data["source"].strip(), qubits, couplers)


def _check_keys(where: str, data: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in data:
        if key not in keys:
            raise DeviceError(f"{where}: " + not_allowed("key", key, keys, "Remove or rename it."))
    missing = [key for key in keys if key not in data]
    if missing:
        raise DeviceError(f"{where}: missing {missing[0]!r}; every entry needs {list(keys)}.")


def _number(where: str, key: str, value: Any, low: float, high: float, low_open: bool = False) -> float:
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    ok = ok and (low < value if low_open else low <= value) and value < high
    if not ok:
        bracket = "(" if low_open else "["
        raise DeviceError(f"{where}: {key} = {value!r} must be a number in {bracket}{low}, {high}).")
    return float(value)


def _qubit(where: str, data: Any) -> QubitCalibration:
    if not isinstance(data, dict):
        raise DeviceError(f"{where}: must be a mapping with keys {list(_QUBIT_KEYS)}.")
    _check_keys(where, data, _QUBIT_KEYS)
    t1 = _number(where, "t1_ns", data["t1_ns"], 0, math.inf, low_open=True)
    t2 = _number(where, "t2_ns", data["t2_ns"], 0, math.inf, low_open=True)
    if t2 > 2 * t1:
        raise DeviceError(
            f"{where}: t2_ns = {t2:g} exceeds 2 * t1_ns = {2 * t1:g}, which no physical qubit allows; "
            "check the units (nanoseconds) or cap T2 at 2 T1."
        )
    return QubitCalibration(
        t1_ns=t1,
        t2_ns=t2,
        readout_error=_number(where, "readout_error", data["readout_error"], 0, 0.5),
        gate_error_1q=_number(where, "gate_error_1q", data["gate_error_1q"], 0, 0.5),
        gate_time_1q_ns=_number(where, "gate_time_1q_ns", data["gate_time_1q_ns"], 0, math.inf),
    )


def _coupler(where: str, data: Any, n_qubits: int) -> CouplerCalibration:
    if not isinstance(data, dict):
        raise DeviceError(f"{where}: must be a mapping with keys {list(_COUPLER_KEYS)}.")
    _check_keys(where, data, _COUPLER_KEYS)
    pair = data["qubits"]
    valid = (
        isinstance(pair, list)
        and len(pair) == 2
        and all(isinstance(q, int) and not isinstance(q, bool) and 0 <= q < n_qubits for q in pair)
        and pair[0] != pair[1]
    )
    if not valid:
        raise DeviceError(f"{where}: qubits = {pair!r} must be two different qubit indices in [0, {n_qubits - 1}].")
    return CouplerCalibration(
        qubits=(pair[0], pair[1]),
        gate_error_2q=_number(where, "gate_error_2q", data["gate_error_2q"], 0, 0.75),
        gate_time_2q_ns=_number(where, "gate_time_2q_ns", data["gate_time_2q_ns"], 0, math.inf),
    )


def _parse(path: Path) -> Any:
    text = path.read_text()
    try:
        if path.suffix in (".yaml", ".yml"):
            return yaml.safe_load(text)
        return json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise DeviceError(f"calibration file {path} is not valid {path.suffix[1:].upper()}: {exc}") from exc


def load_calibration(name_or_path: str) -> DeviceCalibration:
    """A shipped device by name (`SHIPPED_CALIBRATIONS`) or a user's file by path (.json, .yaml, .yml)."""
    if not isinstance(name_or_path, str) or not name_or_path:
        raise DeviceError(
            f"calibration = {name_or_path!r} must be a shipped device name {list(SHIPPED_CALIBRATIONS)} or a file path."
        )
    if name_or_path in SHIPPED_CALIBRATIONS:
        text = resources.files("qnas").joinpath("calibration_data", f"{name_or_path}.json").read_text()
        return DeviceCalibration.from_dict(json.loads(text), where=f"calibration {name_or_path!r}")
    path = Path(name_or_path).expanduser()
    if path.suffix not in (".json", ".yaml", ".yml"):
        raise DeviceError(not_allowed("calibration", name_or_path, SHIPPED_CALIBRATIONS, "Or give a .json/.yaml file."))
    if not path.is_file():
        raise DeviceError(f"calibration file {str(path)!r} does not exist; give a path to a .json or .yaml file.")
    return DeviceCalibration.from_dict(_parse(path), where=f"calibration file {path}")
