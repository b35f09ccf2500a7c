"""Build a task from its name and keyword arguments, or from the dict `Task.config()` returns.

Each builder's keyword-only parameters are the task's allowed kwargs, so the signature is the
single place that lists them (and their defaults).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from qnas.errors import TaskError, not_allowed
from qnas.tasks import classification, csv_data, matrix_vqe, molecule, pauli_file, state_prep, vqe
from qnas.tasks.base import Task

_BUILDERS: dict[str, Callable[..., Task]] = {
    "moons": classification.build_moons,
    "circles": classification.build_circles,
    "iris": classification.build_iris,
    "breast_cancer": classification.build_breast_cancer,
    "wine": classification.build_wine,
    "digits": classification.build_digits,
    "csv": csv_data.build_csv,
    "h2": molecule.build_h2,
    "lih": molecule.build_lih,
    "molecule": molecule.build_molecule,
    "tfim": vqe.build_tfim,
    "heisenberg": vqe.build_heisenberg,
    "pauli": pauli_file.build_pauli,
    "npz": matrix_vqe.build_npz,
    "bell": state_prep.build_bell,
    "ghz": state_prep.build_ghz,
}

TASK_NAMES: tuple[str, ...] = tuple(_BUILDERS)


def task_kwargs(name: str) -> dict[str, Any]:
    """The keyword arguments task `name` accepts, with their defaults (None where required)."""
    return {p.name: p.default for p in inspect.signature(_builder(name)).parameters.values()}


def make_task(name_or_config: str | dict[str, Any], **kwargs: Any) -> Task:
    """Build a task: `make_task("moons", noise=0.3)` or `make_task({"name": "moons", "noise": 0.3})`.

    Keyword arguments given next to a config dict override its entries.
    """
    if isinstance(name_or_config, dict):
        config = {**name_or_config, **kwargs}
        if "name" not in config:
            raise TaskError(
                f"task config {name_or_config!r} has no 'name' key; add one of {list(TASK_NAMES)}, "
                "e.g. {'name': 'moons'}."
            )
        name = config.pop("name")
        kwargs = config
    else:
        name = name_or_config
    builder = _builder(name)
    allowed = task_kwargs(name)
    for key in kwargs:
        if key not in allowed:
            fix = f"Task {name!r} takes no keyword arguments." if not allowed else "Remove or rename it."
            raise TaskError(not_allowed(f"{name} keyword argument", key, list(allowed), fix))
    return builder(**kwargs)


def _builder(name: Any) -> Callable[..., Task]:
    if not isinstance(name, str) or name not in _BUILDERS:
        raise TaskError(not_allowed("task name", name, TASK_NAMES, "See TASK_NAMES for the built-in tasks."))
    return _BUILDERS[name]
