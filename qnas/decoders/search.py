"""Hyperparameter search for learned decoders, recorded in an Optuna study like any qnas search.

The space is a YAML declaration (shipped: ``search_spaces/decoders/default.yaml``) whose
parameters use the same distribution syntax and parser as the candidate spaces
(`qnas.search_spaces.params.parse_param`), over decoder fields instead of CandidateSpec fields.
Each trial trains one decoder on fresh Stim shots; its value is the validation logical error
rate, and its user attributes hold the full training config, so `qnas studies show` and
optuna-dashboard read decoder studies like the others.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib.resources import files
from pathlib import Path
from typing import Any, NoReturn

import optuna
import yaml

from qnas.decoders.model import ARCHITECTURES, NetworkConfig
from qnas.decoders.sampling import MemoryExperiment
from qnas.decoders.store import save_decoder
from qnas.decoders.training import TrainingConfig, TrainingResult, train_decoder
from qnas.errors import SearchSpaceError, not_allowed
from qnas.search_spaces.fields import Field
from qnas.search_spaces.params import Param, parse_param

DEFAULT_SPACE = "default"
METRIC = "validation_error_rate"
FIELDS = {
    field.name: field
    for field in (
        Field("arch", "choice", allowed=ARCHITECTURES),
        Field("width", "int", low=1, high=4096),
        Field("depth", "int", low=1, high=8),
        Field("channels", "int", low=1, high=256),
        Field("learning_rate", "float", low=0, high=1),
        Field("batch_size", "int", low=1, high=65_536),
        Field("minutes", "float", low=0, high=600),
    )
}
"""Decoder words a declaration may fix or draw: NetworkConfig fields plus training settings."""
TOP_KEYS = ("name", "description", "fixed", "params")


@dataclass(frozen=True)
class DecoderSpace:
    name: str
    fixed: dict[str, Any]
    params: tuple[Param, ...]

    def sample(self, trial: optuna.Trial) -> dict[str, Any]:
        """Draw every parameter define-by-run; fixed values fill the rest."""
        values = dict(self.fixed)
        for param in self.params:
            if param.is_active(values):
                values[param.field] = param.suggest(trial)
        return values


def load_decoder_space(name_or_path: str | os.PathLike[str] = DEFAULT_SPACE) -> DecoderSpace:
    """A shipped decoder space by bare name, or any declaration by path."""
    text = os.fspath(name_or_path)
    if "/" in text or text.endswith((".yaml", ".yml")):
        path = Path(text)
        if not path.is_file():
            raise SearchSpaceError(f"decoder search-space file {text!r} does not exist; pass a YAML path or 'default'.")
        return parse_decoder_space(path.read_text(encoding="utf-8"), text)
    resource = files("qnas.search_spaces") / "decoders" / f"{text}.yaml"
    if not resource.is_file():
        raise SearchSpaceError(not_allowed("decoder search space", text, [DEFAULT_SPACE], "Or pass a YAML path."))
    return parse_decoder_space(resource.read_text(encoding="utf-8"), str(resource))


def parse_decoder_space(text: str, source: str = "<string>") -> DecoderSpace:
    def fail(where: str, problem: str) -> NoReturn:
        raise SearchSpaceError(f"{source}: {where}: {problem}")

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SearchSpaceError(f"{source}: malformed YAML: {exc}") from None
    if not isinstance(data, dict) or "name" not in data:
        fail("top level", f"must be a mapping with a name and keys from {list(TOP_KEYS)}.")
    for key in data:
        if key not in TOP_KEYS:
            fail("top level", not_allowed("key", key, TOP_KEYS))
    fixed = data.get("fixed") or {}
    declared = data.get("params") or {}
    for where, section in (("fixed", fixed), ("params", declared)):
        if not isinstance(section, dict):
            fail(where, f"must be a mapping of field: value, got {section!r}.")
        for key in section:
            if key not in FIELDS:
                fail(where, not_allowed("field", key, FIELDS))
    for key, value in fixed.items():
        problem = FIELDS[key].problem(value)
        if problem:
            fail(f"fixed.{key}", problem)
    both = sorted(set(fixed) & set(declared))
    if both:
        fail("params", f"{both} are both fixed and drawn; keep each in one section.")
    params = tuple(parse_param(FIELDS[key], entry, f"params.{key}", fail) for key, entry in declared.items())
    names = set(fixed) | set(declared)
    for param in params:
        for ref, _ in param.when:
            if ref not in names:
                fail(f"params.{param.name}.when", not_allowed("field", ref, sorted(names)))
    return DecoderSpace(name=str(data["name"]), fixed=dict(fixed), params=params)


def trial_config(base: TrainingConfig, values: dict[str, Any], seed: int) -> TrainingConfig:
    """The base config with a trial's values put in their place (network fields vs training settings)."""
    network_keys = set(NetworkConfig.__dataclass_fields__)
    network = replace(base.network, **{k: v for k, v in values.items() if k in network_keys})
    training = {k: v for k, v in values.items() if k not in network_keys}
    return replace(base, network=network, seed=seed, **training)


TrialCallback = Callable[[optuna.trial.FrozenTrial], None]


def run_decoder_search(
    experiment: MemoryExperiment,
    *,
    trials: int,
    storage: str,
    study_name: str,
    space: DecoderSpace,
    base: TrainingConfig,
    artifact_dir: Path,
    seed: int = 0,
    on_trial: TrialCallback | None = None,
) -> optuna.Study:
    """Train `trials` decoders with TPE-proposed settings, each saved under `artifact_dir`."""
    from qnas.study import open_study

    if trials < 1:
        raise SearchSpaceError(f"trials = {trials!r} is not allowed: use a positive number (e.g. --trials 8).")
    attrs = {
        "task": {"name": "decoder", **experiment.to_dict()},
        "device": {"name": "cpu"},
        "space": space.name,
        "metric": METRIC,
    }
    study = open_study(storage, study_name, direction="minimize", pruner=optuna.pruners.NopPruner(), attrs=attrs)
    study.sampler = optuna.samplers.TPESampler(seed=seed)
    base = replace(base, experiment=experiment)
    for _ in range(trials):
        trial = study.ask()
        try:
            config = trial_config(base, space.sample(trial), seed=seed + trial.number)
            result: TrainingResult = train_decoder(config)
            folder = save_decoder(result.decoder, artifact_dir / study_name / f"trial-{trial.number}", training_info(result))
        except BaseException:  # a bad value or Ctrl-C: close the trial rather than leave it RUNNING
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            raise
        trial.set_user_attr("config", config.to_dict())
        trial.set_user_attr("decoder_path", str(folder))
        trial.set_user_attr("metrics", {METRIC: result.validation_error_rate, "n_params": n_params(result), "steps": result.steps})
        study.tell(trial, result.validation_error_rate)
        if on_trial is not None:
            on_trial(study.trials[trial.number])
    return study


def n_params(result: TrainingResult) -> int:
    return sum(p.numel() for p in result.decoder.network.parameters())


def training_info(result: TrainingResult) -> dict[str, Any]:
    """What `save_decoder` stores beside the weights: how the decoder was trained and how well."""
    return {
        "training": result.config.to_dict(),
        "validation_error_rate": result.validation_error_rate,
        "validation_shots": result.config.validation_shots,
        "steps": result.steps,
        "shots_seen": result.shots_seen,
        "wall_time_s": result.wall_time_s,
        "n_params": n_params(result),
    }
