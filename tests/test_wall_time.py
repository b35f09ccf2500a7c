"""One wall time everywhere (issue 22, point 5): `qnas search`'s closing line, the report's summary,
`qnas studies compare` and the dashboard note read it from the study, for a new study, a continued
one and one searched before runs recorded their time."""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pytest

from qnas.cli import main
from qnas.dashboard_notes import study_note
from qnas.report import write_report
from qnas.study import load_study
from qnas.wall_time import TIME_PREFIX, WallTime, format_seconds, study_wall_time


def _search(storage: str, space: str, trials: int, capsys) -> str:
    """Run `qnas search` on study 'timed'; return what its closing line says the search took."""
    capsys.readouterr()
    args = ["search", "--task", "moons", "--task-arg", "n_samples=120", "--space", space, "--trials", str(trials),
            "--workers", "0", "--storage", storage, "--study", "timed"]
    assert main(args) == 0
    return re.search(r"reused in (.+)\.\n", capsys.readouterr().out).group(1)


def _shown_elsewhere(study: optuna.Study, storage: str, out: Path, capsys) -> tuple[str, str, str]:
    """The wall time in the report's summary, in `qnas studies compare` and in the dashboard note."""
    page = write_report(study, out).read_text()
    report = re.search(r"wall time</td><td class='text'>([^<]+)</td>", page).group(1)
    capsys.readouterr()
    assert main(["studies", "compare", study.study_name, "--storage", storage]) == 0
    compare = re.search(r"│\s+([^│]+?) │ optuna:tpe", capsys.readouterr().out).group(1)
    note = re.search(r"wall time (.+)", study_note(study)).group(1)
    return report, compare, note


def _recorded(study: optuna.Study) -> list[float]:
    return [record["seconds"] for key, record in study.user_attrs.items() if key.startswith(TIME_PREFIX)]


def test_search_report_compare_and_notes_show_the_same_wall_time(tiny_space: str, storage: str, tmp_path: Path,
                                                                 capsys) -> None:
    printed = _search(storage, tiny_space, 2, capsys)
    study = load_study(storage, "timed")
    (seconds,) = _recorded(study)
    assert printed == format_seconds(seconds)  # the run's own time, from the call to its return
    assert study_wall_time(study) == WallTime(seconds, untimed_s=0.0, recorded_runs=1)
    assert _shown_elsewhere(study, storage, tmp_path / "first", capsys) == (printed, printed, printed)

    # A second search adds its own time: the closing line gives both, and the study's total is everywhere.
    again = _search(storage, tiny_space, 1, capsys)
    study = load_study(storage, "timed")
    first, second = sorted(_recorded(study), key=lambda s: s != seconds)
    total = format_seconds(first + second)
    assert again == f"{format_seconds(second)}; the study's searches took {total} in all"
    assert study_wall_time(study).seconds == pytest.approx(first + second, abs=1e-5)
    assert _shown_elsewhere(study, storage, tmp_path / "second", capsys) == (total, total, total)


def test_a_study_without_recorded_times_falls_back_to_its_trials_and_says_so(tiny_space: str, storage: str,
                                                                             tmp_path: Path, capsys) -> None:
    """The trials of a real search, copied into a study as one written before runs recorded their time."""
    _search(storage, tiny_space, 2, capsys)
    timed = load_study(storage, "timed")
    old = optuna.create_study(study_name="old", storage=storage, direction="maximize")
    for key, value in timed.user_attrs.items():
        if not key.startswith(TIME_PREFIX):
            old.set_user_attr(key, value)
    for trial in timed.trials:
        old.add_trial(trial)
    span = (max(t.datetime_complete for t in timed.trials) - min(t.datetime_start for t in timed.trials)).total_seconds()
    wall = study_wall_time(old)
    # Epoch timestamps as floats hold about 0.2 microseconds.
    assert wall.seconds == pytest.approx(span, abs=1e-5) and wall.untimed_s == pytest.approx(span, abs=1e-5)
    said = f"{format_seconds(wall.seconds)} (first trial start to last trial end: the search recorded no time of its own)"
    assert wall.describe() == said
    assert _shown_elsewhere(old, storage, tmp_path, capsys) == (said, said, said)
