"""`--agent shared`: a classification search that scores its candidates with shared weights
(QuantumNAS, Wang et al. 2022; issue 21, point 5).

The family is the space's ansatz: every combination of its `n_layers` and its layer's rotations,
entangler and entangling gate, with every other parameter at one base value (`base_params`). One
`SuperCircuit` is trained for the family when the search starts. Then:

1. **The check.** `CHECK_TRIALS` members drawn at random are trained from scratch as ordinary
   trials (never pruned). Spearman's rho between their validation accuracies and their inherited
   scores goes on the study (`weight_sharing_spearman`).
2. **Sharing on** (rho >= `SHARING_MIN_SPEARMAN`): the members not yet trained are proposed best
   inherited score first. **Sharing off**: the space's sampler (TPE by default) takes over, and the
   study says why. Either way, once the family is spent the sampler goes on over the whole space.

Each proposal is an Optuna trial with the member's parameters (enqueued), so the dashboard, TPE
and a resumed search see it like any other; `weight_sharing` ("check" or "ranked") and
`inherited_score` go on the trial.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna

from qnas.agents.base import Proposal
from qnas.agents.optuna_proposer import OptunaProposer
from qnas.errors import QnasError
from qnas.search_spaces.fields import LAYER_FIELDS
from qnas.weight_sharing import SHARING_MIN_SPEARMAN, Family, SuperCircuit, rank_agreement

if TYPE_CHECKING:
    from qnas.evaluation import EvalResult
    from qnas.search_spaces import SearchSpace
    from qnas.spec import CandidateSpec

CHECK_TRIALS = 50
"""Members trained from scratch before inherited scores are trusted (issue 21: at least 50)."""
SUPERCIRCUIT_STEPS = 2000
"""Minibatch steps of SuperCircuit training: 6-10 s on one core for the bundled datasets."""
BASE_PREFERENCES: dict[str, Any] = {
    "encoding": "angle_y", "reupload": False, "pre_width": 8, "post_width": 8, "measurement": "expval",
    "shots": None, "optimizer": "adam", "learning_rate": 0.05, "epochs": 15, "batch_size": 32,
}
"""The base of every member where the space allows it: settings that train every member of the
classification space's family reliably (BENCHMARKS.md, "Weight sharing"). Where the space does not
offer one, its first choice (or lower bound) is used; fix a field in the space to choose another."""
MAX_DIRECT_QUBITS = 4
"""Up to this many features each gets a qubit (quantum_first); more go through a classical layer."""


def base_params(space: SearchSpace, n_features: int) -> dict[str, Any]:
    """One value for each of the space's parameters outside the ansatz; see `BASE_PREFERENCES`."""
    qubits = min(n_features, MAX_DIRECT_QUBITS)
    preferred = {**BASE_PREFERENCES, "n_qubits": qubits,
                 "split": "quantum_first" if n_features <= MAX_DIRECT_QUBITS else "quantum_middle"}
    values: dict[str, Any] = dict(space.fixed)
    chosen: dict[str, Any] = {}
    for param in space.params:
        if param.field == "n_layers" or not param.is_active(values):
            continue
        want = preferred.get(param.field)
        value = param.normalize(want) if param.field in preferred and param.contains(want) else _first(param)
        values[param.field] = chosen[param.name] = value
    return chosen


def family_members(space: SearchSpace, n_features: int) -> list[tuple[dict[str, Any], CandidateSpec]]:
    """(parameters, candidate) of every member: the base, with each layer count and ansatz layer."""
    if space.per_layer or {p.field for p in space.layer_params} - set(LAYER_FIELDS):
        raise QnasError(
            f"--agent shared needs a space whose layer: draws one layer repeated (per_layer: false) from "
            f"{list(LAYER_FIELDS)}; space {space.name!r} has per_layer {space.per_layer} and layer fields "
            f"{[p.field for p in space.layer_params]}. Use --space classification, or another agent."
        )
    base = base_params(space, n_features)
    layer_counts = [space.max_layers] if "n_layers" in space.fixed else range(1, space.max_layers + 1)
    layers = _layer_choices(space, base)
    members = []
    for n_layers in layer_counts:
        for layer in layers:
            params = {**base, **({} if "n_layers" in space.fixed else {"n_layers": n_layers}), **layer}
            members.append((params, space.decode(params)))
    return members


class SharedProposer(OptunaProposer):
    """The check, then members best inherited score first (or the sampler); see the module docstring."""

    def __init__(
        self, study: optuna.Study, space: SearchSpace, task: Any, sampler_name: str, seed: int = 0,
        steps: int = SUPERCIRCUIT_STEPS, check_trials: int = CHECK_TRIALS,
    ) -> None:
        if task.kind != "classification":
            raise QnasError(f"--agent shared shares weights between classifiers; task {task.name!r} is {task.kind}. "
                            "Use --agent adapt or optuna.")
        super().__init__(study, space, None, sampler_name)
        self._sampler_label = self.name
        self.name = "shared"
        self.check_trials = check_trials
        members = family_members(space, task.n_features)
        if len(members) <= check_trials:
            raise QnasError(
                f"space {space.name!r} gives {len(members)} ansatz members, but the check alone trains "
                f"{check_trials}; widen its layer choices or n_layers, or use another agent."
            )
        self._members = {self._key(params): (params, spec) for params, spec in members}
        self.supercircuit = SuperCircuit(task, Family(tuple(spec for _, spec in members)), seed=seed)
        self._train(steps, seed)
        self.inherited = {key: self.supercircuit.score(spec) for key, (_, spec) in self._members.items()}
        self._ranked = sorted(self.inherited, key=self.inherited.__getitem__, reverse=True)
        order = list(self._members)
        np.random.default_rng(seed).shuffle(order)
        self._unchecked: Iterator[str] = iter(order)
        self._checked: dict[str, float] = {}
        self._proposed: set[str] = set()
        self._roles: dict[int, tuple[str, str]] = {}
        """Per member proposal: (member key, "check" or "ranked")."""
        self.sharing: bool | None = None
        """None while checking; then whether inherited scores order the rest of the family."""
        self._resume()

    def ask(self) -> Proposal:
        if self.sharing is None and len(self._checked) >= self.check_trials:
            self._decide()
        key = self._next_member()
        if key is None:
            return self._labelled(super().ask(), None)
        params, _ = self._members[key]
        role = (key, "check" if self.sharing is None else "ranked")
        self.study.enqueue_trial(params, user_attrs=self._attrs(role))
        self._proposed.add(key)
        return self._labelled(super().ask(), role)

    def retry(self, proposal: Proposal) -> Proposal:
        """The same parameters again, in the same role (a check member stays one)."""
        role = self._roles.get(proposal.id)
        self.study.enqueue_trial(proposal.params, user_attrs={"retry_of": proposal.id, **self._attrs(role)})
        return self._labelled(super().ask(), role)

    def tell(self, proposal_id: int, result: EvalResult, *, attrs: dict[str, Any] | None = None) -> None:
        role = self._roles.get(proposal_id)
        if role and role[1] == "check" and result.status == "ok" and result.value is not None:
            self._checked[role[0]] = float(result.value)
        super().tell(proposal_id, result, attrs=attrs)

    def report(self, proposal_id: int, step: int, value: float) -> bool:
        """The check's trials run to the end: a pruned one has no final accuracy to rank."""
        role = self._roles.get(proposal_id)
        return False if role and role[1] == "check" else super().report(proposal_id, step, value)

    def _attrs(self, role: tuple[str, str] | None) -> dict[str, Any]:
        return {} if role is None else {"weight_sharing": role[1], "inherited_score": self.inherited[role[0]]}

    def _labelled(self, proposal: Proposal, role: tuple[str, str] | None) -> Proposal:
        """Remember a member's role; a trial the sampler chose is recorded as the sampler's."""
        if role is None:
            trial, spec, attrs = self._pending[proposal.id]
            self._pending[proposal.id] = (trial, spec, {**attrs, "proposer": self._sampler_label})
        else:
            self._roles[proposal.id] = role
        return proposal

    def _next_member(self) -> str | None:
        if self.sharing is None:
            key = next((k for k in self._unchecked if k not in self._proposed), None)
            if key is not None:
                return key
            self._decide()  # the family ran out before the check's count: decide on what was told
        if self.sharing:
            return next((k for k in self._ranked if k not in self._proposed), None)
        return None

    def _decide(self) -> None:
        keys = list(self._checked)
        scratch = [self._checked[k] for k in keys]
        inherited = [self.inherited[k] for k in keys]
        rho = rank_agreement(inherited, scratch)
        self.sharing = rho >= SHARING_MIN_SPEARMAN
        verdict = "on" if self.sharing else "off"
        for name, value in (("weight_sharing", verdict), ("weight_sharing_spearman", rho),
                            ("weight_sharing_checked", len(keys))):
            self.study.set_user_attr(name, value)
        then = ("the rest of the family goes best inherited score first" if self.sharing
                else f"inherited scores do not rank like training (under {SHARING_MIN_SPEARMAN}); the sampler takes over")
        print(f"weight sharing {verdict}: Spearman {rho:.3f} between inherited and trained accuracies of "
              f"{len(keys)} members; {then}", file=sys.stderr, flush=True)

    def _train(self, steps: int, seed: int) -> None:
        started = time.monotonic()
        print(f"training the SuperCircuit: {steps} steps over {len(self._members)} members", file=sys.stderr, flush=True)
        self.supercircuit.train(steps, seed=seed)
        print(f"SuperCircuit trained in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)

    def _resume(self) -> None:
        """A resumed search: members already trained are not proposed again, and the check's
        results count (the SuperCircuit is rebuilt from the same seed, so its scores are the same)."""
        for trial in self.study.get_trials(deepcopy=False):
            key = self._key(trial.params)
            if key not in self._members:
                continue
            self._proposed.add(key)
            if trial.user_attrs.get("weight_sharing") == "check" and trial.state == optuna.trial.TrialState.COMPLETE:
                self._checked[key] = float(trial.value)
        verdict = self.study.user_attrs.get("weight_sharing")
        if verdict is not None:
            self.sharing = verdict == "on"

    @staticmethod
    def _key(params: dict[str, Any]) -> str:
        return repr(sorted(params.items()))


def _first(param: Any) -> Any:
    return param.distribution.choices[0] if param.kind == "choices" else param.distribution.low


def _layer_choices(space: SearchSpace, base: dict[str, Any]) -> list[dict[str, Any]]:
    """Every combination of the layer parameters that the space would draw (`when` respected)."""
    combinations: list[dict[str, Any]] = [{}]
    for param in space.layer_params:
        grown = []
        for chosen in combinations:
            if not param.is_active({**space.fixed, **base, **{p.field: chosen[p.name] for p in space.layer_params
                                                               if p.name in chosen}}):
                grown.append(chosen)
                continue
            if param.kind != "choices":
                raise QnasError(f"--agent shared enumerates the ansatz, but layer parameter {param.name!r} is not a list "
                                "of choices; give it choices: [...].")
            grown.extend({**chosen, param.name: choice} for choice in param.distribution.choices)
        combinations = grown
    return combinations
