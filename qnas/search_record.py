"""What a study remembers of each search run on it, so `qnas search --resume --study NAME` needs
nothing else.

Each run writes one record, once, as it starts: the study attribute `search_run_K_XXXXXX`, K
the number of runs before it and XXXXXX random, so two drivers that start on one study at once
do not write the same key. A record holds every setting that decides which candidates are proposed and
how they are scored: the task with its data's SHA-256, the space with its YAML and a hash of its
content, the device, the objectives, the sampler, the pruner, the seed, the proposer, and the
trial target. Machinery settings (workers, Ray address, trial timeout, retries) are not
recorded: a resume may run on another machine. No record is ever overwritten.

- A new run takes each setting given, else its default. It may add trials to an existing study
  only if it searches the same task, data, space, device and objectives (`check_continuation`).
- A resumed run takes each setting from the study's last record, and refuses a given setting
  that differs from it (`resumed_settings`).
"""

from __future__ import annotations

import datetime
import json
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from qnas import __version__
from qnas.agents.optuna_proposer import DEFAULT_PRUNERS
from qnas.devices import DeviceConfig
from qnas.errors import QnasError
from qnas.search_spaces import DEFAULT_SPACES, SearchSpace, load_space, parse_space
from qnas.tasks import Task, make_task

if TYPE_CHECKING:
    from qnas.search import SearchConfig

RUN_PREFIX = "search_run_"
DEFAULT_TASK: dict[str, Any] = {"name": "moons"}
DEFAULT_DEVICE: dict[str, Any] = {"name": "default.qubit"}
CHOSEN_SETTINGS = ("objectives", "sampler", "pruner", "seed", "agent", "policy", "agent_timesteps", "fast_path")
"""Settings compared as given: the task, space and device are compared after they are built."""
FLAGS = {"agent_timesteps": "--agent-timesteps", "fast_path": "--no-fast-path"}
"""`qnas search` flags whose name is not `--` plus the setting's name."""


class DataChangedError(QnasError):
    """The data a study was searched on changed since; its trials were trained on the old data."""


@dataclass(frozen=True)
class SearchRecord:
    """The settings of one search run, as the study keeps them (`to_attr`)."""

    task: dict[str, Any]
    data_sha256: str | None
    space: str
    space_yaml: str
    space_sha256: str
    device: dict[str, Any]
    objectives: tuple[str, ...]
    sampler: str
    pruner: str
    seed: int
    agent: str
    policy: str | None
    agent_timesteps: int
    fast_path: bool
    trials_requested: int = 0
    """The study's count of finished trials this run searches to; `--resume` continues to it."""
    allow_new_data: bool = False
    """True where this run accepted data that changed since the run before (`--allow-new-data`)."""

    def to_attr(self) -> dict[str, Any]:
        started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        return {**asdict(self), "objectives": list(self.objectives), "qnas_version": __version__, "started": started}

    def trial_attrs(self, run: str) -> dict[str, Any]:
        """What each trial of this run records of it: the run's key, and the data it was trained on."""
        attrs: dict[str, Any] = {"search_run": run, "seed": self.seed}
        if self.data_sha256 is not None:
            attrs["data_sha256"] = self.data_sha256
        if self.allow_new_data:
            attrs["allow_new_data"] = True
        return attrs


def recorded_runs(attrs: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The study's run records with their keys, first to last."""
    runs = [(key, value) for key, value in attrs.items() if key.startswith(RUN_PREFIX)]
    return sorted(runs, key=lambda run: _run_order(*run))


def run_key(runs_before: int) -> str:
    """The study attribute a new run's record goes in."""
    return f"{RUN_PREFIX}{runs_before}_{secrets.token_hex(3)}"


def _run_order(key: str, record: Mapping[str, Any]) -> tuple[int, str]:
    number = key[len(RUN_PREFIX) :].partition("_")[0]
    return int(number) if number.isdigit() else -1, str(record.get("started", ""))


def last_recorded(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The last run's record; for a study made before runs were recorded, what it kept (task,
    space name, device, objectives, target); None for a study no search wrote."""
    runs = recorded_runs(attrs)
    if runs:
        return runs[-1][1]
    if "task" not in attrs:
        return None
    return {key: attrs[key] for key in ("task", "space", "device", "objectives", "trials_requested") if key in attrs}


def new_settings(config: SearchConfig) -> tuple[SearchRecord, Task, SearchSpace]:
    """A new run's settings: each one given, else its default."""
    task = make_task(config.task or DEFAULT_TASK)
    space = load_space(config.space or DEFAULT_SPACES[task.kind])
    return _settings(config, task, space, {}), task, space


def resumed_settings(
    config: SearchConfig, recorded: Mapping[str, Any], study: str
) -> tuple[SearchRecord, Task, SearchSpace]:
    """The last run's settings, with each given setting checked against them."""
    for name in CHOSEN_SETTINGS:
        given = getattr(config, name)
        if given is not None and name in recorded:
            _refuse_conflict(study, name, list(given) if name == "objectives" else given, recorded[name])
    if config.task is not None:
        task = make_task(config.task)
        _refuse_conflict(study, "task", task.config(), recorded["task"])
    else:
        task = make_task(dict(recorded["task"]))
    if config.space is not None:
        space = load_space(config.space)
        if "space_sha256" in recorded:
            then = _space_label(recorded["space"], recorded["space_sha256"])
            _refuse_conflict(study, "space", _space_label(space.name, space.sha256), then)
        else:
            _refuse_conflict(study, "space", space.name, recorded["space"])
    elif "space_yaml" in recorded:
        space = parse_space(recorded["space_yaml"], f"the YAML of space {recorded['space']!r} recorded in study {study!r}")
    else:
        space = load_space(recorded["space"])
    if config.device is not None and "device" in recorded:
        _refuse_conflict(study, "device", DeviceConfig.from_dict(config.device).to_dict(), recorded["device"])
    record = _settings(config, task, space, recorded)
    return _check_data(record, recorded, study, config.allow_new_data), task, space


def check_continuation(
    record: SearchRecord, recorded: Mapping[str, Any], study: str, allow_new_data: bool
) -> SearchRecord:
    """Refuse a new run that would mix its trials with the study's on another task, space,
    device or objectives: their scores would not compare, and results would be reused across them."""
    space_now, space_then = record.space, recorded.get("space")
    if "space_sha256" in recorded:
        space_now = _space_label(record.space, record.space_sha256)
        space_then = _space_label(recorded["space"], recorded["space_sha256"])
    pairs = [
        ("task", record.task, recorded.get("task")),
        ("space", space_now, space_then),
        ("device", record.device, recorded.get("device")),
        ("objectives", list(record.objectives), recorded.get("objectives", [])),
    ]
    for label, now, then in pairs:
        if then is not None and now != then:
            raise QnasError(
                f"study {study!r} holds a search with {label} {_shown(then)}, not {_shown(now)}; its trials are kept as "
                f"they are. Use another --study name for this {label}."
            )
    return _check_data(record, recorded, study, allow_new_data)


def _settings(config: SearchConfig, task: Task, space: SearchSpace, recorded: Mapping[str, Any]) -> SearchRecord:
    def pick(name: str, default: Any) -> Any:
        given = getattr(config, name)
        return given if given is not None else recorded.get(name, default)

    objectives = tuple(pick("objectives", ()))
    return SearchRecord(
        task=task.config(),
        data_sha256=task.data_sha256,
        space=space.name,
        space_yaml=space.yaml,
        space_sha256=space.sha256,
        device=DeviceConfig.from_dict(pick("device", DEFAULT_DEVICE)).to_dict(),
        objectives=objectives,
        sampler=pick("sampler", "nsga2" if objectives else "tpe"),
        pruner=pick("pruner", "none" if objectives else DEFAULT_PRUNERS[task.kind]),
        seed=pick("seed", 0),
        agent=pick("agent", default_agent(task, objectives)),
        policy=pick("policy", None),
        agent_timesteps=pick("agent_timesteps", 4096),
        fast_path=pick("fast_path", True),
    )


def default_agent(task: Task, objectives: tuple[str, ...]) -> str:
    """The proposer a search uses unless told: `adapt` for a single-objective ground-state search
    from a Hartree-Fock state (a reference with occupied and empty wires: molecules), where its
    gradient screen reaches chemical accuracy within a few proposals, and for a single-objective
    state preparation, where the pool's target excitations prepare GHZ-5 in one proposal against a
    median of 8 for masked random search over the same pool (BENCHMARKS.md's pauli tier); the
    study's sampler (`optuna`) everywhere else."""
    reference = getattr(task, "reference_state", None) or ()
    molecular = task.kind == "vqe" and 0 < sum(reference) < len(reference)
    return "adapt" if (molecular or task.kind == "state_prep") and not objectives else "optuna"


def _check_data(record: SearchRecord, recorded: Mapping[str, Any], study: str, allow_new_data: bool) -> SearchRecord:
    """The record, marked `allow_new_data` where the data changed and the user said so; otherwise refuse."""
    then = recorded.get("data_sha256")
    if then is None or record.data_sha256 == then:
        return record
    if not allow_new_data:
        file = record.task.get("data") or record.task.get("path")
        raise DataChangedError(
            f"the data of study {study!r} changed: {file} had SHA-256 {then[:12]} when the study's last search ran, "
            f"and has {record.data_sha256[:12] if record.data_sha256 else 'none'} now. The study's trials are kept. "
            "Search the new data in a new study (--study NEW_NAME), or add to this one with --allow-new-data "
            "(the trials that follow record the new SHA-256)."
        )
    return replace(record, allow_new_data=True)


def _refuse_conflict(study: str, name: str, given: Any, recorded: Any) -> None:
    if given != recorded:
        flag = FLAGS.get(name, f"--{name.replace('_', '-')}")
        raise QnasError(
            f"{flag} {_shown(given)} conflicts with study {study!r}, which was searched with {name} {_shown(recorded)}. "
            f"Drop {flag} to resume as recorded, or search with it in a new study (--study NEW_NAME)."
        )


def _space_label(name: str, sha256: str) -> str:
    return f"{name} (content SHA-256 {sha256[:12]})"


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
