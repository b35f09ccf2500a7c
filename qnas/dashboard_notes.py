"""Notes that make a study readable in optuna-dashboard: a search summary on the study, and the best
trial's circuit, metrics and classical baseline on that trial.

Notes go through optuna-dashboard's note API (`save_note`), which keeps them as study system
attributes: they work on finished studies and trials, on every storage, and show as Markdown in
the dashboard's "Note" panels. Objectives get their names (`set_metric_names`) when the study has
none, so the dashboard's plots say "accuracy" rather than "Objective 0". A note whose text has not changed is not written again, so
starting the dashboard repeatedly does not pile up note versions. The best circuit's drawing is
also uploaded once as a study artifact (when the study has an artifact store), where the
dashboard previews it.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from qnas.errors import QnasError
from qnas.model_card import format_value
from qnas.report import best_trials, objective_names, score_keys
from qnas.wall_time import study_wall_time


@dataclass(frozen=True)
class NotesWritten:
    """What `annotate_study` changed, for the command to print."""

    study_note: bool
    best_trial: int | None
    trial_note: bool
    circuit_artifact: str | None


def study_note(study: optuna.Study) -> str:
    """Markdown summary of the search: task, objectives, trial counts, proposers, the best trial."""
    trials = study.get_trials(deepcopy=False)
    attrs = study.user_attrs
    names = objective_names(study)
    counts = {s: sum(t.state == s for t in trials) for s in TrialState}
    proposers = sorted({t.user_attrs.get("proposer", "unknown") for t in trials})
    task = attrs.get("task", {})
    lines = [
        f"## qnas search: {study.study_name}",
        "",
        f"- task: `{task.get('name', '?')}`, search space: `{attrs.get('space', '?')}`",
        "- objectives: " + ", ".join(f"{n} ({d.name.lower()})" for n, d in zip(names, study.directions, strict=True)),
        "- trials: " + ", ".join(f"{counts[s]} {s.name.lower()}" for s in TrialState if counts[s]),
        f"- proposers: {', '.join(proposers) or '-'}; wall time {study_wall_time(study).describe()}",
    ]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if complete:
        best = best_trials(study, complete)[0]
        values = ", ".join(f"{n} = {format_value(v)}" for n, v in zip(names, best.values, strict=True))
        lines.append(f"- best trial: **{best.number}** ({values}); its note shows the circuit")
    lines += [
        "",
        "Each trial's user attributes hold `spec` (the architecture), `metrics`, `baseline` (a classical model of "
        "similar size) and `proposer`.",
        "",
        f"Report: `qnas report --study {study.study_name} --out DIR`; "
        f"export: `qnas export --study {study.study_name} --out DIR`",
    ]
    return "\n".join(lines)


def trial_note(study: optuna.Study, trial: FrozenTrial, circuit: str | None, circuit_error: str = "") -> str:
    """Markdown for one trial: architecture, scores beside the baseline, and the circuit as text."""
    from qnas.spec import CandidateSpec

    metrics = trial.user_attrs.get("metrics", {})
    baseline = trial.user_attrs.get("baseline") or {}
    spec = trial.user_attrs.get("spec")
    lines = [
        f"## Trial {trial.number}: best of study {study.study_name}",
        "",
        f"`{CandidateSpec.from_dict(spec).summary() if spec else '-'}` (proposer {trial.user_attrs.get('proposer', '-')})",
        "",
        "| metric | this model | classical baseline |",
        "|---|---|---|",
    ]
    for key in [*score_keys([trial]), "n_params", "depth", "two_qubit_gates"]:
        if key in metrics:
            lines.append(f"| {key} | {format_value(metrics[key])} | {format_value(baseline.get(key))} |")
    lines += ["", "### Circuit", ""]
    lines += ["```", circuit, "```"] if circuit else [f"The circuit cannot be drawn: {circuit_error}"]
    return "\n".join(lines)


def annotate_study(study: optuna.Study, artifact_store: Any = None) -> NotesWritten:
    """Write the study note and the best trial's note (and circuit drawing artifact); see the module docstring."""
    from optuna_dashboard import get_note, save_note

    if not study.metric_names:  # the dashboard then labels plots "accuracy", not "Objective 0"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # stable since Optuna 3.2
            study.set_metric_names(objective_names(study))
    wrote_study = _save_if_changed(study, study_note(study), get_note, save_note)
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    if not complete:
        return NotesWritten(wrote_study, None, False, None)
    best = best_trials(study, complete)[0]
    circuit, error, artifact = None, "", None
    try:
        circuit, artifact = _draw_best(study, best, artifact_store)
    except (QnasError, OSError) as exc:
        error = str(exc)
    handle = optuna.Trial(study, best._trial_id)  # note API takes a live Trial; notes live in study attrs
    wrote_trial = _save_if_changed(handle, trial_note(study, best, circuit, error), get_note, save_note)
    return NotesWritten(wrote_study, best.number, wrote_trial, artifact)


def _save_if_changed(target: Any, body: str, get_note: Any, save_note: Any) -> bool:
    if get_note(target) == body:
        return False
    save_note(target, body)
    return True


def _draw_best(study: optuna.Study, best: FrozenTrial, artifact_store: Any) -> tuple[str, str | None]:
    """The best trial's circuit as text, and the id of its drawing uploaded as a study artifact (if new)."""
    from optuna.artifacts import get_all_artifact_meta, upload_artifact

    from qnas.circuits import circuit_text, draw_circuit
    from qnas.trial_model import load_trial_model

    model, first_input = load_trial_model(study, best)
    text = circuit_text(model, first_input)
    if artifact_store is None:
        return text, None
    filename = f"best-trial-{best.number}-circuit.png"
    if any(meta.filename == filename for meta in get_all_artifact_meta(study)):
        return text, None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / filename
        draw_circuit(model, first_input, path)
        artifact_id = upload_artifact(
            artifact_store=artifact_store, file_path=str(path), study_or_trial=study, mimetype="image/png"
        )
    return text, artifact_id
