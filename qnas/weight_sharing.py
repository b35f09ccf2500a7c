"""Weight sharing for classification searches: one SuperCircuit trained, its sub-circuits scored
with inherited weights (QuantumNAS, Wang et al. 2022; issue 21, point 5).

Why: a classification search trains every candidate from scratch, so its cost is trials times a
training run. Here the candidates of one family share their weights. A family shares a base
spec's split, qubits, encoding, classical layers, measurement and training settings, and differs
in its ansatz layers: their number, their rotations, the entangler and the entangling gate.

- **Training.** The SuperCircuit holds, per layer, one angle per qubit for each of RX, RY and RZ,
  and one CRZ angle per wire pair any entangler uses, plus the family's classical layers. It
  trains once: each step draws a random sub-circuit, copies its slices of the bank into that
  sub-circuit's model, takes a gradient step on a minibatch, and adds the gradients back to the
  bank.
- **Scoring.** A candidate is then scored by its validation accuracy with the weights it inherits.
  That costs one forward pass, not one training.

Inherited scores are only worth using where they rank candidates as training from scratch does.
`ranking_check` measures the Spearman correlation between the two on sampled candidates, and
`SHARING_MIN_SPEARMAN` is the bar below which a search must not use it (`--agent shared`,
`agents.shared_proposer`, runs the same check on its first trials). Seed noise bounds what any
score can show: `RankingCheck.ceiling` estimates the highest correlation the trainings' noise allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

from qnas.circuits import entangler_pairs
from qnas.errors import QnasError
from qnas.evaluation import make_model_config
from qnas.models import build_model
from qnas.spec import CandidateSpec
from qnas.training import accuracy, train_classifier

AXES = ("RX", "RY", "RZ")
SHARING_MIN_SPEARMAN = 0.7
"""Below this rank correlation with training from scratch, inherited scores mislead: sharing is off."""


@dataclass(frozen=True)
class Family:
    """The sub-circuits a SuperCircuit covers: `members` share their split, qubits, encoding,
    classical layers, measurement and training settings, and differ in their ansatz layers (as
    `agents.shared_proposer.family_members` enumerates a space's)."""

    members: tuple[CandidateSpec, ...]

    def __post_init__(self) -> None:
        if not self.members:
            raise QnasError("a weight-sharing family needs at least one member.")
        one_layer = self.members[0].layers[:1]
        shared = {replace(spec, layers=one_layer) for spec in self.members}
        if len(shared) > 1:
            raise QnasError(
                "a weight-sharing family's members may differ only in their ansatz layers; these also differ in "
                f"{sorted(_differences(shared))}. Fix those fields in the space."
            )

    @property
    def base(self) -> CandidateSpec:
        return self.members[0]

    @property
    def max_layers(self) -> int:
        return max(len(spec.layers) for spec in self.members)

    def sample(self, rng: np.random.Generator) -> CandidateSpec:
        """A member drawn uniformly."""
        return self.members[int(rng.integers(len(self.members)))]


def _differences(specs: set[CandidateSpec]) -> set[str]:
    """The fields in which `specs` (without their layers) differ."""
    rows = [{f.name: getattr(spec, f.name) for f in fields(spec)} for spec in specs]
    return {name for name in rows[0] if len({repr(row[name]) for row in rows}) > 1}


class SuperCircuit:
    """The shared weights of a `Family` on a classification `task`; see the module docstring."""

    def __init__(self, task: Any, family: Family, seed: int = 0) -> None:
        if task.kind != "classification":
            raise QnasError(f"weight sharing is for classification searches; task {task.name!r} is {task.kind}.")
        self.task, self.family = task, family
        n_qubits = family.base.n_qubits
        self._pairs = {pair: i for i, pair in enumerate(
            dict.fromkeys(p for e in ("linear", "ring", "full") for p in entangler_pairs(e, n_qubits)))}
        generator = torch.Generator().manual_seed(seed)
        self.rotations = nn.Parameter(torch.rand(family.max_layers, len(AXES), n_qubits, generator=generator) * 2 * torch.pi)
        self.crz = nn.Parameter(torch.rand(family.max_layers, len(self._pairs), generator=generator) * 2 * torch.pi)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            shell = self._build(replace(family.base, layers=(family.base.layers[0],)))
        self.pre, self.post = shell.pre, shell.post
        """The family's classical layers: one pair of modules, used by every member's model."""
        self._models: dict[str, nn.Module] = {}

    def _build(self, spec: CandidateSpec) -> nn.Module:
        model = build_model(make_model_config(spec, self.task))
        model.set_standardization(self.task.feature_mean, self.task.feature_std)
        return model

    def model(self, spec: CandidateSpec) -> nn.Module:
        """`spec`'s model with the shared classical layers and its slices of the angle bank."""
        if spec.hash not in self._models:
            model = self._build(spec)
            model.pre, model.post = self.pre, self.post
            self._models[spec.hash] = model
        model = self._models[spec.hash]
        with torch.no_grad():
            for name, (bank, index) in self._slices(spec).items():
                model.circuit_weights()[name].copy_(bank[index])
        return model

    def _slices(self, spec: CandidateSpec) -> dict[str, tuple[nn.Parameter, Any]]:
        """Per circuit weight of `spec` (rot{l}, crz{l}): the bank it comes from and its index there."""
        slices: dict[str, tuple[nn.Parameter, Any]] = {}
        for layer_index, layer in enumerate(spec.layers):
            axes = [AXES.index(axis) for axis in layer.rotations]
            slices[f"rot{layer_index}"] = (self.rotations, (layer_index, axes))
            pairs = entangler_pairs(layer.entangler, spec.n_qubits)
            if layer.entangling_gate == "CRZ" and pairs:
                slices[f"crz{layer_index}"] = (self.crz, (layer_index, [self._pairs[p] for p in pairs]))
        return slices

    def train(self, steps: int, seed: int = 0) -> list[float]:
        """`steps` minibatch steps, each on a freshly drawn member; returns the training losses."""
        training = self.family.base.training
        parameters = [self.rotations, self.crz, *self.pre.parameters(), *self.post.parameters()]
        optimizer = torch.optim.Adam(parameters, lr=training.learning_rate)
        x = torch.as_tensor(self.task.x_train, dtype=torch.float32)
        y = torch.as_tensor(self.task.y_train)
        rng = np.random.default_rng(seed)
        losses = []
        for _ in range(steps):
            spec = self.family.sample(rng)
            model = self.model(spec)
            batch = torch.as_tensor(rng.choice(len(x), size=min(training.batch_size, len(x)), replace=False))
            optimizer.zero_grad()
            for weight in model.circuit_weights().values():
                weight.grad = None
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            for name, (bank, index) in self._slices(spec).items():
                grad = model.circuit_weights()[name].grad
                if grad is not None:
                    if bank.grad is None:
                        bank.grad = torch.zeros_like(bank)
                    bank.grad[index] += grad
            optimizer.step()
            losses.append(float(loss.detach()))
        return losses

    def score(self, spec: CandidateSpec) -> float:
        """Validation accuracy of `spec` with the weights it inherits: no training."""
        return accuracy(self.model(spec), self.task.x_val, self.task.y_val)


def rank_agreement(inherited: Sequence[float], scratch: Sequence[float]) -> float:
    """Spearman's rho between the two scores; 0 where either has no ranking (constant, or under 3)."""
    if len(inherited) < 3 or len(set(inherited)) == 1 or len(set(scratch)) == 1:
        return 0.0
    return float(spearmanr(inherited, scratch).statistic)


@dataclass(frozen=True)
class RankingCheck:
    """Inherited scores against training from scratch on the same candidates."""

    inherited: tuple[float, ...]
    runs: tuple[tuple[float, ...], ...]
    """Each candidate's validation accuracy after each training from scratch, one per seed."""

    @property
    def scratch(self) -> tuple[float, ...]:
        """Each candidate's mean accuracy over its trainings: what `spearman` compares with."""
        return tuple(float(np.mean(run)) for run in self.runs)

    @property
    def spearman(self) -> float:
        """Spearman's rho between the inherited scores and the mean accuracies from scratch."""
        return rank_agreement(self.inherited, self.scratch)

    @property
    def sharing_on(self) -> bool:
        return self.spearman >= SHARING_MIN_SPEARMAN

    def ceiling(self, seeds: int | None = None) -> float | None:
        """The highest Spearman any score could show against the mean of `seeds` trainings (default:
        all of them), where seed noise reorders candidates: the square root of that mean's
        reliability, from the agreement of the even seeds' mean with the odd seeds' (Spearman-Brown).
        None with a single training per candidate."""
        k = len(self.runs[0])
        if k < 2:
            return None
        halves = [[float(np.mean(run[start::2])) for run in self.runs] for start in (0, 1)]
        half = max(rank_agreement(*halves), 0.0)
        reliability = 2 * half / (1 + half)  # of the mean of all k trainings
        wanted = k if seeds is None else seeds
        per_seed = reliability / (k - (k - 1) * reliability) if reliability < 1 else 1.0
        return float(np.sqrt(wanted * per_seed / (1 + (wanted - 1) * per_seed)))


def scratch_accuracy(task: Any, spec: CandidateSpec, seed: int) -> float:
    """Validation accuracy after training `spec` from scratch with its own training settings."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(make_model_config(spec, task))
        model.set_standardization(task.feature_mean, task.feature_std)
        train_classifier(model, task.x_train, task.y_train, task.x_val, task.y_val, spec.training,
                         spec.training.epochs, seed)
        return accuracy(model, task.x_val, task.y_val)


def ranking_check(
    supercircuit: SuperCircuit, candidates: Sequence[CandidateSpec], seed: int = 0, scratch_seeds: int = 1
) -> RankingCheck:
    """Spearman's rank correlation between inherited and from-scratch validation accuracies, the
    latter averaged over `scratch_seeds` trainings (one training's seed noise can reorder
    candidates whose accuracies lie close)."""
    if len(candidates) < 3:
        raise QnasError(f"a ranking check needs at least 3 candidates, got {len(candidates)}; use 50 or more.")
    inherited = tuple(supercircuit.score(spec) for spec in candidates)
    runs = tuple(tuple(scratch_accuracy(supercircuit.task, spec, seed + k) for k in range(scratch_seeds))
                 for spec in candidates)
    return RankingCheck(inherited, runs)
