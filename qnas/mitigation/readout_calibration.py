"""A device's measured readout calibration: assignment matrices over blocks of qubits, as data.

An assignment matrix A over a block of k qubits holds A[measured, prepared] = P(read `measured` |
prepared basis state `prepared`), with the block's first qubit as the most significant bit. Three
ways to split the measured qubits into blocks (`READOUT_METHODS`):

- ``per_qubit``: one 2x2 matrix per qubit, from 2 calibration circuits (|0...0> and |1...1>);
- ``tensored``: blocks of `TENSORED_BLOCK` neighbouring qubits, each a full matrix, from
  2**TENSORED_BLOCK circuits (every block prepares its basis states at the same time);
- ``full``: one 2**k x 2**k matrix over all k <= `MAX_BLOCK_QUBITS` qubits, from all 2**k basis
  states: it captures readout errors that depend on the neighbours' states (crosstalk), which the
  tensor product of per-qubit matrices cannot.

The calibration records where it was measured (device name and a sha256 of its calibration data),
when, and with how many shots, so an export can carry it and a loader can refuse to apply it to
another device. It is stored as JSON (`to_dict`/`from_dict`), never pickled, and validated on the
way in: every block must be a square, column-stochastic, invertible matrix of the block's size.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from qnas.errors import DeviceError, not_allowed

if TYPE_CHECKING:
    from qnas.calibration import DeviceCalibration

SCHEMA = "qnas.readout_calibration/1"
READOUT_METHODS = ("per_qubit", "tensored", "full")
TENSORED_BLOCK = 2
MAX_BLOCK_QUBITS = 5
"""A full block needs 2**k calibration circuits and a 4**k-entry matrix: 32 circuits at k = 5."""
_TOLERANCE = 1e-6
_MAX_CONDITION = 1e6
_WHERE = "readout calibration"
_KEYS = ("schema", "method", "groups", "matrices", "device", "device_sha256", "measured_at", "shots")


def device_fingerprint(calibration: DeviceCalibration) -> str:
    """sha256 of a device's calibration data in canonical JSON (independent of the file's formatting)."""
    text = json.dumps(asdict(calibration), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def readout_groups(method: str, wires: Sequence[int]) -> tuple[tuple[int, ...], ...]:
    """The blocks `method` splits `wires` into, in the given order."""
    wires = tuple(int(w) for w in wires)
    if method == "per_qubit":
        return tuple((w,) for w in wires)
    if method == "tensored":
        return tuple(wires[i : i + TENSORED_BLOCK] for i in range(0, len(wires), TENSORED_BLOCK))
    if method == "full":
        if len(wires) > MAX_BLOCK_QUBITS:
            raise DeviceError(
                f"readout_method = 'full' over {len(wires)} qubits needs {2 ** len(wires)} calibration circuits; it "
                f"is limited to {MAX_BLOCK_QUBITS} qubits. Use readout_method = 'tensored' or 'per_qubit'."
            )
        return (wires,)
    raise DeviceError(not_allowed("readout_method", method, READOUT_METHODS))


def basis_preparations(groups: Sequence[Sequence[int]]) -> list[list[int]]:
    """The qubits to flip in each calibration circuit: circuit j prepares basis state j on every
    block that has one (block bits most significant first); smaller blocks stay at |0...0> then."""
    size = max(len(g) for g in groups)
    return [
        [w for g in groups if j < 2 ** len(g) for i, w in enumerate(g) if (j >> (len(g) - 1 - i)) & 1]
        for j in range(2**size)
    ]


@dataclass(frozen=True, eq=False)  # numpy matrices have no single truth value to compare by
class ReadoutCalibration:
    """Assignment matrices over disjoint blocks of physical qubits, and where they were measured."""

    method: str
    groups: tuple[tuple[int, ...], ...]
    matrices: tuple[np.ndarray, ...]
    device: str
    device_sha256: str
    measured_at: str
    shots: int | None = None

    def __post_init__(self) -> None:
        where = _WHERE
        if self.method not in READOUT_METHODS:
            raise DeviceError(not_allowed(f"{where} method", self.method, READOUT_METHODS))
        groups = _groups(self.groups, where)
        if not isinstance(self.matrices, (list, tuple)) or len(self.matrices) != len(groups):
            raise DeviceError(f"{where}: needs one matrix per group ({len(groups)} groups), got {self.matrices!r:.80}.")
        matrices = tuple(_matrix(m, g, where) for m, g in zip(self.matrices, groups, strict=True))
        if self.shots is not None and (not isinstance(self.shots, int) or isinstance(self.shots, bool) or self.shots < 1):
            raise DeviceError(f"{where}: shots = {self.shots!r} must be a positive integer or null (analytic).")
        for key in ("device", "device_sha256", "measured_at"):
            if not isinstance(getattr(self, key), str) or not getattr(self, key):
                raise DeviceError(f"{where}: {key} = {getattr(self, key)!r} must be a non-empty text.")
        object.__setattr__(self, "groups", groups)
        object.__setattr__(self, "matrices", matrices)

    @classmethod
    def from_measurements(
        cls, method: str, groups: Sequence[Sequence[int]], measured: Sequence[Sequence[Any]],
        calibration: DeviceCalibration, shots: int | None,
    ) -> ReadoutCalibration:
        """Build from the block distributions of the `basis_preparations(groups)` circuits:
        measured[j][b] is block b's measured distribution in circuit j."""
        matrices = []
        for b, group in enumerate(groups):
            columns = [np.asarray(measured[j][b], dtype=float) for j in range(2 ** len(group))]
            matrices.append(np.stack(columns, axis=1))
        return cls(
            method, tuple(tuple(g) for g in groups), tuple(matrices), calibration.name,
            device_fingerprint(calibration), datetime.now(UTC).isoformat(timespec="seconds"), shots,
        )

    @property
    def wires(self) -> tuple[int, ...]:
        """Every calibrated physical qubit, block by block."""
        return tuple(w for g in self.groups for w in g)

    def check_device(self, calibration: DeviceCalibration, wires: Sequence[int]) -> None:
        """Refuse to correct readout on another device, on changed calibration data, or on uncalibrated qubits."""
        if self.device != calibration.name or self.device_sha256 != device_fingerprint(calibration):
            raise DeviceError(
                f"the readout calibration was measured on device {self.device!r} (calibration sha256 "
                f"{self.device_sha256[:12]}...), not on {calibration.name!r} (sha256 "
                f"{device_fingerprint(calibration)[:12]}...), so its matrices do not describe this device's readout. "
                "Re-measure it on this device (qnas.load(..., remeasure_readout=True)) or turn readout mitigation off."
            )
        missing = sorted(set(int(w) for w in wires) - set(self.wires))
        if missing:
            raise DeviceError(
                f"the readout calibration covers qubits {list(self.wires)}, but the circuit reads qubits {missing} "
                "too (another layout?); re-measure it (qnas.load(..., remeasure_readout=True))."
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "method": self.method,
            "groups": [list(g) for g in self.groups],
            "matrices": [m.tolist() for m in self.matrices],
            "device": self.device,
            "device_sha256": self.device_sha256,
            "measured_at": self.measured_at,
            "shots": self.shots,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "readout calibration") -> ReadoutCalibration:
        """Validate parsed JSON; errors name `where`, the field and the rule."""
        if not isinstance(data, Mapping):
            raise DeviceError(f"{where}: must be a JSON object with keys {list(_KEYS)}, got {type(data).__name__}.")
        missing = [key for key in _KEYS if key not in data]
        unknown = sorted(set(data) - set(_KEYS))
        if missing or unknown:
            raise DeviceError(f"{where}: missing keys {missing}, unknown keys {unknown}; the keys are {list(_KEYS)}.")
        if data["schema"] != SCHEMA:
            raise DeviceError(f"{where}: schema = {data['schema']!r} is not supported; this qnas reads {SCHEMA}.")
        try:
            return cls(
                data["method"], data["groups"], data["matrices"], data["device"], data["device_sha256"],
                data["measured_at"], data["shots"],
            )
        except DeviceError as exc:
            raise DeviceError(f"{where}: {str(exc).removeprefix(f'{_WHERE}: ')}") from exc


def _groups(groups: Any, where: str) -> tuple[tuple[int, ...], ...]:
    if not isinstance(groups, (list, tuple)) or not groups:
        raise DeviceError(f"{where}: groups = {groups!r} must be a non-empty list of qubit lists.")
    out, seen = [], set()
    for group in groups:
        ok = isinstance(group, (list, tuple)) and 0 < len(group) <= MAX_BLOCK_QUBITS
        if not ok or not all(isinstance(w, int) and not isinstance(w, bool) and w >= 0 for w in group):
            raise DeviceError(
                f"{where}: group {group!r} must be a list of 1 to {MAX_BLOCK_QUBITS} physical qubit numbers."
            )
        if seen & set(group) or len(set(group)) != len(group):
            raise DeviceError(f"{where}: groups {groups!r} repeat a qubit; each qubit belongs to one group.")
        seen |= set(group)
        out.append(tuple(group))
    return tuple(out)


def _matrix(value: Any, group: tuple[int, ...], where: str) -> np.ndarray:
    size = 2 ** len(group)
    try:
        matrix = np.array(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DeviceError(f"{where}: the matrix of qubits {list(group)} is not a table of numbers ({exc}).") from exc
    if matrix.shape != (size, size) or not np.all(np.isfinite(matrix)):
        raise DeviceError(
            f"{where}: the matrix of qubits {list(group)} must be {size}x{size} finite numbers, got shape "
            f"{matrix.shape}."
        )
    sums = matrix.sum(axis=0)
    if np.any(matrix < -_TOLERANCE) or np.any(np.abs(sums - 1) > _TOLERANCE):
        raise DeviceError(
            f"{where}: the matrix of qubits {list(group)} must hold probabilities whose columns sum to 1 "
            f"(column sums {np.round(sums, 6).tolist()}); it is damaged or not an assignment matrix."
        )
    if np.linalg.cond(matrix) > _MAX_CONDITION:
        raise DeviceError(
            f"{where}: qubits {list(group)} give a singular assignment matrix {np.round(matrix, 4).tolist()}: "
            "the readout cannot tell their states apart, so it cannot be corrected; turn readout mitigation off or "
            "calibrate with more shots."
        )
    matrix.setflags(write=False)
    return matrix
