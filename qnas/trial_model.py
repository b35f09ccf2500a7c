"""A finished trial's trained model, rebuilt from its study: config and spec from user attributes,
weights from the artifact store, and the first test row a classifier's circuit is drawn for.

Reports and dashboard notes draw the circuit that was actually trained (its angles, its input
encoding), not a freshly initialized one, so they rebuild the model the way `qnas export` does.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna

from qnas.errors import QnasError

if TYPE_CHECKING:
    import numpy as np
    import torch


def weights_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> optuna.trial.FrozenTrial:
    """The trial holding `trial`'s weights: a duplicate reused another trial's result and weights."""
    duplicate_of = trial.user_attrs.get("duplicate_of")
    return study.trials[duplicate_of] if duplicate_of is not None else trial


def trial_weights(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> tuple[optuna.trial.FrozenTrial, dict]:
    """`trial`'s trained weights (tensors by name) and the trial that stored them (see `weights_trial`)."""
    from safetensors.torch import load_file

    from qnas.study import download_weights

    source = weights_trial(study, trial)
    with tempfile.TemporaryDirectory() as tmp:
        return source, load_file(str(download_weights(study, source, Path(tmp) / "weights.safetensors")))


def load_trial_model(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> tuple[torch.nn.Module, np.ndarray | None]:
    """The trained model of `trial` in eval mode, and the input its circuit is drawn for (None without data).

    Raises QnasError when the trial kept no weights or its task data cannot be rebuilt.
    """
    from qnas.export import rebuild_model
    from qnas.tasks import make_task

    config = weights_trial(study, trial).user_attrs.get("model_config")
    if config is None:
        raise QnasError(f"trial {trial.number} of study {study.study_name!r} has no model_config ({trial.state.name}).")
    source, weights = trial_weights(study, trial)
    model = rebuild_model(config, weights, where=f"the weights of trial {source.number}").eval()
    first_input: Any = None
    if config["kind"] == "classifier":
        first_input = make_task(dict(study.user_attrs["task"])).x_test[:1]
    return model, first_input
