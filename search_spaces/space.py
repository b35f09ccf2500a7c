"""SearchSpace: a validated search-space declaration, and the one walker that turns it into specs.

A search space is data, separate from any sampler (as in optuna's `distributions.py`): Optuna
samplers draw from it define-by-run (`sample`), a plain parameter dict decodes through the same
walker (`decode`), and `distributions()` lists every parameter with its kind and values, from
which a discrete action space for an RL proposer can be derived.

Declaration schema (YAML, read with `yaml.safe_load`; every key below is checked, unknown keys
are errors with a did-you-mean)::

    name: classification            # required; the name --space uses
    description: one line           # optional
    task_kinds: [classification]    # required; subset of classification, vqe, state_prep
    pool: all                       # optional, gate-level tasks: the Pauli rotations a screening
                                    # proposer (--agent adapt) grows circuits from (qnas.pauli_rotations)
    fixed:                          # optional; fields every candidate shares
      measurement: expval
    params:                         # optional; drawn in this order
      split: {choices: [quantum_first, quantum_head, quantum_middle]}
      n_qubits: {int: [2, 5]}                        # also: step: 2, log: true
      learning_rate: {float: [0.005, 0.1], log: true}  # also: step: 0.01 (not with log)
      pre_width: {choices: [4, 8, 16], when: {split: [quantum_head, quantum_middle]}}
    layer:                          # optional; the ansatz layers
      per_layer: false              # true: layer0_rotations, layer1_rotations, ... drawn per layer
      rotations: {choices: [RY, RX+RZ]}
      entangler: {choices: [none, linear, ring, full]}
      entangling_gate: {choices: [CNOT, CZ, CRZ], when: {entangler: [linear, ring, full]}}

Fields (see `fields.py`); each may be fixed or drawn, never both, and layer fields may also be
fixed (then every layer shares the value):

    split, n_qubits, encoding (encoding.kind), reupload (encoding.reupload), n_layers,
    pre_width + pre_depth (pre_layers = [pre_width] * pre_depth; no pre_width means []),
    post_width + post_depth (likewise post_layers), measurement, shots (null = analytic),
    readout_mitigation, zne (off | "1,3" | "1,3,5": fold factors), zne_method (richardson | linear |
    exponential), layout (trivial | low_noise); these four act only on a noisy device; optimizer, learning_rate, epochs, batch_size; layer fields: rotations ('+'-joined gates),
    entangler, entangling_gate.

A field left out takes CandidateSpec's default, except n_qubits: a space that does not choose it
needs the task to fix it (`required_qubits`). `when: {param: [values]}` draws a parameter only
while every named parameter, declared above it or fixed, holds one of the listed values; a
parameter that is not drawn keeps its default. Loading decodes every combination of the
categorical parameters that shape a model (split, encoding, reupload, entangler and whatever a
`when:` names; numbers at their low end), so a missing `when:` fails at load time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any, NoReturn

import optuna
import yaml
from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution

from qnas.errors import SearchSpaceError, SpecError, not_allowed
from qnas.pauli_rotations import POOLS
from qnas.search_spaces.fields import FIELDS, GLOBAL_FIELDS, LAYER_FIELDS, ZNE_CHOICES
from qnas.search_spaces.params import Param, parse_param
from qnas.spec import CalibrationSpec, CandidateSpec, EncodingSpec, LayerSpec, TrainingSpec

TASK_KINDS = ("classification", "vqe", "state_prep")
TOP_KEYS = ("name", "description", "task_kinds", "pool", "fixed", "params", "layer")
LAYER_KEYS = ("per_layer", *LAYER_FIELDS)
SHAPING_FIELDS = frozenset({"split", "encoding", "reupload", "entangler"})
"""Categorical fields whose values interact in CandidateSpec's cross-field rules."""
PROBE_QUBITS = 2
"""Qubit count used to check a space that leaves n_qubits to the task."""

Pick = Callable[[Param], Any]


class SearchSpace:
    """A validated declaration. Build one with `load_space(name_or_path)` or `SearchSpace(mapping)`."""

    def __init__(self, data: Any, source: str = "<dict>", text: str | None = None) -> None:
        self.source = source
        if not isinstance(data, dict):
            got = "nothing (the file is empty)" if data is None else f"{type(data).__name__} {data!r}"
            self._fail("top level", f"must be a mapping with keys {list(TOP_KEYS)}, got {got}.")
        self.yaml: str = text if text is not None else yaml.safe_dump(data, sort_keys=False)
        """The declaration as written (`parse_space`'s text): a study records it, so a resumed
        search rebuilds this space even where the file is gone or was edited."""
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
        self.sha256: str = hashlib.sha256(canonical.encode()).hexdigest()
        """Hash of the declaration's content, not its text: comments and layout do not change it."""
        self._check_keys(data, TOP_KEYS, "top level")
        for key in ("name", "task_kinds"):
            if key not in data:
                self._fail("top level", f"missing required key {key!r}.")
        self.name: str = self._string(data["name"], "name")
        self.description: str = self._string(data.get("description", ""), "description", allow_empty=True)
        self.task_kinds: tuple[str, ...] = self._parse_task_kinds(data["task_kinds"])
        self.pool: str | None = data.get("pool")
        """The operator pool of `gate_set="pauli"` (None: the env's default, "all")."""
        if self.pool is not None and self.pool not in POOLS:
            self._fail("pool", not_allowed("pool", self.pool, POOLS))
        self.fixed: Mapping[str, Any] = MappingProxyType(self._parse_fixed(data.get("fixed") or {}))
        self.params: tuple[Param, ...] = self._parse_params(data.get("params") or {})
        layer = data.get("layer") or {}
        self._require_mapping(layer, "layer")
        self._check_keys(layer, LAYER_KEYS, "layer")
        self.per_layer: bool = layer.get("per_layer", False)
        if not isinstance(self.per_layer, bool):
            self._fail("layer.per_layer", f"per_layer = {self.per_layer!r} must be true or false.")
        self.layer_params: tuple[Param, ...] = self._parse_layer_params(layer)
        self.max_layers: int = self._max_layers()
        self._layers: tuple[tuple[Param, ...], ...] = tuple(
            tuple(replace(p, name=f"layer{i}_{p.field}") for p in self.layer_params)
            if self.per_layer
            else self.layer_params
            for i in range(self.max_layers if self.per_layer else 1)
        )
        self._check_combinations()

    # --- public API ----------------------------------------------------------------------------

    def sample(self, trial: optuna.Trial, required_qubits: int | None = None) -> CandidateSpec:
        """Draw a candidate define-by-run; `required_qubits` (a task's fixed count) replaces n_qubits."""
        return self._walk(lambda param: param.suggest(trial), required_qubits)

    def decode(self, params: Mapping[str, Any], required_qubits: int | None = None) -> CandidateSpec:
        """Rebuild the candidate that `sample` gives for these parameter values (e.g. `trial.params`).

        Parameters that are inactive under the other values are ignored, so a full vector of every
        parameter (as an RL action gives) decodes too; unknown names are errors.
        """
        known = self.distributions()
        for name in params:
            if name not in known:
                raise SearchSpaceError(
                    not_allowed(
                        f"space {self.name!r}: parameter",
                        name,
                        list(known),
                        "Pass only parameters this space declares.",
                    )
                )

        def pick(param: Param) -> Any:
            if param.name not in params:
                raise SearchSpaceError(
                    f"space {self.name!r}: params is missing {param.name!r}, which these values need; "
                    f"give it {param.describe()}."
                )
            try:
                return param.normalize(params[param.name])
            except ValueError as exc:
                raise SearchSpaceError(f"space {self.name!r}: {exc}") from None

        return self._walk(pick, required_qubits)

    def sample_calibration(self, trial: optuna.Trial) -> CalibrationSpec | None:
        """Draw only this space's calibration settings (shots, mitigation, ZNE, layout) on `trial`,
        for a circuit another proposer designed (the RL agent's). None when the space has none.

        A calibration parameter whose `when:` names a non-calibration field is drawn only if
        that field is fixed; otherwise it keeps the spec's default."""
        values = {name: value for name, value in self.fixed.items() if name in CALIBRATION_FIELDS}
        for param in self.params:
            if param.field in CALIBRATION_FIELDS and param.is_active({**self.fixed, **values}):
                values[param.field] = param.suggest(trial)
        return _calibration(values) if values else None

    def allows_analytic(self) -> bool:
        """Whether some candidate has no shot count (analytic expectation values): shots fixed to
        null, a null choice, or a shots parameter that is not drawn for every candidate. A device
        that only samples fails those candidates, so a search checks this before it starts."""
        if "shots" in self.fixed:
            return self.fixed["shots"] is None
        shots = [p for p in self.params if p.field == "shots"]
        return not shots or any(
            not p.is_active(dict(self.fixed))
            or (isinstance(p.distribution, CategoricalDistribution) and None in p.distribution.choices)
            for p in shots
        )

    def distributions(self) -> dict[str, BaseDistribution]:
        """Every parameter that can appear, in draw order (per-layer ones up to the most layers)."""
        return {p.name: p.distribution for p in (*self.params, *(p for layer in self._layers for p in layer))}

    def check_task_kind(self, kind: str, task_name: str | None = None) -> None:
        """Refuse a task this space was not declared for, naming the shipped spaces that fit it."""
        if kind in self.task_kinds:
            return
        from qnas.search_spaces.loading import spaces_for_kind  # loading imports this module

        task = f"task {task_name!r} is {kind}" if task_name else f"the task is {kind}"
        fits = spaces_for_kind(kind)
        if fits:
            fix = f"use --space {' or --space '.join(fits)}"
        else:
            fix = f"write a space with task_kinds: [{kind}]"
        raise SearchSpaceError(f"space {self.name!r} is for {'/'.join(self.task_kinds)} tasks; {task}; {fix}.")

    def __repr__(self) -> str:
        return f"SearchSpace(name={self.name!r}, params={len(self.distributions())}, source={self.source!r})"

    # --- the walker ----------------------------------------------------------------------------

    def _walk(self, pick: Pick, required_qubits: int | None) -> CandidateSpec:
        """Decide every field in declaration order, asking `pick` for each active parameter."""
        values: dict[str, Any] = dict(self.fixed)
        if required_qubits is not None:
            self._check_required_qubits(required_qubits)
            values["n_qubits"] = required_qubits
        elif not self._chooses_qubits():
            raise SearchSpaceError(
                f"space {self.name!r} leaves n_qubits to the task; pass required_qubits "
                f"(the task's qubit count), or declare n_qubits under params: or fixed:."
            )
        for param in self.params:
            if param.field == "n_qubits" and required_qubits is not None:
                continue
            if param.is_active(values):
                values[param.field] = pick(param)
        n_layers = values.get("n_layers", 1)
        layers: list[dict[str, Any]] = []
        for layer_params in self._layers[: n_layers if self.per_layer else 1]:
            layer_values = dict(values)
            for param in layer_params:
                if param.is_active(layer_values):
                    layer_values[param.field] = pick(param)
            layers.append({f: layer_values[f] for f in LAYER_FIELDS if f in layer_values})
        if not self.per_layer:
            layers *= n_layers
        try:
            return _build(values, layers)
        except SpecError as exc:
            chosen = {k: v for k, v in values.items() if k not in self.fixed}
            raise SearchSpaceError(
                f"space {self.name!r} ({self.source}) gives an invalid candidate for {chosen}, layers {layers}: {exc} "
                "Add a `when:` condition so the parameter is only drawn where it is valid."
            ) from exc

    def _check_required_qubits(self, required_qubits: int) -> None:
        if isinstance(required_qubits, bool) or not isinstance(required_qubits, int) or required_qubits < 1:
            raise SearchSpaceError(f"required_qubits = {required_qubits!r} must be a positive integer or None.")
        fixed = self.fixed.get("n_qubits")
        if fixed is not None and fixed != required_qubits:
            raise SearchSpaceError(
                f"space {self.name!r} fixes n_qubits = {fixed}, but the task needs {required_qubits} qubits; "
                "remove n_qubits from fixed: so the task decides it."
            )

    def _check_combinations(self) -> None:
        """Walk every combination of the shaping categorical parameters (numbers at their low end).

        Define-by-run enumeration: `path` holds the choice index at each branching draw of the
        previous walk; advancing it like an odometer visits every reachable combination once.
        """
        branching = SHAPING_FIELDS | {ref for p in (*self.params, *self.layer_params) for ref, _ in p.when}
        path: list[int] = []
        while True:
            counts = self._probe(path, branching)
            path = [path[i] if i < len(path) else 0 for i in range(len(counts))]
            while path and path[-1] + 1 == counts[len(path) - 1]:
                path.pop()
            if not path:
                return
            path[-1] += 1

    def _probe(self, path: list[int], branching: frozenset[str]) -> list[int]:
        """Walk once following `path` at branching draws; return how many choices each had."""
        counts: list[int] = []

        def pick(param: Param) -> Any:
            d = param.distribution
            if not isinstance(d, CategoricalDistribution):
                return d.low
            if param.field not in branching:
                return d.choices[0]
            position = len(counts)
            counts.append(len(d.choices))
            return d.choices[path[position] if position < len(path) else 0]

        self._walk(pick, None if self._chooses_qubits() else PROBE_QUBITS)
        return counts

    def _chooses_qubits(self) -> bool:
        return "n_qubits" in self.fixed or any(p.field == "n_qubits" for p in self.params)

    # --- parsing -------------------------------------------------------------------------------

    def _fail(self, where: str, problem: str) -> NoReturn:
        raise SearchSpaceError(f"{self.source}: {where}: {problem}")

    def _require_mapping(self, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            self._fail(where, f"must be a mapping, got {type(value).__name__} {value!r}.")

    def _check_keys(self, data: dict[str, Any], allowed: tuple[str, ...], where: str, fix: str = "") -> None:
        for key in data:
            if key not in allowed:
                self._fail(where, not_allowed("key", key, allowed, fix))

    def _string(self, value: Any, where: str, allow_empty: bool = False) -> str:
        if not isinstance(value, str) or not (value or allow_empty):
            self._fail(where, f"{where} = {value!r} must be a {'' if allow_empty else 'non-empty '}string.")
        return value

    def _parse_task_kinds(self, kinds: Any) -> tuple[str, ...]:
        if not isinstance(kinds, list) or not kinds:
            self._fail("task_kinds", f"must be a non-empty list drawn from {list(TASK_KINDS)}, got {kinds!r}.")
        for kind in kinds:
            if kind not in TASK_KINDS:
                self._fail("task_kinds", not_allowed("task kind", kind, TASK_KINDS))
        return tuple(dict.fromkeys(kinds))

    def _parse_fixed(self, fixed: Any) -> dict[str, Any]:
        self._require_mapping(fixed, "fixed")
        self._check_keys(fixed, tuple(FIELDS), "fixed")
        for name, value in fixed.items():
            problem = FIELDS[name].problem(value)
            if problem:
                self._fail(f"fixed.{name}", problem)
        return dict(fixed)

    def _parse_params(self, entries: Any) -> tuple[Param, ...]:
        self._require_mapping(entries, "params")
        names = list(entries)
        params: list[Param] = []
        for i, name in enumerate(names):
            where = f"params.{name}"
            if name in LAYER_FIELDS:
                self._fail(where, f"{name} is a layer field; declare it under layer: (or fix it under fixed:).")
            if name not in GLOBAL_FIELDS:
                self._fail("params", not_allowed("key", name, GLOBAL_FIELDS))
            param = self._parse_param(name, entries[name], where, params, later=names[i + 1 :])
            params.append(param)
        declared = {p.field for p in params} | set(self.fixed)
        for depth, width in (("pre_depth", "pre_width"), ("post_depth", "post_width")):
            if depth in declared and width not in declared:
                self._fail(
                    f"params.{depth}", f"{depth} has no effect without {width}; declare {width} too, or drop {depth}."
                )
        return tuple(params)

    def _parse_layer_params(self, layer: dict[str, Any]) -> tuple[Param, ...]:
        names = [n for n in layer if n != "per_layer"]
        params: list[Param] = []
        for i, name in enumerate(names):
            params.append(
                self._parse_param(name, layer[name], f"layer.{name}", [*self.params, *params], later=names[i + 1 :])
            )
        return tuple(params)

    def _parse_param(self, name: str, entry: Any, where: str, before: list[Param], later: list[str]) -> Param:
        if name in self.fixed:
            self._fail(where, f"{name} is both fixed (= {self.fixed[name]!r}) and drawn; keep one of the two.")
        param = parse_param(FIELDS[name], entry, where, self._fail)
        fixed = {n: Param(n, n, CategoricalDistribution([v])) for n, v in self.fixed.items()}
        self._check_when(param, where, scope={**fixed, **{p.field: p for p in before}}, later=later)
        return param

    def _check_when(self, param: Param, where: str, scope: dict[str, Param], later: list[str]) -> None:
        """A `when:` may name a fixed field or a parameter drawn before this one, with values it can take."""
        for ref, allowed in param.when:
            at = f"{where}.when.{ref}"
            if ref == param.field:
                self._fail(at, f"{param.field} cannot depend on itself; name a parameter declared above it.")
            if ref not in scope:
                if ref in later:
                    self._fail(at, f"{ref!r} is declared after {param.field!r}; move it above so it is drawn first.")
                if ref in LAYER_FIELDS and param.field in GLOBAL_FIELDS:
                    self._fail(
                        at,
                        f"{param.field} is drawn once per candidate, so it cannot depend on the layer field {ref!r}.",
                    )
                self._fail(
                    at,
                    not_allowed(
                        "when: parameter",
                        ref,
                        list(scope),
                        "A condition may name only a parameter declared above it or a fixed field.",
                    ),
                )
            for value in allowed:
                problem = FIELDS[ref].problem(value)
                if problem:
                    self._fail(at, problem)
            if not any(scope[ref].contains(v) for v in allowed):
                self._fail(
                    at,
                    f"{ref} takes {scope[ref].describe()}, so {list(allowed)} never holds and {param.field} would never be drawn.",
                )

    def _max_layers(self) -> int:
        if "n_layers" in self.fixed:
            return self.fixed["n_layers"]
        for param in self.params:
            if param.field == "n_layers":
                d = param.distribution
                return d.high if isinstance(d, IntDistribution) else max(d.choices)
        return 1


CALIBRATION_FIELDS = ("shots", "readout_mitigation", "zne", "zne_method", "layout")
"""The flat fields that make up `CandidateSpec.calibration`."""


def _calibration(values: dict[str, Any]) -> CalibrationSpec:
    """CalibrationSpec from decided flat fields; the `zne` word names its fold factors."""
    settings = {name: values[name] for name in ("shots", "readout_mitigation", "zne_method", "layout") if name in values}
    if "zne" in values:
        settings["zne_factors"] = ZNE_CHOICES[values["zne"]]
    return CalibrationSpec(**settings)


def _build(values: dict[str, Any], layers: list[dict[str, Any]]) -> CandidateSpec:
    """Map decided flat fields onto CandidateSpec; fields left out keep the spec's defaults."""

    def take(*pairs: tuple[str, str]) -> dict[str, Any]:
        return {arg: values[name] for arg, name in pairs if name in values}

    def widths(width: str, depth: str) -> tuple[int, ...]:
        return (values[width],) * values.get(depth, 1) if width in values else ()

    return CandidateSpec(
        **take(("split", "split"), ("n_qubits", "n_qubits"), ("measurement", "measurement")),
        pre_layers=widths("pre_width", "pre_depth"),
        post_layers=widths("post_width", "post_depth"),
        encoding=EncodingSpec(**take(("kind", "encoding"), ("reupload", "reupload"))),
        layers=tuple(LayerSpec(**layer) for layer in layers),
        calibration=_calibration(values),
        training=TrainingSpec(
            **take(
                ("optimizer", "optimizer"),
                ("learning_rate", "learning_rate"),
                ("epochs", "epochs"),
                ("batch_size", "batch_size"),
            )
        ),
    )
