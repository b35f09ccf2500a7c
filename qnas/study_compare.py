"""Several studies side by side: which search found the best model, at what cost, with which proposer.

Studies of different tasks can share a table; each row names its own metric and direction, so a
reader never compares an accuracy with an energy error by accident.
"""

from __future__ import annotations

from collections import Counter

import optuna
from optuna.trial import TrialState
from rich.table import Table

from qnas.errors import QnasError
from qnas.model_card import format_value
from qnas.report import objective_names
from qnas.study import load_study
from qnas.wall_time import study_wall_time


def load_studies(storage: str, names: list[str]) -> list[optuna.Study]:
    """The named studies, in order; an unknown name raises QnasError listing the studies that exist."""
    if not names:
        raise QnasError("name at least one study to compare, e.g. qnas studies compare r1 r2.")
    return [load_study(storage, name) for name in names]


def compare_table(studies: list[optuna.Study]) -> Table:
    """One row per study: best score, trials by state, failures, wall time (`qnas.wall_time`) and proposers."""
    table = Table(title=f"{len(studies)} studies compared")
    for column in ("study", "task", "objective", "best", "best trial", "trials", "complete", "pruned", "failed",
                   "wall time", "proposers"):
        table.add_column(column, justify="left" if column in ("study", "task", "objective", "proposers") else "right")
    for study in studies:
        trials = study.get_trials(deepcopy=False)
        states = Counter(t.state for t in trials)
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        names = objective_names(study)
        objective = ", ".join(f"{n} ({d.name.lower()[:3]})" for n, d in zip(names, study.directions, strict=True))
        if len(study.directions) == 1 and complete:
            best, best_trial = format_value(study.best_value), str(study.best_trial.number)
        elif complete:
            front = study.best_trials
            best, best_trial = f"{len(front)} on Pareto front", ", ".join(str(t.number) for t in front[:5])
        else:
            best, best_trial = "-", "-"
        proposers = Counter(t.user_attrs.get("proposer", "unknown") for t in trials)
        table.add_row(
            study.study_name,
            str(study.user_attrs.get("task", {}).get("name", "?")),
            objective,
            best,
            best_trial,
            str(len(trials)),
            str(states[TrialState.COMPLETE]),
            str(states[TrialState.PRUNED]),
            str(states[TrialState.FAIL]),
            study_wall_time(study).describe(),
            ", ".join(f"{name} ({count})" for name, count in sorted(proposers.items())),
        )
    return table
