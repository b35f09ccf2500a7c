"""The search loop: ask the proposer, evaluate on the executor, tell the study.

Everything the user typed is validated before the study is opened, so bad input never leaves a
half-written study behind. Candidates with a spec already evaluated (same hash) reuse that
result instead of training again.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import defaultdict, deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from qnas.agents import Proposal, make_sampler
from qnas.agents.factory import check_agent, make_proposer
from qnas.agents.optuna_proposer import make_pruner
from qnas.devices import DeviceConfig
from qnas.errors import DeviceError, QnasError
from qnas.evaluation import Budget, EvalResult
from qnas.executor import Executor, Job, JobRunner, make_executor, run_job
from qnas.objectives import Objective, objective_values, parse_objectives
from qnas.progress import SearchCounts, SearchProgress
from qnas.search_record import (
    SearchRecord,
    check_continuation,
    last_recorded,
    new_settings,
    recorded_runs,
    resumed_settings,
    run_key,
)
from qnas.search_spaces import SearchSpace
from qnas.storage import DEFAULT_STORAGE, check_storage_url, default_artifact_dir
from qnas.study import fail_interrupted, find_study, load_study, open_study
from qnas.tasks import Task
from qnas.wall_time import record_search_time
from qnas.warm_start import WarmStart

POLL_SECONDS = 0.1
DEFAULT_TRIALS = 20
MAX_DEFAULT_NAME = 100
"""Characters of a default study name; a longer one is cut and keeps a hash of the whole."""


@dataclass(frozen=True)
class SearchConfig:
    """What `qnas search` was asked to do.

    The settings a study records (`qnas.search_record`: task, space, device, objectives, sampler,
    pruner, seed, agent, policy, agent_timesteps, fast_path) are None where not given: a new search
    then takes the default (moons; the task kind's space; default.qubit; single objective; tpe, or
    nsga2 with objectives; percentile pruning for classifiers, none for VQE and state preparation;
    seed 0; optuna; 4096 agent steps; the fast path), and `resume` takes the study's record.

    `trials` counts finished trials (ok, pruned or failed); trials lost to a dead worker and
    retried, or interrupted with their driver, do not count. With `resume`, the search runs on
    to the count recorded when the study's last search started, and `trials` must be None.
    """

    space: str | None = None
    task: dict[str, Any] | None = None
    trials: int | None = DEFAULT_TRIALS
    workers: int = 2
    storage: str = DEFAULT_STORAGE
    study: str | None = None
    sampler: str | None = None
    pruner: str | None = None
    seed: int | None = None
    device: dict[str, Any] | None = None
    artifact_dir: str | None = None
    address: str | None = None
    trial_timeout: float | None = None
    max_retries: int = 2
    resume: bool = False
    agent: str | None = None
    policy: str | None = None
    agent_timesteps: int | None = None
    objectives: tuple[str, ...] | None = None
    """Several objectives (`qnas.objectives`): a multi-objective study, told one value per objective."""
    fast_path: bool | None = None
    """Train on the compiled torch simulator on ideal default.qubit; False keeps PennyLane (--no-fast-path)."""
    allow_new_data: bool = False
    """Add to a study whose data file changed since its last search (`--allow-new-data`)."""
    warm_start: WarmStart | None = None
    """A finished trial of another study to start from (`qnas scan`: the previous point's best)."""


@dataclass(frozen=True)
class SearchOutcome:
    """How the search went. `wall_time_s` is this run's time, as recorded on the study
    (`qnas.wall_time`); `executor_wait_s` is driver time spent waiting on the executor, and the
    rest of `wall_time_s` is the driver's own scheduling work (asks, tells, storage writes)."""

    study_name: str
    storage: str
    counts: SearchCounts
    wall_time_s: float
    executor_wait_s: float


def _reuse(result: EvalResult) -> EvalResult:
    """A duplicate trial records the original's scores; weights stay with the original trial."""
    return replace(result, weights=None, worker=None, metrics={**result.metrics, "wall_time_s": 0.0})


def _previous_results(study: optuna.Study, record: SearchRecord) -> dict[str, tuple[int, EvalResult]]:
    """Finished trials of a continued study with the same seed and data, by spec hash, so their
    specs are not trained again."""
    known: dict[str, tuple[int, EvalResult]] = {}
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        attrs = trial.user_attrs
        same_run = attrs.get("seed") == record.seed and attrs.get("data_sha256") == record.data_sha256
        if "spec_hash" in attrs and "duplicate_of" not in attrs and same_run:
            known[attrs["spec_hash"]] = (
                trial.number,
                EvalResult(
                    status="ok",
                    value=trial.values[0] if len(trial.values) == 1 else None,  # several: recomputed from metrics
                    metrics=attrs.get("metrics", {}),
                    baseline=attrs.get("baseline"),
                    history=attrs.get("history", []),
                    model_config=attrs.get("model_config"),
                    spec_hash=attrs["spec_hash"],
                ),
            )
    return known


def _counts_toward_target(trial: optuna.trial.FrozenTrial) -> bool:
    """Finished trials count; ones retried after a dead worker or interrupted with their driver do not."""
    finished = trial.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    return finished and not trial.user_attrs.get("retried") and not trial.user_attrs.get("interrupted")


def _fail_interrupted(study: optuna.Study) -> int:
    """Mark trials a dead driver left RUNNING as failed, with the reason; return how many."""
    stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for frozen in stale:
        trial = optuna.trial.Trial(study, frozen._trial_id)
        fail_interrupted(study, trial, "its driver stopped before the trial finished (marked on --resume)")
    return len(stale)


def _check_settings(config: SearchConfig) -> None:
    """Refuse settings that cannot work, before any study is opened."""
    if config.resume and config.trials is not None:
        raise QnasError("--resume continues to the trial count the search started with; drop --trials.")
    if not config.resume and (config.trials is None or config.trials < 1):
        raise QnasError(f"--trials = {config.trials} must be at least 1.")
    if config.resume and not config.study:
        raise QnasError("--resume needs --study NAME: the study to continue.")
    if config.workers < 0:
        raise QnasError(f"--workers = {config.workers} must be 0 (in-process) or more (Ray workers).")
    if config.workers == 0 and (config.address or config.trial_timeout):
        raise QnasError("--address and --trial-timeout need Ray workers: set --workers 1 or more.")
    if config.trial_timeout is not None and config.trial_timeout <= 0:
        raise QnasError(f"--trial-timeout = {config.trial_timeout} must be a positive number of seconds.")
    if config.max_retries < 0:
        raise QnasError(f"--max-retries = {config.max_retries} must be 0 or more.")
    check_storage_url(config.storage)


def _check_record(record: SearchRecord, task: Task, space: SearchSpace) -> tuple[DeviceConfig, tuple[Objective, ...]]:
    """Refuse recorded or resolved settings that cannot work together, before any study is written."""
    space.check_task_kind(task.kind)
    device = DeviceConfig.from_dict(record.device)
    if device.samples_only and space.allows_analytic():
        raise DeviceError(
            f"device {device.name!r} samples, and space {space.name!r} lets candidates run without shots "
            "(calibration.shots null, or not drawn for every candidate): each such trial would fail. Give every "
            "candidate a shot count, e.g. params: shots: {choices: [1000, 4000]} (as --space aer_classification "
            "does) or fixed: shots: 4000."
        )
    objectives = parse_objectives(record.objectives, task) if record.objectives else ()
    if objectives and record.pruner != "none":
        raise QnasError(f"--pruner {record.pruner} needs a single objective (Optuna prunes no other); drop --pruner.")
    make_pruner(record.pruner, task.kind)  # validates the names before the study is opened
    make_sampler(record.sampler, record.seed, 1)
    check_agent(record.agent)
    if record.policy is not None and record.agent not in ("rl", "hybrid"):
        raise QnasError(f"--policy is an RL agent's folder; it needs --agent rl or hybrid, not {record.agent}.")
    if record.agent_timesteps < 1:
        raise QnasError(f"--agent-timesteps = {record.agent_timesteps} must be at least 1.")
    return device, objectives


def default_study_name(task_name: str, given: dict[str, Any], space_name: str) -> str:
    """TASK[-KEY=VALUE...]-SPACE: the task arguments the user gave are part of the name, so GHZ-3 and
    GHZ-5 do not share a study. A file counts by its name; past 100 characters a hash stands for the rest."""
    parts = [task_name]
    for key, value in given.items():
        if key == "name":
            continue
        if isinstance(value, str) and ("/" in value or Path(value).suffix):
            value = Path(value).stem
        parts.append(f"{key}={value if isinstance(value, str) else json.dumps(value, separators=(',', ':'))}")
    name = "-".join([*parts, space_name])
    if len(name) > MAX_DEFAULT_NAME:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = f"{name[: MAX_DEFAULT_NAME - 9]}-{digest}"
    return name


def _settle(config: SearchConfig) -> tuple[str, SearchRecord, dict[str, Any] | None, Task, SearchSpace]:
    """The study's name, this run's settings, the study's last record (None for a new study), the
    task and the space. Reads the study, if any, and writes nothing."""
    if config.resume:
        assert config.study is not None  # _check_settings
        recorded = last_recorded(load_study(config.storage, config.study).user_attrs)
        if recorded is None:
            raise QnasError(f"study {config.study!r} holds no `qnas search` to resume; start one with `qnas search`.")
        record, task, space = resumed_settings(config, recorded, config.study)
        return config.study, record, recorded, task, space
    record, task, space = new_settings(config)
    name = config.study or default_study_name(task.name, config.task or {}, space.name)
    existing = find_study(config.storage, name)
    recorded = last_recorded(existing.user_attrs) if existing is not None else None
    if recorded is not None:
        record = check_continuation(record, recorded, name, config.allow_new_data)
    if existing is not None and config.artifact_dir is not None:
        kept = existing.user_attrs.get("artifact_dir")
        if kept is not None and Path(config.artifact_dir).resolve() != Path(kept):
            raise QnasError(
                f"--artifacts {config.artifact_dir} differs from study {name!r}'s artifact folder {kept}, which holds "
                "its trials' weights; drop --artifacts to keep them together, or use a new --study name."
            )
    return name, record, recorded, task, space


def run_search(
    config: SearchConfig, progress: SearchProgress | None = None, job_runner: JobRunner = run_job
) -> SearchOutcome:
    """Run trials into the study until it holds the requested count, and return the counts.

    Each worker runs `job_runner` per trial (`qnas.executor.JobRunner`): qnas's evaluation unless
    you pass your own, such as one that wraps `run_job` with logging of your own."""
    _check_settings(config)
    study_name, record, recorded, task, space = _settle(config)
    device, objectives = _check_record(record, task, space)
    if config.address:
        from qnas.ray_executor import check_address

        check_address(config.address)

    # Workers start first: their imports (torch, PennyLane) overlap opening the study and building the proposer.
    start = time.monotonic()
    executor = make_executor(config.workers, config.address, config.trial_timeout, job_runner)
    try:
        return _search(config, executor, start, study_name, record, recorded, task, space, device, objectives, progress)
    finally:
        executor.shutdown()


def _search(
    config: SearchConfig,
    executor: Executor,
    start: float,
    study_name: str,
    record: SearchRecord,
    recorded: dict[str, Any] | None,
    task: Task,
    space: SearchSpace,
    device: DeviceConfig,
    objectives: tuple[Objective, ...],
    progress: SearchProgress | None,
) -> SearchOutcome:
    """Open the study, record this run, and run the ask-evaluate-tell loop on `executor`."""
    task_config = task.config()
    artifact_dir = Path(config.artifact_dir) if config.artifact_dir else default_artifact_dir(config.storage)
    study = open_study(
        config.storage,
        study_name,
        direction=[o.direction for o in objectives] if objectives else task.direction,
        pruner=make_pruner(record.pruner, task.kind),
        metric_names=[o.name for o in objectives] if objectives else [task.metric],
        attrs={
            "task": task_config,
            "space": space.name,
            "metric": task.metric,
            "device": device.to_dict(),
            "artifact_dir": str(artifact_dir.resolve()),
            **({"objectives": [o.name for o in objectives]} if objectives else {}),
        },
    )
    artifact_dir = Path(study.user_attrs["artifact_dir"])
    # A continued study gets a sampler seeded past its earlier trials: the same seed again would
    # propose the first run's candidates again.
    study.sampler = make_sampler(record.sampler, record.seed + len(study.trials), config.trials or DEFAULT_TRIALS)
    if config.resume:
        _fail_interrupted(study)
    done_before = sum(_counts_toward_target(t) for t in study.get_trials(deepcopy=False))
    if config.resume:
        assert recorded is not None  # _settle
        target = recorded.get("trials_requested", done_before)
    else:
        target = done_before + (config.trials or DEFAULT_TRIALS)
    run = _record_run(study, replace(record, trials_requested=target), new=not config.resume or record.allow_new_data)
    todo = max(0, target - done_before)

    proposer = make_proposer(
        record.agent,
        study=study,
        space=space,
        task=task,
        sampler=record.sampler,
        seed=record.seed,
        policy=record.policy,
        agent_timesteps=record.agent_timesteps,
        agent_dir=artifact_dir / "agents" / study_name,
        n_envs=max(1, min(config.workers, os.cpu_count() or 1)),
        reuse_trained=config.resume,
        warm_start=config.warm_start,
    )
    progress = progress or SearchProgress(todo, task.metric, task.direction)
    known = _previous_results(study, record)
    trial_attrs = record.trial_attrs(run)
    ready: deque[Proposal] = deque()  # asked, not yet submitted: retries first, then a spare
    running: dict[int, Proposal] = {}
    in_flight: dict[str, int] = {}  # spec hash -> the proposal that evaluates it (ready or running)
    waiting: dict[str, list[Proposal]] = defaultdict(list)
    retries: dict[str, int] = defaultdict(int)
    asked = finished = 0
    waited = 0.0

    def finish(proposal: Proposal, result: EvalResult, attrs: dict[str, Any] | None = None) -> None:
        nonlocal finished
        if objectives and result.status == "ok":
            result = replace(result, values=objective_values(objectives, result.metrics))
        proposer.tell(proposal.id, result, attrs={**trial_attrs, **(attrs or {})})
        finished += 1
        reused = bool(attrs and "duplicate_of" in attrs)
        progress.finished(proposal.id, result.status, result.value, proposal.spec.summary(), result.reason or "", reused)

    def refill(want: int) -> None:
        """Ask until `want` proposals are ready to run; known specs reuse their result instead."""
        nonlocal asked
        while len(ready) < want and asked < todo:
            proposal = proposer.ask()
            asked += 1
            key = proposal.spec.hash
            if key in known:
                number, result = known[key]
                finish(proposal, _reuse(result), {"duplicate_of": number})
            elif key in in_flight:
                waiting[key].append(proposal)
            else:
                in_flight[key] = proposal.id
                ready.append(proposal)

    def dispatch() -> None:
        while ready and executor.running < executor.capacity:
            proposal = ready.popleft()
            running[proposal.id] = proposal
            budget = Budget(seed=record.seed, fast_path=record.fast_path)
            job = Job(
                proposal.id, proposal.spec.to_dict(), task_config, device.to_dict(), budget.to_dict(), record.data_sha256,
                start_angles=proposal.angles,
            )
            executor.submit(job)
            progress.started()

    executor.on_report = proposer.report if proposer.prunes else None
    try:
        while finished < todo:
            # One spare proposal beyond the free slots, asked while the workers run, goes to the
            # next freed worker at once; its result is recorded after, not before.
            refill(executor.capacity - executor.running + 1)
            dispatch()
            poll_started = time.monotonic()
            polled = executor.poll(timeout=POLL_SECONDS)
            waited += time.monotonic() - poll_started
            dispatch()
            for job, result in polled:
                proposal = running.pop(job.id)
                key = proposal.spec.hash
                if (result.reason or "").startswith("worker died") and retries[key] < config.max_retries:
                    retries[key] += 1
                    proposer.tell(proposal.id, result, attrs={**trial_attrs, "retried": True})
                    progress.retrying(proposal.id, proposal.spec.summary(), result.reason or "")
                    retry = proposer.retry(proposal)
                    in_flight[key] = retry.id
                    ready.appendleft(retry)
                    continue
                del in_flight[key]
                finish(proposal, result)
                if result.status == "ok":
                    known[key] = (proposal.id, result)
                for duplicate in waiting.pop(key, []):
                    finish(duplicate, _reuse(result), {"duplicate_of": proposal.id})
    except BaseException as exc:
        detail = f": {exc}" if str(exc) else ""
        proposer.close(f"the search stopped on {type(exc).__name__}{detail}")
        raise
    finally:
        progress.close()
    elapsed = time.monotonic() - start
    record_search_time(study, elapsed)
    return SearchOutcome(study_name, config.storage, progress.counts, elapsed, waited)


def _record_run(study: optuna.Study, record: SearchRecord, new: bool) -> str:
    """Write a new run's record and return its key; a resumed run continues the last record
    (a study made before runs were recorded gets its first one)."""
    runs = recorded_runs(study.user_attrs)
    if not new and runs:
        return runs[-1][0]
    key = run_key(len(runs))
    study.set_user_attr(key, record.to_attr())
    return key
