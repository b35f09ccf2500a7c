"""The `Task` interface, and the keyword checks every task builder shares.

A task is what a candidate is scored on: a dataset, a Hamiltonian or a target state, plus the
metric and its direction. It is fully described by `config()` (a JSON-able dict), so a study
stores the config, and a worker or an export rebuilds the same task with `make_task(config)`.
"""

from __future__ import annotations

import hashlib
import math
from abc import ABC, abstractmethod
from typing import Any

from qnas.errors import TaskError


class Task(ABC):
    """What a candidate is trained and scored on.

    Subclasses set `kind`, `metric` and `direction` as class attributes and call
    `Task.__init__(name, params)` with the normalized keyword arguments that rebuild them.
    """

    kind: str
    metric: str
    direction: str
    data_sha256: str | None = None
    """SHA-256 of the file a task reads (a CSV, a Hamiltonian), None for built-in data. A study
    records it, so a search on changed data is caught (`qnas.search_record`), and so is a worker
    that reads a different copy of the file."""

    def __init__(self, name: str, params: dict[str, Any]) -> None:
        self.name = name
        self._params = dict(params)

    @property
    def required_qubits(self) -> int | None:
        """Qubits fixed by the task itself (a Hamiltonian or a target state); None when free."""
        return None

    def config(self) -> dict[str, Any]:
        """JSON-able dict such that `make_task(task.config())` rebuilds an equal task."""
        return {"name": self.name, **self._params}

    @abstractmethod
    def describe(self) -> str:
        """One line for logs and tables, e.g. 'moons: 2 features, 2 classes, 300/100/100 train/val/test'."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


def file_sha256(path: str) -> str:
    """The SHA-256 of a file's bytes: the fingerprint `Task.data_sha256` holds."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_int(task: str, key: str, value: Any, low: int, high: int) -> int:
    """An integer keyword in [low, high]; bools are rejected (True is not a qubit count)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TaskError(f"{task}: {key} = {value!r} must be an integer in [{low}, {high}].")
    return int(value)


def check_float(task: str, key: str, value: Any, low: float, high: float, low_open: bool = False) -> float:
    """A finite real keyword in [low, high] (or (low, high] with low_open); ints are accepted."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if ok:
        ok = (low < value if low_open else low <= value) and value <= high
    if not ok:
        interval = f"{'(' if low_open else '['}{low}, {high}]"
        raise TaskError(f"{task}: {key} = {value!r} must be a finite number in {interval}.")
    return float(value)


def check_bool(task: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TaskError(f"{task}: {key} = {value!r} must be true or false.")
    return value


def check_seed(task: str, value: Any) -> int:
    return check_int(task, "seed", value, 0, 2**32 - 1)
