"""A classical baseline for every hybrid classifier: an MLP with about as many parameters.

A quantum model is only interesting if it beats (or matches with fewer resources) a classical
model of the same size on the same split. The baseline is deliberately untuned but reasonable:
one hidden ReLU layer sized to the hybrid's parameter count, Adam at lr 1e-2 with batch 32, at
least 100 epochs, best-validation restore, the same seed and the same standardized features.
Its batch does not follow the candidate's: a large candidate batch would leave the MLP with a
handful of optimizer steps.

The result depends only on the task, the width, the epochs and the seed, which repeat across a
search's trials, so each process keeps the results it computed.
"""

from __future__ import annotations

import json
from typing import Any

import torch
from torch import nn

from qnas.spec import TrainingSpec
from qnas.training import accuracy, train_classifier

BASELINE_LR = 1e-2
BASELINE_BATCH = 32
MIN_EPOCHS = 100
_results: dict[tuple[str, int, int, int], dict[str, Any]] = {}


def mlp_parameter_count(n_features: int, hidden: int, n_classes: int) -> int:
    return hidden * (n_features + 1) + n_classes * (hidden + 1)


def matched_hidden_width(n_features: int, n_classes: int, target_params: int) -> int:
    """Hidden width (>= 1) whose MLP parameter count is closest to `target_params` (smaller on ties)."""
    guess = max(1, round((target_params - n_classes) / (n_features + 1 + n_classes)))
    candidates = [h for h in (guess - 1, guess, guess + 1) if h >= 1]
    return min(candidates, key=lambda h: (abs(mlp_parameter_count(n_features, h, n_classes) - target_params), h))


def mlp_baseline(task: Any, target_params: int, epochs: int, seed: int) -> dict[str, Any]:
    """Train the matched MLP on `task` (or reuse this process's earlier identical run) and return
    its validation and test accuracy."""
    hidden = matched_hidden_width(task.n_features, task.n_classes, target_params)
    key = (json.dumps(task.config(), sort_keys=True), hidden, max(epochs, MIN_EPOCHS), seed)
    if key not in _results:
        _results[key] = _train_mlp(task, hidden, key[2], seed)
    return dict(_results[key])


def _train_mlp(task: Any, hidden: int, epochs: int, seed: int) -> dict[str, Any]:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(task.n_features, hidden), nn.ReLU(), nn.Linear(hidden, task.n_classes))

    def standardize(x):
        return (x - task.feature_mean) / task.feature_std

    training = TrainingSpec(optimizer="adam", learning_rate=BASELINE_LR, epochs=epochs, batch_size=BASELINE_BATCH)
    train_classifier(
        model,
        standardize(task.x_train),
        task.y_train,
        standardize(task.x_val),
        task.y_val,
        training,
        epochs=training.epochs,
        seed=seed,
    )
    return {
        "model": "mlp",
        "n_params": mlp_parameter_count(task.n_features, hidden, task.n_classes),
        "hidden": hidden,
        "val_accuracy": accuracy(model, standardize(task.x_val), task.y_val),
        "test_accuracy": accuracy(model, standardize(task.x_test), task.y_test),
    }
