"""Tables of studies and of their best trials, each hybrid model beside its classical baseline."""

from __future__ import annotations

import optuna
from rich.table import Table

from qnas.progress import first_line
from qnas.redaction import redact_url
from qnas.spec import CandidateSpec
from qnas.storage import list_study_names, open_storage

_TASK_METRICS = {
    "accuracy": [("val acc", "val_accuracy"), ("test acc", "test_accuracy")],
    "energy_error": [("energy", "energy"), ("error", "energy_error")],
    "fidelity": [("fidelity", "fidelity")],
    "validation_error_rate": [("val logical error rate", "validation_error_rate")],  # qnas decoders search
}


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _best(study: optuna.Study) -> str:
    """The best value, or the size of the Pareto front of a multi-objective study."""
    if len(study.directions) > 1:
        return f"Pareto front of {len(study.best_trials)}"
    return _fmt(study.best_value)


def _finished_best_first(study: optuna.Study) -> tuple[list[optuna.trial.FrozenTrial], str | None]:
    """Finished trials best first; for several objectives only the Pareto front, ordered by the
    first objective, with a heading that names the objectives."""
    done = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if len(study.directions) > 1:
        names = study.user_attrs.get("objectives") or [f"objective {i}" for i in range(len(study.directions))]
        front = study.best_trials
        front.sort(key=lambda t: t.values[0], reverse=study.directions[0] == optuna.study.StudyDirection.MAXIMIZE)
        directions = ", ".join(f"{n} ({d.name.lower()})" for n, d in zip(names, study.directions, strict=True))
        return front, f"Pareto front: {len(front)} of {len(done)} finished trials ({directions})"
    done.sort(key=lambda t: t.value, reverse=study.direction == optuna.study.StudyDirection.MAXIMIZE)
    return done, None


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
            _best(study) if complete else "-",
        )
    return table


def _decoder_table(study: optuna.Study, trials: list[optuna.trial.FrozenTrial], heading: str) -> Table:
    """A decoder study's trials: the network and training a trial chose, and where its decoder is
    (circuit columns would all be empty)."""
    table = Table(title=f"study {study.study_name}: {heading}")
    for label in ("trial", "val logical error rate", "params", "network", "learning rate", "minutes", "steps", "decoder"):
        table.add_column(label, justify="right" if label not in ("network", "decoder") else "left")
    for trial in trials:
        metrics, config = trial.user_attrs.get("metrics", {}), trial.user_attrs.get("config", {})
        network = config.get("network", {})
        shape = ", ".join(f"{k} {v}" for k, v in network.items()) or "-"
        table.add_row(
            str(trial.number), _fmt(metrics.get("validation_error_rate")), _fmt(metrics.get("n_params")), shape,
            _fmt(config.get("learning_rate")), _fmt(config.get("minutes")), _fmt(metrics.get("steps")),
            trial.user_attrs.get("decoder_path", "-"),
        )
    return table


def _candidate(trial: optuna.trial.FrozenTrial) -> str:
    spec = trial.user_attrs.get("spec")
    return CandidateSpec.from_dict(spec).summary() if spec else "-"


def failed_trials_table(study: optuna.Study) -> Table:
    """Every failed trial with its reason: what was retried after a dead worker, interrupted with
    its driver, or failed on its own (the first line; the study holds the whole text)."""
    failed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,))
    table = Table(title=f"study {study.study_name}: {len(failed)} failed trial{'s' * (len(failed) != 1)}")
    for label in ("trial", "what followed", "reason", "candidate"):
        table.add_column(label, justify="right" if label == "trial" else "left")
    retried_as = {t.user_attrs["retry_of"]: t.number for t in study.get_trials(deepcopy=False) if "retry_of" in t.user_attrs}
    for trial in failed:
        attrs = trial.user_attrs
        followed = "interrupted" if attrs.get("interrupted") else "-"
        if trial.number in retried_as:
            followed = f"retried as trial {retried_as[trial.number]}"
        table.add_row(str(trial.number), followed, first_line(attrs.get("fail_reason", "")), _candidate(trial))
    return table


def best_trials_table(study: optuna.Study, top: int = 10) -> Table:
    """The `top` finished trials, best first, with metrics beside the classical baseline."""
    metric = study.user_attrs.get("metric", "value")
    done, heading = _finished_best_first(study)
    if study.user_attrs.get("task", {}).get("name") == "decoder":
        return _decoder_table(study, done[:top], heading or f"best {min(top, len(done))} of {len(done)} decoders ({metric})")
    shown = done[:top]
    columns = _TASK_METRICS.get(metric, [])
    if any("noise_gap" in t.user_attrs.get("metrics", {}) for t in shown):
        # Scored on a noisy device or with shots: the columns above are that score; add the ideal
        # one, the gap and the routed CNOTs, each where a shown trial has it (not a column of '-').
        label, key = columns[0] if columns else ("value", metric)
        extra = [(f"ideal {label}", f"ideal_{key}"), ("noise gap", "noise_gap"), ("2q routed", "two_qubit_gates_routed")]
        columns = [*columns, *(c for c in extra if any(c[1] in t.user_attrs.get("metrics", {}) for t in shown))]
    has_baseline = any(t.user_attrs.get("baseline") for t in shown)

    heading = heading or f"best {min(top, len(done))} of {len(done)} finished trials ({metric})"
    table = Table(title=f"study {study.study_name}: {heading}")
    table.add_column("trial", justify="right")
    for label, _ in columns:
        table.add_column(label, justify="right")
    if has_baseline:
        table.add_column("baseline test acc", justify="right")
        table.add_column("params (baseline)", justify="right")
    else:
        table.add_column("params", justify="right")
    for label in ("depth", "2q gates", "shots", "proposer"):
        table.add_column(label)
    table.add_column("candidate", overflow="fold")  # a narrow terminal folds a long token; it never cuts it
    for trial in shown:
        metrics = trial.user_attrs.get("metrics", {})
        baseline = trial.user_attrs.get("baseline") or {}
        row = [str(trial.number)] + [_fmt(metrics.get(key)) for _, key in columns]
        if has_baseline:
            row += [_fmt(baseline.get("test_accuracy")), f"{_fmt(metrics.get('n_params'))} ({_fmt(baseline.get('n_params'))})"]
        else:
            row.append(_fmt(metrics.get("n_params")))
        summary = _candidate(trial)
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
