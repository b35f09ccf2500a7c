"""Shared fixtures: a tiny search space and a small task, so real searches fit in the fast suite."""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
# Ray runs its workers at niceness 15, so on a machine busy with other work they get a few
# percent of a core and every Ray test crawls. The tests' Rays (local, `qnas search`, `ray start`)
# inherit this and run their workers at the same priority as everything else.
os.environ.setdefault("RAY_worker_niceness", "0")
# Exact ground energies are cached on disk (qnas.tasks.energy_cache): the tests keep theirs in a
# folder of their own, never the user's cache. Set before any task is built, so Ray workers inherit it.
os.environ["QNAS_CACHE_DIR"] = tempfile.mkdtemp(prefix="qnas-test-cache-")
atexit.register(shutil.rmtree, os.environ["QNAS_CACHE_DIR"], True)

TINY_SPACE = """
name: tiny
description: Two candidates that differ only in learning rate, for fast search tests.
task_kinds: [classification]
fixed:
  split: quantum_head
  n_qubits: 2
  encoding: angle_y
  measurement: expval
  optimizer: adam
  epochs: 4
  batch_size: 32
params:
  learning_rate: {choices: [0.05, 0.02]}
layer:
  per_layer: false
  rotations: {choices: [RY]}
  entangler: {choices: [linear]}
  entangling_gate: {choices: [CNOT]}
"""

SMALL_MOONS = {"name": "moons", "n_samples": 120}

FRONT_SPACE = """
name: front
description: Three-layer candidates, analytic or with 200 shots, for multi-objective report tests.
task_kinds: [classification]
fixed:
  split: quantum_head
  n_qubits: 2
  encoding: angle_y
  measurement: expval
  optimizer: adam
  n_layers: 3
  epochs: 4
  batch_size: 32
params:
  learning_rate: {choices: [0.05, 0.02]}
  shots: {choices: [null, 200]}
layer:
  per_layer: false
  rotations: {choices: [RX+RY+RZ]}
  entangler: {choices: [linear]}
  entangling_gate: {choices: [CRZ]}
"""
FRONT_OBJECTIVES = ("noisy_score", "two_qubit_gates", "shots")
"""With FRONT_SPACE: three objectives, so three panels, one of them on a shots axis with analytic trials."""

POSTGRES = os.environ.get("QNAS_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(not POSTGRES, reason="QNAS_TEST_POSTGRES_URL is not set (.ci/run sets it)")

QISKIT_EXTRA = ("qiskit", "qiskit_aer", "pennylane_qiskit", "qiskit_ibm_runtime")
MISSING_QISKIT = [module for module in QISKIT_EXTRA if importlib.util.find_spec(module) is None]
needs_qiskit = pytest.mark.skipif(
    bool(MISSING_QISKIT),
    reason=f"the qiskit extra is not installed (no {', '.join(MISSING_QISKIT)}): pip install 'qnas[qiskit]'",
)


@pytest.fixture(scope="module")
def local_ray():
    """A local 2-CPU Ray for one test module, shared by the Ray executors it creates."""
    import ray

    import tests.controlled_jobs
    from qnas.ray_executor import WORKER_ENV

    # Workers would import this module as `tests.controlled_jobs`, and PennyLane's wheel installs
    # a top-level `tests` of its own: send its code with each job runner instead.
    ray.cloudpickle.register_pickle_by_value(tests.controlled_jobs)
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", runtime_env={"env_vars": WORKER_ENV})
    yield
    ray.shutdown()


def poll_all(executor, deadline_s: float = 120) -> list:
    """Poll `executor` until nothing runs (or the deadline passes); return what finished."""
    import time

    finished, end = [], time.monotonic() + deadline_s
    while executor.running and time.monotonic() < end:
        finished += executor.poll(timeout=0.2)
    return finished


@pytest.fixture
def tiny_space(tmp_path: Path) -> str:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SPACE)
    return str(path)


@pytest.fixture
def wide_space(tmp_path: Path) -> str:
    """Like the tiny space, but every trial draws a distinct learning rate, and trains 1 epoch."""
    path = tmp_path / "wide.yaml"
    path.write_text(TINY_SPACE.replace("{choices: [0.05, 0.02]}", "{float: [0.01, 0.1]}").replace("epochs: 4", "epochs: 1"))
    return str(path)


@pytest.fixture
def storage(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'studies.db'}"
