"""The search loop: ask the proposer, evaluate on the executor, tell the study.

Everything the user typed is validated before the study is opened, so bad input never leaves a
half-written study behind. Candidates with a spec already evaluated (same hash) reuse that
result instead of training again.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import optuna

from qnas.agents import OptunaProposer, Proposal, make_sampler
from qnas.agents.optuna_proposer import SAMPLERS, make_pruner
from qnas.devices import DeviceConfig
from qnas.errors import QnasError, not_allowed
from qnas.evaluation import EvalResult
from qnas.executor import Job, make_executor
from qnas.progress import SearchCounts, SearchProgress
from qnas.search_spaces import load_space
from qnas.study import DEFAULT_STORAGE, check_storage_url, default_artifact_dir, open_study
from qnas.tasks import make_task

POLL_SECONDS = 0.1
DEFAULT_SPACES = {"classification": "classification", "vqe": "vqe_gates", "state_prep": "state_prep"}
"""The shipped space used when `--space` is not given, by task kind."""


@dataclass(frozen=True)
class SearchConfig:
    """What `qnas search` was asked to do; every field has the quickstart's default."""

    space: str | None = None
    task: dict[str, Any] = field(default_factory=lambda: {"name": "moons"})
    trials: int = 20
    workers: int = 2
    storage: str = DEFAULT_STORAGE
    study: str | None = None
    sampler: str = "tpe"
    pruner: str = "percentile"
    seed: int = 0
    device: dict[str, Any] = field(default_factory=lambda: {"name": "default.qubit"})
    artifact_dir: str | None = None


@dataclass(frozen=True)
class SearchOutcome:
    study_name: str
    storage: str
    counts: SearchCounts
    wall_time_s: float


def _reuse(result: EvalResult) -> EvalResult:
    """A duplicate trial records the original's scores; weights stay with the original trial."""
    return replace(result, weights=None, metrics={**result.metrics, "wall_time_s": 0.0})


def _previous_results(study: optuna.Study) -> dict[str, tuple[int, EvalResult]]:
    """Finished trials of a continued study, by spec hash, so their specs are not trained again."""
    known: dict[str, tuple[int, EvalResult]] = {}
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        attrs = trial.user_attrs
        if "spec_hash" in attrs and "duplicate_of" not in attrs:
            known[attrs["spec_hash"]] = (
                trial.number,
                EvalResult(
                    status="ok",
                    value=trial.value,
                    metrics=attrs.get("metrics", {}),
                    baseline=attrs.get("baseline"),
                    history=attrs.get("history", []),
                    model_config=attrs.get("model_config"),
                    spec_hash=attrs["spec_hash"],
                ),
            )
    return known


def run_search(config: SearchConfig, progress: SearchProgress | None = None) -> SearchOutcome:
    """Run `config.trials` trials into the study and return the counts."""
    if config.trials < 1:
        raise QnasError(f"--trials = {config.trials} must be at least 1.")
    if config.workers < 0:
        raise QnasError(f"--workers = {config.workers} must be 0 (in-process) or more (Ray workers).")
    if config.sampler not in SAMPLERS:
        raise QnasError(not_allowed("--sampler", config.sampler, SAMPLERS))
    task = make_task(config.task)
    space = load_space(config.space or DEFAULT_SPACES[task.kind])
    space.check_task_kind(task.kind)
    device = DeviceConfig.from_dict(config.device)
    check_storage_url(config.storage)
    pruner = make_pruner(config.pruner)

    study_name = config.study or f"{task.name}-{space.name}"
    artifact_dir = Path(config.artifact_dir) if config.artifact_dir else default_artifact_dir(config.storage)
    study = open_study(
        config.storage,
        study_name,
        direction=task.direction,
        sampler=make_sampler(config.sampler, config.seed, config.trials),
        pruner=pruner,
        attrs={
            "task": task.config(),
            "space": space.name,
            "metric": task.metric,
            "device": device.to_dict(),
            "artifact_dir": str(artifact_dir.resolve()),
        },
    )
    proposer = OptunaProposer(study, space, task.required_qubits, config.sampler)
    progress = progress or SearchProgress(config.trials, task.metric, task.direction)
    known = _previous_results(study)
    start = time.monotonic()

    executor = make_executor(config.workers, on_report=proposer.report)
    running: dict[int, Proposal] = {}
    in_flight: dict[str, int] = {}
    waiting: dict[str, list[Proposal]] = defaultdict(list)
    asked = finished = 0

    def finish(proposal: Proposal, result: EvalResult, duplicate_of: int | None = None) -> None:
        nonlocal finished
        proposer.tell(proposal.id, result, duplicate_of=duplicate_of)
        finished += 1
        reason = (result.error or "").splitlines()[0] if result.error else ""
        progress.finished(
            proposal.id, result.status, result.value, proposal.spec.summary(), reason, reused=duplicate_of is not None
        )

    try:
        while finished < config.trials:
            while asked < config.trials and executor.running < executor.capacity:
                proposal = proposer.ask()
                asked += 1
                key = proposal.spec.hash
                if key in known:
                    number, result = known[key]
                    finish(proposal, _reuse(result), duplicate_of=number)
                elif key in in_flight:
                    waiting[key].append(proposal)
                else:
                    in_flight[key] = proposal.id
                    running[proposal.id] = proposal
                    executor.submit(
                        Job(proposal.id, proposal.spec.to_dict(), task.config(), device.to_dict(), {"seed": config.seed})
                    )
                    progress.started()
            for job, result in executor.poll(timeout=POLL_SECONDS):
                proposal = running.pop(job.id)
                key = proposal.spec.hash
                del in_flight[key]
                finish(proposal, result)
                if result.status == "ok":
                    known[key] = (proposal.id, result)
                for duplicate in waiting.pop(key, []):
                    finish(duplicate, _reuse(result), duplicate_of=proposal.id)
    finally:
        executor.shutdown()
        progress.close()
    return SearchOutcome(study_name, config.storage, progress.counts, time.monotonic() - start)
