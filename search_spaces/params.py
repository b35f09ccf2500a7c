"""One declared parameter: a field, the Optuna distribution it is drawn from, and when it applies.

`parse_param` turns one YAML entry (`{choices: [...]}`, `{int: [lo, hi]}`, `{float: [lo, hi]}`
plus `step`, `log`, `when`) into a `Param`, rejecting shapes Optuna would reject or silently
adjust. Cross-parameter rules (what a `when:` may name) live in `space.py`, which sees them all.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from qnas.errors import not_allowed
from qnas.search_spaces.fields import Field

ENTRY_KEYS = ("choices", "int", "float", "step", "log", "when")
KINDS = ("choices", "int", "float")

Fail = Callable[[str, str], NoReturn]
"""fail(where, problem) raises a SearchSpaceError that names the declaration file."""


@dataclass(frozen=True)
class Param:
    """A trial parameter. `name` is what the trial sees (`rotations`, or `layer2_rotations` when
    each layer picks its own); `field` is the vocabulary word it sets. `when` holds
    (field, allowed values) pairs that must all hold for the parameter to be drawn."""

    name: str
    field: str
    distribution: BaseDistribution
    when: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    @property
    def kind(self) -> str:
        """'choices', 'int' or 'float': enough, with the distribution, to derive a discrete action."""
        if isinstance(self.distribution, CategoricalDistribution):
            return "choices"
        return "int" if isinstance(self.distribution, IntDistribution) else "float"

    def is_active(self, values: dict[str, Any]) -> bool:
        """Whether every `when` condition holds for the values decided so far."""
        return all(ref in values and values[ref] in allowed for ref, allowed in self.when)

    def contains(self, value: Any) -> bool:
        try:
            self.normalize(value)
        except ValueError:
            return False
        return True

    def suggest(self, trial: optuna.Trial) -> Any:
        """Draw this parameter define-by-run."""
        d = self.distribution
        if isinstance(d, CategoricalDistribution):
            return trial.suggest_categorical(self.name, d.choices)
        if isinstance(d, IntDistribution):
            return trial.suggest_int(self.name, d.low, d.high, step=d.step, log=d.log)
        assert isinstance(d, FloatDistribution)
        return trial.suggest_float(self.name, d.low, d.high, step=d.step, log=d.log)

    def normalize(self, value: Any) -> Any:
        """Return the in-space value equal to `value` (16.0 -> 16 for an int), else raise ValueError."""
        d = self.distribution
        if isinstance(d, CategoricalDistribution):
            for choice in d.choices:
                if _same(choice, value):
                    return choice
        elif _is_number(value):
            if isinstance(d, IntDistribution):
                if float(value).is_integer() and d.low <= value <= d.high and (int(value) - d.low) % d.step == 0:
                    return int(value)
            elif d.low <= value <= d.high and (d.step is None or _on_grid(value - d.low, d.step)):
                return float(value)
        raise ValueError(f"parameter {self.name!r} = {value!r} is outside the space; expected {self.describe()}.")

    def describe(self) -> str:
        d = self.distribution
        if isinstance(d, CategoricalDistribution):
            return f"one of {list(d.choices)}"
        what = "an integer" if isinstance(d, IntDistribution) else "a number"
        step = f" in steps of {d.step}" if d.step not in (None, 1) else ""
        log = " (log scale)" if d.log else ""
        return f"{what} in [{d.low}, {d.high}]{step}{log}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps true apart from 1 and None apart from everything else."""
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def _on_grid(offset: float, step: float) -> bool:
    ratio = offset / step
    return abs(ratio - round(ratio)) < 1e-9


def parse_param(field: Field, entry: Any, where: str, fail: Fail) -> Param:
    """Validate one parameter entry eagerly, values included, and build its distribution."""
    if not isinstance(entry, dict):
        fail(
            where,
            f"must be a mapping such as {{choices: [...]}}, {{int: [low, high]}} or {{float: [low, high]}}, "
            f"got {entry!r}. To pin one value, put `{field.name}: {entry!r}` under fixed: instead.",
        )
    for key in entry:
        if key not in ENTRY_KEYS:
            fail(where, not_allowed("key", key, ENTRY_KEYS))
    kinds = [k for k in KINDS if k in entry]
    if len(kinds) != 1:
        fail(where, f"give exactly one of {list(KINDS)}, got {kinds or 'none'}.")
    kind = kinds[0]
    if kind == "choices":
        if "step" in entry or "log" in entry:
            fail(where, "step: and log: apply to int:/float: ranges, not to choices:; remove them.")
        distribution: BaseDistribution = CategoricalDistribution(_parse_choices(field, entry["choices"], where, fail))
    else:
        distribution = _parse_range(field, kind, entry, where, fail)
    return Param(field.name, field.name, distribution, _parse_when(entry.get("when"), f"{where}.when", fail))


def _parse_choices(field: Field, choices: Any, where: str, fail: Fail) -> tuple[Any, ...]:
    where = f"{where}.choices"
    if not isinstance(choices, list) or not choices:
        fail(where, f"must be a non-empty list of values, got {choices!r}.")
    for i, value in enumerate(choices):
        if value is not None and not isinstance(value, (bool, int, float, str)):
            fail(
                f"{where}[{i}]",
                f"{value!r} must be a single value (null, bool, number or string), got {type(value).__name__}.",
            )
        problem = field.problem(value)
        if problem:
            fail(f"{where}[{i}]", problem)
        if any(_same(value, earlier) for earlier in choices[:i]):
            fail(f"{where}[{i}]", f"{value!r} is listed twice; list each choice once.")
    return tuple(choices)


def _parse_range(field: Field, kind: str, entry: dict[str, Any], where: str, fail: Fail) -> BaseDistribution:
    where = f"{where}.{kind}"
    if kind not in field.range_kinds:
        takes = f"{field.range_kinds[0]}: [low, high] or choices:" if field.range_kinds else "choices: [...]"
        fail(where, f"{field.name} cannot be declared as a {kind}: range; it takes {takes}.")
    bounds = entry[kind]
    if not isinstance(bounds, list) or len(bounds) != 2:
        fail(where, f"must be [low, high], got {bounds!r}.")
    low, high = bounds
    log = entry.get("log", False)
    if not isinstance(log, bool):
        fail(f"{where}.log", f"log = {log!r} must be true or false.")
    if log and _is_number(low) and low <= 0:
        fail(where, f"log: true needs low > 0, got low = {low!r}; raise low or drop log.")
    for bound in (low, high):
        problem = field.problem(bound)
        if problem is None and bound is None:
            problem = f"{field.name} range bounds must be numbers, got null; list null under choices: instead."
        if problem:
            fail(where, problem)
    if low > high:
        fail(where, f"low {low!r} > high {high!r}; write [{high!r}, {low!r}].")
    step = entry.get("step")
    if kind == "int":
        step = 1 if step is None else step
        if isinstance(step, bool) or not isinstance(step, int) or step < 1:
            fail(f"{where}.step", f"step = {step!r} must be a positive integer.")
        if log and step != 1:
            fail(f"{where}.step", f"step = {step} cannot be combined with log: true; drop one of them.")
        if (high - low) % step:
            fail(
                where,
                f"[{low}, {high}] is not a whole number of steps of {step}; use high = {high - (high - low) % step}.",
            )
        return IntDistribution(low, high, log=log, step=step)
    if step is not None:
        if not _is_number(step) or step <= 0:
            fail(f"{where}.step", f"step = {step!r} must be a positive number.")
        if log:
            fail(f"{where}.step", "step cannot be combined with log: true; drop one of them.")
        if not _on_grid(high - low, step):
            fail(where, f"[{low}, {high}] is not a whole number of steps of {step}; adjust high.")
    return FloatDistribution(float(low), float(high), log=log, step=None if step is None else float(step))


def _parse_when(when: Any, where: str, fail: Fail) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """Syntax only: {param: value-or-list, ...}. Which params it may name is checked by the space."""
    if when is None:
        return ()
    if not isinstance(when, dict) or not when:
        fail(where, f"must be a mapping {{param: [values...]}}, got {when!r}.")
    conditions = []
    for ref, allowed in when.items():
        values = allowed if isinstance(allowed, list) else [allowed]
        if not values:
            fail(f"{where}.{ref}", "lists no values, so it never holds; list the values that enable the parameter.")
        conditions.append((str(ref), tuple(values)))
    return tuple(conditions)
