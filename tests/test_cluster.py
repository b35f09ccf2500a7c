"""A real two-node Ray cluster on loopback: `ray start --head`, a second `ray start --address`,
searches by `--address` and by `ray job submit`, and trials on both nodes.

The cluster is stopped at the end even when a test fails (`ray stop --force` stops every Ray
process on this machine: run this suite where no other Ray should survive it, as in CI).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

BIN = Path(sys.executable).parent
ENV = {**os.environ, "RAY_AUTH_MODE": "disabled", "OMP_NUM_THREADS": "1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _agent_ports() -> list[str]:
    """Free ports for a node's agents: Ray's fixed defaults clash with any other Ray on this machine."""
    return [f"--dashboard-agent-listen-port={_free_port()}", f"--runtime-env-agent-port={_free_port()}",
            f"--metrics-export-port={_free_port()}"]


def _ray(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "ray"), *args], env=ENV, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def cluster() -> Iterator[dict[str, str]]:
    """Head (1 CPU, job server on 127.0.0.1) plus a second node (1 CPU), both on loopback."""
    assert shutil.which("ray", path=str(BIN)), "the ray CLI comes with ray[default]"
    port, dashboard = _free_port(), _free_port()
    common = ["--num-cpus=1", "--node-ip-address=127.0.0.1", "--disable-usage-stats"]
    try:
        head = _ray("start", "--head", f"--port={port}", "--include-dashboard=true", "--dashboard-host=127.0.0.1",
                    f"--dashboard-port={dashboard}", *common, *_agent_ports())
        assert head.returncode == 0, head.stderr[-2000:]
        node = _ray("start", f"--address=127.0.0.1:{port}", *common, *_agent_ports())
        assert node.returncode == 0, node.stderr[-2000:]
        yield {"address": f"127.0.0.1:{port}", "dashboard": f"http://127.0.0.1:{dashboard}"}
    finally:
        _ray("stop", "--force")


def _search_args(tmp_path: Path, wide_space: str, study: str) -> list[str]:
    return ["search", "--space", wide_space, "--task", "moons", "--task-arg", "n_samples=120", "--workers", "2",
            "--trials", "4", "--storage", f"sqlite:///{tmp_path / 'studies.db'}", "--study", study]


def _nodes(tmp_path: Path, study: str) -> set[str]:
    trials = optuna.load_study(study_name=study, storage=f"sqlite:///{tmp_path / 'studies.db'}").trials
    assert len(trials) == 4 and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    return {t.user_attrs["worker"]["node_id"] for t in trials}


def test_search_by_address_runs_trials_on_both_nodes(cluster, tmp_path: Path, wide_space: str) -> None:
    args = _search_args(tmp_path, wide_space, "by-address") + ["--address", cluster["address"]]
    result = subprocess.run([str(BIN / "qnas"), *args], env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(_nodes(tmp_path, "by-address")) == 2


def test_ray_job_submit_runs_the_search_on_the_cluster(cluster, tmp_path: Path, wide_space: str) -> None:
    command = [str(BIN / "ray"), "job", "submit", "--address", cluster["dashboard"], "--",
               str(BIN / "qnas"), *_search_args(tmp_path, wide_space, "by-job")]
    result = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "succeeded" in result.stdout + result.stderr, result.stderr[-3000:]
    assert len(_nodes(tmp_path, "by-job")) == 2


def test_more_workers_than_cluster_cpus_is_a_clear_error(cluster, tmp_path: Path, wide_space: str) -> None:
    args = _search_args(tmp_path, wide_space, "too-many") + ["--address", cluster["address"], "--workers", "3"]
    result = subprocess.run([str(BIN / "qnas"), *args], env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "--workers = 3 needs 3 CPUs, but the Ray cluster has 2" in result.stderr
