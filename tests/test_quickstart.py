"""The README quickstart, as a user runs it: 20 trials on moons with 2 Ray workers, then export.

Slow (a real 20-trial search on 2 fresh Ray workers, each importing torch and PennyLane, then a
fresh-process load): run with `make test-all` or `pytest -m slow`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

pytestmark = pytest.mark.slow


def _qnas(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RAY_AUTH_MODE": "disabled"}
    return subprocess.run([sys.executable, "-m", "qnas.cli", *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_quickstart_matches_the_baseline_and_round_trips(tmp_path: Path) -> None:
    search = _qnas("search", "--task", "moons", "--trials", "20", "--workers", "2", "--study", "quickstart", cwd=tmp_path)
    assert search.returncode == 0, search.stderr[-3000:]
    assert "[20/20]" in search.stderr

    storage = f"sqlite:///{tmp_path / 'qnas_runs' / 'studies.db'}"
    study = optuna.load_study(study_name="quickstart", storage=storage)
    assert len(study.trials) == 20
    best = study.best_trial
    # Quality: the best hybrid's test accuracy is within 0.02 of its classical baseline, or better.
    assert best.user_attrs["metrics"]["test_accuracy"] >= best.user_attrs["baseline"]["test_accuracy"] - 0.02

    export = _qnas("export", "--study", "quickstart", "--out", "best", cwd=tmp_path)
    assert export.returncode == 0, export.stderr[-3000:]
    check = (
        "import json, sys, torch, qnas\n"
        "model = qnas.load('best')\n"
        "ref = json.load(open('best/reference.json'))\n"
        "logits = model(torch.tensor(ref['inputs'], dtype=torch.float32))\n"
        "assert torch.allclose(logits, torch.tensor(ref['logits'], dtype=torch.float32), atol=1e-6)\n"
        "assert 'ray' not in sys.modules and 'optuna' not in sys.modules\n"
        "print(json.dumps({'rows': len(ref['inputs'])}))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert json.loads(loaded.stdout)["rows"] > 0
