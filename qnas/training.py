"""Training loops, readable top to bottom: minibatch classification and variational circuits.

Both loops keep the best weights seen (validation accuracy, or the variational loss) and restore
them at the end, talk to a pruner through `report(step, value) -> stop?` at most ~25 times per
run (every ceil(epochs / 25) epochs, plus the last), and raise `TrainingDiverged` as soon as
the loss or a weight stops being finite.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from qnas.errors import QnasError
from qnas.spec import TrainingSpec

REPORTS_PER_RUN = 25
EVAL_CHUNK = 256
"""Rows per forward pass when scoring, so a large validation set never holds one huge batch of states."""

Report = Callable[[int, float], bool]
"""(step, objective value) -> True when the running job should stop: a job's view of the pruner."""


class TrainingDiverged(QnasError):
    """The loss or a weight became NaN or infinite; the message names the epoch."""


@dataclass
class TrainResult:
    """What a training run did: objective per epoch, epochs run, whether the pruner stopped it."""

    history: list[float] = field(default_factory=list)
    epochs_run: int = 0
    pruned: bool = False
    last_reported: float | None = None


def make_optimizer(parameters, training: TrainingSpec) -> torch.optim.Optimizer:
    """The optimizer named by the spec; SGD uses momentum 0.9 (plain SGD crawls on these losses)."""
    lr = training.learning_rate
    if training.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=lr)
    if training.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=lr)
    if training.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=lr, momentum=0.9)
    if training.optimizer == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=lr)
    raise QnasError(f"training.optimizer = {training.optimizer!r} has no implementation.")


def report_due(epoch: int, epochs: int) -> bool:
    """Report on every ceil(epochs / 25)-th epoch and on the last (epochs count from 1).

    The ceiling (not epochs // 25) keeps runs of 26 to 49 epochs at about 25 reports, too.
    """
    return epoch % math.ceil(epochs / REPORTS_PER_RUN) == 0 or epoch == epochs


def due_reports(history: list[float]) -> dict[int, float]:
    """The intermediate values a run with this training curve reports, by epoch."""
    return {epoch: value for epoch, value in enumerate(history, 1) if report_due(epoch, len(history))}


def _check_loss(loss: torch.Tensor, epoch: int) -> None:
    value = loss.item()
    if not math.isfinite(value):
        raise TrainingDiverged(f"loss became {'NaN' if math.isnan(value) else 'inf'} at epoch {epoch}")


def _check_weights(model: nn.Module, epoch: int) -> None:
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        raise TrainingDiverged(f"loss became NaN at epoch {epoch}: a weight is no longer finite")


def predict(model: nn.Module, x: np.ndarray | torch.Tensor, chunk: int = EVAL_CHUNK) -> torch.Tensor:
    """Class predictions for raw features `x`, in chunks, without gradients."""
    x = torch.as_tensor(x, dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x[i : i + chunk]).argmax(dim=1) for i in range(0, len(x), chunk)])


def accuracy(model: nn.Module, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> float:
    return float((predict(model, x) == torch.as_tensor(y)).float().mean())


def train_classifier(
    model: nn.Module,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    training: TrainingSpec,
    epochs: int,
    seed: int,
    report: Report | None = None,
) -> TrainResult:
    """Cross-entropy minibatch training; history = validation accuracy after each epoch."""
    x = torch.as_tensor(x_train, dtype=torch.float32)
    y = torch.as_tensor(y_train, dtype=torch.long)
    generator = torch.Generator().manual_seed(seed)
    optimizer = make_optimizer(model.parameters(), training)
    result = TrainResult()
    best_accuracy, best_state = -1.0, copy.deepcopy(model.state_dict())

    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), training.batch_size):
            batch = order[start : start + training.batch_size]
            loss = F.cross_entropy(model(x[batch]), y[batch])
            _check_loss(loss, epoch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        _check_weights(model, epoch)

        val_accuracy = accuracy(model, x_val, y_val)
        result.history.append(val_accuracy)
        result.epochs_run = epoch
        if val_accuracy > best_accuracy:
            best_accuracy = val_accuracy
            best_state = copy.deepcopy(model.state_dict())

        if _pruned(report, epoch, epochs, val_accuracy, result):
            break

    model.load_state_dict(best_state)
    return result


def _pruned(report: Report | None, epoch: int, epochs: int, value: float, result: TrainResult) -> bool:
    """Report `value` when one is due; True (and recorded in `result`) when the pruner says stop."""
    if report is None or not report_due(epoch, epochs):
        return False
    result.last_reported = value
    result.pruned = bool(report(epoch, value))
    return result.pruned


def train_variational(
    model: nn.Module,
    objective: Callable[[torch.Tensor], tuple[torch.Tensor, float]],
    training: TrainingSpec,
    epochs: int,
    report: Report | None = None,
) -> TrainResult:
    """Full-batch steps on a data-free circuit; an epoch is one optimizer step.

    `objective(model())` returns (loss to minimize, task objective to record and report), e.g.
    (energy, energy error) or (1 - fidelity, fidelity). The weights with the lowest loss seen are
    restored at the end.
    """
    optimizer = make_optimizer(model.parameters(), training)
    result = TrainResult()
    best_loss, best_state = math.inf, copy.deepcopy(model.state_dict())

    for epoch in range(1, epochs + 1):
        loss, value = objective(model())
        _check_loss(loss, epoch)
        result.history.append(value)
        result.epochs_run = epoch
        if loss.item() < best_loss:
            best_loss = loss.item()
            best_state = copy.deepcopy(model.state_dict())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        if _pruned(report, epoch, epochs, value, result):
            break
    else:
        # Score the last step's update too, so N epochs mean N evaluated updates.
        with torch.no_grad():
            loss, _ = objective(model())
        if loss.item() < best_loss:
            best_state = copy.deepcopy(model.state_dict())

    model.load_state_dict(best_state)
    return result
