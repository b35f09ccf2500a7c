"""`qnas scan` (qnas.scan): one study per point, each warm-started from the best of the point
before, with the curve as a table and a plot; bad scans are refused before any study is written."""

from __future__ import annotations

import csv
from pathlib import Path

import optuna
import pytest

from qnas.cli import main
from qnas.scan import run_scan
from qnas.search import SearchConfig

H2 = {"name": "h2"}


def studies(storage: str) -> list[str]:
    return sorted(s.study_name for s in optuna.get_all_study_summaries(storage))


def test_each_point_starts_from_the_best_circuit_of_the_one_before(tmp_path: Path, storage: str) -> None:
    points = run_scan(SearchConfig(task=H2, trials=1, workers=0, storage=storage), "bond_length",
                      [0.6, 0.9, 1.2], "h2", tmp_path / "out")
    assert studies(storage) == ["h2-bond_length=0.6", "h2-bond_length=0.9", "h2-bond_length=1.2"]
    assert [p.warm_start for p in points] == [None, "h2-bond_length=0.6#0", "h2-bond_length=0.9#0"]
    for before, after in zip(points, points[1:], strict=False):
        previous = optuna.load_study(study_name=before.study, storage=storage).trials[0].user_attrs
        placed = optuna.load_study(study_name=after.study, storage=storage).trials[0].user_attrs["adapt_actions"]
        carried = [a for a in previous.get("adapt_pruned_actions") or previous["adapt_actions"] if a != "stop"]
        assert placed[: len(carried)] == carried
    assert all(p.energy_error is not None and p.energy_error <= 1.6e-3 for p in points)
    rows = list(csv.DictReader((tmp_path / "out" / "scan.csv").open()))
    assert [float(r["value"]) for r in rows] == [0.6, 0.9, 1.2] and (tmp_path / "out" / "scan.png").stat().st_size > 10_000


def test_a_sampler_scan_enqueues_the_previous_best_parameters(tmp_path: Path, storage: str) -> None:
    run_scan(SearchConfig(task=H2, trials=2, workers=0, storage=storage, agent="optuna"), "bond_length",
             [0.7, 1.0], "tpe", tmp_path / "out")
    first = optuna.load_study(study_name="tpe-bond_length=0.7", storage=storage)
    second = optuna.load_study(study_name="tpe-bond_length=1.0", storage=storage).trials[0]
    best = min((t for t in first.trials if t.value is not None), key=lambda t: t.value)
    assert second.params == best.params and second.user_attrs["warm_start"] == f"tpe-bond_length=0.7#{best.number}"


@pytest.mark.parametrize(
    ("flags", "message"),
    [(["--task", "h2", "--scan-arg", "bond_length=0.9"], "must give a JSON list of at least 2 values"),
     (["--task", "h2", "--scan-arg", "bond_length=[0.7,-1]"], "bond_length"),
     (["--task", "iris", "--scan-arg", "seed=[0,1]"], "draws energy curves: task 'iris' is classification"),
     (["--task", "h2", "--scan-arg", "bond_length=[0.7,0.9]", "--agent", "beam"],
      "which --agent beam cannot take; scan with --agent adapt")],
)
def test_a_bad_scan_is_refused_naming_the_fix(tmp_path: Path, capsys, flags, message) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    code = main(["scan", *flags, "--trials", "1", "--workers", "0", "--storage", storage, "--out", str(tmp_path / "o")])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "s.db").exists() or studies(storage) == []  # refused before any study was written
