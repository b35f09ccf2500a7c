"""The Optuna study as qnas's record of a search: storage, metadata, results and weights.

Only the driver process touches a study. Each trial keeps its spec, metrics, classical baseline
and proposer as user attributes (readable in optuna-dashboard), and the trained weights as an
Optuna artifact, so any finished trial can be exported later without retraining.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.artifacts import FileSystemArtifactStore, download_artifact, upload_artifact
from optuna.exceptions import StorageInternalError
from sqlalchemy.exc import SQLAlchemyError

from qnas import __version__
from qnas.errors import QnasError, did_you_mean
from qnas.redaction import redact_url
from qnas.storage import (
    check_storage_url,
    list_study_names,
    local_file,
    open_storage,
    storage_error,
    write_trial_record,
)

if TYPE_CHECKING:
    from qnas.evaluation import EvalResult
    from qnas.spec import CandidateSpec

WEIGHTS_ATTR = "weights_artifact"


def load_study(storage: str, name: str) -> optuna.Study:
    """Load an existing study, or explain which names exist."""
    check_storage_url(storage, must_exist=True)
    names = list_study_names(storage)
    if name not in names:
        raise QnasError(
            f"study {name!r} is not in {redact_url(storage)}; studies there: {names or 'none'}.{did_you_mean(name, names)}"
        )
    return optuna.load_study(study_name=name, storage=open_storage(storage))


def find_study(storage: str, name: str) -> optuna.Study | None:
    """The study if it exists, else None; a SQLite file that does not exist yet is not created."""
    path = local_file(storage)
    if path is not None and not path.exists():
        return None
    check_storage_url(storage, must_exist=True)
    if name not in list_study_names(storage):
        return None
    return optuna.load_study(study_name=name, storage=open_storage(storage))


def open_study(
    storage: str,
    name: str,
    *,
    direction: str | list[str],
    pruner: optuna.pruners.BasePruner,
    attrs: dict[str, Any],
    metric_names: list[str] | None = None,
) -> optuna.Study:
    """Create a study, or continue one that ran the same task on the same device.

    Mixing tasks or devices in one study would compare scores that are not comparable, and would
    let a continued search reuse results from another device. `attrs` are written where the study
    lacks them: what a study already records is never overwritten. The caller sets `study.sampler`.
    `metric_names` label the objectives for plain Optuna (the dashboard, `optuna.visualization`)
    where the study has none yet.
    """
    directions = [direction] if isinstance(direction, str) else list(direction)
    try:  # the first write: a read-only file or a refused server is one clear error, not a traceback
        study = optuna.create_study(
            storage=open_storage(storage), study_name=name, directions=directions, pruner=pruner, load_if_exists=True
        )
    except (OSError, SQLAlchemyError, StorageInternalError) as exc:
        raise storage_error(storage, exc) from exc
    for key in ("task", "device"):
        previous = study.user_attrs.get(key)
        if previous is not None and previous != attrs[key]:
            raise QnasError(
                f"study {name!r} holds a search with {key} {json.dumps(previous)}, not {json.dumps(attrs[key])}; "
                f"its trials are kept as they are. Use another --study name for this {key}."
            )
    existing = [d.name.lower() for d in study.directions]
    if existing != directions:
        raise QnasError(
            f"study {name!r} was created to {'/'.join(existing)}, not {'/'.join(directions)}; use another --study name."
        )
    for key, value in {**attrs, "qnas_version": __version__}.items():
        if key not in study.user_attrs:
            study.set_user_attr(key, value)
    if metric_names and study.metric_names is None:
        with warnings.catch_warnings():  # experimental in Optuna since 3.2, and what its tools read
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(metric_names)
    return study


def artifact_store(study: optuna.Study, *, create: bool = False) -> FileSystemArtifactStore:
    """The study's weights folder; only a search (`create`) makes it, so reading never writes."""
    path = Path(study.user_attrs["artifact_dir"])
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return FileSystemArtifactStore(str(path))


def record_result(
    study: optuna.Study,
    trial: optuna.Trial,
    spec: CandidateSpec,
    result: EvalResult,
    proposer: str,
    attrs: dict[str, Any] | None = None,
    intermediate_values: dict[int, float] | None = None,
) -> None:
    """Store a result on its trial and finish the trial.

    User attributes, intermediate values not reported yet, and the weights artifact must be
    written before `tell`: Optuna refuses updates to finished trials. The attributes go in one
    transaction (`write_trial_record`), which keeps the driver's time per trial low.
    """
    from safetensors.numpy import save_file

    record: dict[str, Any] = {"proposer": proposer, "spec": spec.to_dict(), "spec_hash": spec.hash, "status": result.status}
    optional = {"metrics": result.metrics, "baseline": result.baseline, "history": result.history, "worker": result.worker}
    record.update({key: value for key, value in optional.items() if value})
    record.update(attrs or {})
    if result.error:
        record["fail_reason"] = result.error.splitlines()[0][:1000]
    if result.status == "ok" and result.model_config is not None:
        record["model_config"] = result.model_config
    if result.status == "ok" and result.weights:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"trial-{trial.number}-weights.safetensors"
            save_file({k: v for k, v in result.weights.items()}, str(path))
            record[WEIGHTS_ATTR] = upload_artifact(artifact_store=artifact_store(study, create=True), file_path=str(path), study_or_trial=trial)
    write_trial_record(study._storage, trial._trial_id, record, intermediate_values or {})

    if result.status == "ok":
        study.tell(trial, result.values if result.values is not None else result.value)
    elif result.status == "pruned":
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    else:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)


def fail_interrupted(study: optuna.Study, trial: optuna.Trial, reason: str) -> None:
    """Finish a trial its search left open as FAIL, marked `interrupted` with the reason, so no
    trial stays RUNNING (with a constant liar it would bias the sampler for good)."""
    write_trial_record(study._storage, trial._trial_id, {"interrupted": True, "fail_reason": f"interrupted: {reason}"}, {})
    study.tell(trial, state=optuna.trial.TrialState.FAIL)


def download_weights(study: optuna.Study, trial: optuna.trial.FrozenTrial, dest: Path) -> Path:
    """Fetch a trial's weights artifact to `dest` (a .safetensors path)."""
    artifact_id = trial.user_attrs.get(WEIGHTS_ATTR)
    if artifact_id is None:
        raise QnasError(f"trial {trial.number} of study {study.study_name!r} has no stored weights (state {trial.state.name}).")
    folder = study.user_attrs["artifact_dir"]
    if not Path(folder).is_dir():
        raise QnasError(
            f"the weights of trial {trial.number} are in {folder}, which does not exist here; run this where the "
            "search ran, or copy that folder to the same path."
        )
    download_artifact(artifact_store=artifact_store(study), file_path=str(dest), artifact_id=artifact_id)
    return dest


def pick_trial(study: optuna.Study, number: int | None) -> optuna.trial.FrozenTrial:
    """The best finished trial, or trial `number`, with a clear error when it cannot be exported."""
    trials = study.get_trials(deepcopy=False)
    if number is None:
        done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
        if not done:
            raise QnasError(f"study {study.study_name!r} has no finished trial yet; run `qnas search` on it first.")
        if len(study.directions) > 1:
            front = sorted(t.number for t in study.best_trials)
            raise QnasError(
                f"study {study.study_name!r} has several objectives, so no single best trial; pick a point of its "
                f"Pareto front with --trial N, one of {front} (see `qnas studies show {study.study_name}`)."
            )
        return study.best_trial
    by_number = {t.number: t for t in trials}
    if number not in by_number:
        raise QnasError(f"trial {number} is not in study {study.study_name!r}; it has trials 0..{len(trials) - 1}.")
    trial = by_number[number]
    if trial.state != optuna.trial.TrialState.COMPLETE:
        reason = trial.user_attrs.get("fail_reason", "")
        raise QnasError(f"trial {number} finished as {trial.state.name} {reason}; pick a COMPLETE trial with --trial.".strip())
    return trial
