"""Train a learned decoder on fresh Stim shots within a wall-clock budget.

Every step draws a new batch from Stim, so there is no dataset and no overfitting to repeated
shots; the learning rate warms up, then follows a cosine to zero over the budget (time or
steps, whichever ends first), and the weights with the best validation logical error rate on a
fixed held-out set are kept.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from qnas.decoders.decoder import LearnedDecoder
from qnas.decoders.model import NetworkConfig
from qnas.decoders.sampling import DecoderError, MemoryExperiment, unique_syndromes

WARMUP_FRACTION = 0.02
VALIDATION_SEED_OFFSET = 1_000_003
"""The validation set's seed is the training seed plus this, so the two streams never coincide."""


@dataclass(frozen=True)
class TrainingConfig:
    experiment: MemoryExperiment = field(default_factory=MemoryExperiment)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    minutes: float = 10.0
    max_steps: int | None = None
    batch_size: int = 65_536
    learning_rate: float = 2e-3
    weight_decay: float = 0.0
    validation_shots: int = 200_000
    validate_every_s: float = 20.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.minutes > 0:
            raise DecoderError(f"minutes = {self.minutes!r} is not allowed: the training budget must be > 0 (e.g. --minutes 10).")
        if self.max_steps is not None and self.max_steps < 1:
            raise DecoderError(f"max_steps = {self.max_steps!r} is not allowed: use a positive integer or leave it unset.")
        if self.batch_size < 1 or self.validation_shots < 1:
            raise DecoderError("batch_size and validation_shots must be positive integers.")
        if not self.learning_rate > 0:
            raise DecoderError(f"learning_rate = {self.learning_rate!r} is not allowed: use a value > 0 (e.g. 1e-3).")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["experiment"] = self.experiment.to_dict()
        data["network"] = self.network.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingConfig:
        data = dict(data)
        data["experiment"] = MemoryExperiment.from_dict(data["experiment"])
        data["network"] = NetworkConfig(**data["network"])
        return cls(**data)


@dataclass
class TrainingResult:
    decoder: LearnedDecoder
    config: TrainingConfig
    validation_error_rate: float
    steps: int
    shots_seen: int
    wall_time_s: float
    history: list[dict[str, float]]
    """(elapsed_s, step, validation error rate) at each validation."""


ProgressCallback = Callable[[float, dict[str, float]], None]
"""progress(fraction of budget done, latest figures) for a progress bar."""


def logical_error_rate(decoder: LearnedDecoder, detectors: np.ndarray, observables: np.ndarray) -> float:
    """Fraction of shots where any predicted observable flip differs from the true one."""
    return float(np.mean(np.any(decoder.decode_batch(detectors) != observables, axis=1)))


def weighted_batch(detectors: np.ndarray, observables: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Collapse repeated syndromes: distinct rows, the fraction of their shots with each observable
    flipped (a soft target), and their share of the batch. Binary cross-entropy is linear in the
    target, so the weighted loss and its gradient equal those of the full batch, at a fraction
    of the cost."""
    first, inverse, counts = unique_syndromes(detectors)
    flipped = np.stack([np.bincount(inverse, weights=column, minlength=len(first)) for column in observables.T], axis=1)
    return (
        torch.from_numpy(detectors[first]).float(),
        torch.from_numpy(flipped / counts[:, None]).float(),
        torch.from_numpy(counts / detectors.shape[0]).float(),
    )


def cosine_learning_rate(base: float, fraction: float) -> float:
    if fraction < WARMUP_FRACTION:
        return base * max(fraction, 1e-3) / WARMUP_FRACTION
    progress = (fraction - WARMUP_FRACTION) / (1.0 - WARMUP_FRACTION)
    return base * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def train_decoder(config: TrainingConfig, progress: ProgressCallback | None = None) -> TrainingResult:
    """Train until the time budget (or `max_steps`) is spent; return the best validated decoder."""
    torch.manual_seed(config.seed)
    experiment = config.experiment
    decoder = LearnedDecoder(experiment, config.network)
    network = decoder.network
    sampler = experiment.sampler(config.seed)
    val_detectors, val_observables = experiment.sampler(config.seed + VALIDATION_SEED_OFFSET).sample(config.validation_shots)
    optimizer = torch.optim.AdamW(network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss(reduction="none")

    budget_s = config.minutes * 60.0
    start = time.perf_counter()
    last_validation = start
    best_rate, best_state = math.inf, copy.deepcopy(network.state_dict())
    history: list[dict[str, float]] = []
    step, fraction = 0, 0.0

    def validate() -> None:
        nonlocal best_rate, best_state
        network.eval()
        rate = logical_error_rate(decoder, val_detectors, val_observables)
        network.train()
        history.append({"elapsed_s": time.perf_counter() - start, "step": step, "validation_error_rate": rate})
        if rate < best_rate:
            best_rate, best_state = rate, copy.deepcopy(network.state_dict())

    network.train()
    while fraction < 1.0:
        for group in optimizer.param_groups:
            group["lr"] = cosine_learning_rate(config.learning_rate, fraction)
        inputs, targets, weights = weighted_batch(*sampler.sample(config.batch_size))
        loss = (loss_fn(network(inputs), targets).sum(dim=1) * weights).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        now = time.perf_counter()
        fraction = (now - start) / budget_s
        if config.max_steps is not None:
            fraction = max(fraction, step / config.max_steps)
        if now - last_validation >= config.validate_every_s or fraction >= 1.0:
            validate()
            last_validation = time.perf_counter()
            if progress is not None:
                figures = {**history[-1], "loss": float(loss.detach()), "best": best_rate}
                progress(min(fraction, 1.0), figures)

    network.load_state_dict(best_state)
    network.eval()
    return TrainingResult(
        decoder=decoder,
        config=config,
        validation_error_rate=best_rate,
        steps=step,
        shots_seen=step * config.batch_size,
        wall_time_s=time.perf_counter() - start,
        history=history,
    )
