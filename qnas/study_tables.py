"""Tables of studies and of their best trials, each hybrid model beside its classical baseline."""

from __future__ import annotations

import optuna
from rich.table import Table

from qnas.redaction import redact_url
from qnas.spec import CandidateSpec
from qnas.storage import list_study_names, open_storage

_TASK_METRICS = {
    "accuracy": [("val acc", "val_accuracy"), ("test acc", "test_accuracy")],
    "energy_error": [("energy", "energy"), ("error", "energy_error")],
    "fidelity": [("fidelity", "fidelity")],
}


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def studies_table(storage: str) -> Table:
    """One row per study: task, space, trials by state and the best value."""
    table = Table(title=f"studies in {redact_url(storage)}")
    for column in ("study", "task", "space", "metric", "complete", "pruned", "failed", "running", "best"):
        table.add_column(column)
    for name in list_study_names(storage):
        study = optuna.load_study(study_name=name, storage=open_storage(storage))
        trials = study.get_trials(deepcopy=False)
        states = [t.state for t in trials]
        complete = states.count(optuna.trial.TrialState.COMPLETE)
        attrs = study.user_attrs
        task = attrs.get("task", {}).get("name", "?")
        table.add_row(
            name,
            task,
            attrs.get("space", "?"),
            attrs.get("metric", "?"),
            str(complete),
            str(states.count(optuna.trial.TrialState.PRUNED)),
            str(states.count(optuna.trial.TrialState.FAIL)),
            str(states.count(optuna.trial.TrialState.RUNNING)),
            _fmt(study.best_value) if complete else "-",
        )
    return table


def best_trials_table(study: optuna.Study, top: int = 10) -> Table:
    """The `top` finished trials, best first, with metrics beside the classical baseline."""
    metric = study.user_attrs.get("metric", "value")
    reverse = study.direction == optuna.study.StudyDirection.MAXIMIZE
    done = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    done.sort(key=lambda t: t.value, reverse=reverse)
    columns = _TASK_METRICS.get(metric, [])
    has_baseline = any(t.user_attrs.get("baseline") for t in done)

    table = Table(title=f"study {study.study_name}: best {min(top, len(done))} of {len(done)} finished trials ({metric})")
    table.add_column("trial", justify="right")
    for label, _ in columns:
        table.add_column(label, justify="right")
    if has_baseline:
        table.add_column("baseline test acc", justify="right")
        table.add_column("params (baseline)", justify="right")
    else:
        table.add_column("params", justify="right")
    for label in ("depth", "2q gates", "shots", "proposer", "candidate"):
        table.add_column(label)
    for trial in done[:top]:
        metrics = trial.user_attrs.get("metrics", {})
        baseline = trial.user_attrs.get("baseline") or {}
        row = [str(trial.number)] + [_fmt(metrics.get(key)) for _, key in columns]
        if has_baseline:
            row += [_fmt(baseline.get("test_accuracy")), f"{_fmt(metrics.get('n_params'))} ({_fmt(baseline.get('n_params'))})"]
        else:
            row.append(_fmt(metrics.get("n_params")))
        spec = trial.user_attrs.get("spec")
        summary = CandidateSpec.from_dict(spec).summary() if spec else "-"
        if "duplicate_of" in trial.user_attrs:
            summary += f" (= trial {trial.user_attrs['duplicate_of']})"
        row += [
            _fmt(metrics.get("depth")),
            _fmt(metrics.get("two_qubit_gates")),
            _fmt(metrics.get("shots")),
            trial.user_attrs.get("proposer", "-"),
            summary,
        ]
        table.add_row(*row)
    return table
