"""A qnas calibration file from an IBM backend's published properties and configuration.

IBM publishes each calibration as two JSON documents: the backend properties (per-qubit T1, T2
and readout error; per-gate error and duration) and the configuration (the coupling map).
qiskit-ibm-runtime ships snapshots of them for its fake backends, and a user with IBM access gets
them from ``backend.properties().to_dict()`` and ``backend.configuration().to_dict()``. The
shipped ``ibm_manila`` and ``ibm_perth`` files were made by `from_ibm_properties`, and
`tests/test_noise_calibration.py` checks that it still reproduces them.

Rules: the one-qubit gate is ``sx`` (the native pulse; ``rz`` is virtual and error-free); the
two-qubit gate is ``cx`` or else ``ecr`` or ``cz``, its error and duration averaged over both
directions of a pair; times go from microseconds to nanoseconds. Rounding: readout and two-qubit
errors to 6 decimals, one-qubit errors to 7, T1 and T2 to 0.1 ns, gate times to 0.01 ns.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from qnas.calibration import SCHEMA, DeviceCalibration
from qnas.errors import DeviceError

TWO_QUBIT_GATES = ("cx", "ecr", "cz")
_TO_NS = {"ns": 1.0, "us": 1000.0, "µs": 1000.0, "ms": 1e6, "s": 1e9}


def from_ibm_properties(
    properties: dict[str, Any], configuration: dict[str, Any], *, name: str, technology: str, source: str
) -> dict[str, Any]:
    """The ``qnas.calibration/1`` document (validated) for an IBM backend's properties and configuration."""
    where = f"IBM properties of {configuration.get('backend_name', name)!r}"
    qubits = [_qubit(where, index, entries) for index, entries in enumerate(properties.get("qubits", []))]
    pairs: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    gate_2q = next((g for g in TWO_QUBIT_GATES if any(e["gate"] == g for e in properties.get("gates", []))), None)
    for entry in properties.get("gates", []):
        values = {p["name"]: _in_ns(p) if p["name"] == "gate_length" else p["value"] for p in entry["parameters"]}
        if entry["gate"] == "sx":
            qubit = qubits[entry["qubits"][0]]
            qubit["gate_error_1q"] = round(values["gate_error"], 7)
            qubit["gate_time_1q_ns"] = round(values["gate_length"], 2)
        elif entry["gate"] == gate_2q:
            pairs[tuple(sorted(entry["qubits"]))].append((values["gate_error"], values["gate_length"]))
    coupled = {tuple(sorted(pair)) for pair in configuration.get("coupling_map", [])}
    if coupled != set(pairs):
        gates = gate_2q or "/".join(TWO_QUBIT_GATES)
        raise DeviceError(f"{where}: the coupling map {sorted(coupled)} and the {gates} gates {sorted(pairs)} differ.")
    document = {
        "schema": SCHEMA,
        "name": name,
        "technology": technology,
        "source": source,
        "qubits": qubits,
        "couplers": [
            {
                "qubits": list(pair),
                "gate_error_2q": round(statistics.mean(error for error, _ in runs), 6),
                "gate_time_2q_ns": round(statistics.mean(length for _, length in runs), 2),
            }
            for pair, runs in sorted(pairs.items())
        ],
    }
    DeviceCalibration.from_dict(document, where=where)  # a document that would not load is refused here
    return document


def _qubit(where: str, index: int, entries: list[dict[str, Any]]) -> dict[str, Any]:
    by_name = {entry["name"]: entry for entry in entries}
    missing = [key for key in ("T1", "T2", "readout_error") if key not in by_name]
    if missing:
        raise DeviceError(f"{where}: qubit {index} has no {', '.join(missing)}; the properties are incomplete.")
    return {
        "t1_ns": round(_in_ns(by_name["T1"]), 1),
        "t2_ns": round(_in_ns(by_name["T2"]), 1),
        "readout_error": round(by_name["readout_error"]["value"], 6),
    }


def _in_ns(entry: dict[str, Any]) -> float:
    unit = entry.get("unit", "ns")
    if unit not in _TO_NS:
        raise DeviceError(f"IBM property {entry['name']!r} has unit {unit!r}; expected one of {list(_TO_NS)}.")
    return entry["value"] * _TO_NS[unit]
