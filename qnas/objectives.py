"""Objectives of a multi-objective search (`qnas search --objectives noisy_score,two_qubit_gates,shots`).

Each objective reads one number from a trial's metrics and has a fixed direction, except the two
scores, which follow the task's metric (accuracy and fidelity up, energy error down):

- ``noisy_score``: the task score on the search's device (the noisy one with ``--device noisy``);
- ``ideal_score``: the task score on the ideal simulator;
- ``noise_gap``: ideal score minus noisy score (minimized);
- ``two_qubit_gates``: after routing onto the device's coupling map when it has one (minimized);
- ``shots``: shots per circuit evaluation (minimized). An analytic (shots = null) candidate counts
  as `ANALYTIC_SHOTS`, the most a spec allows, since hardware cannot give exact expectations;
- ``n_params``, ``depth`` (minimized).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qnas.errors import QnasError, not_allowed

ANALYTIC_SHOTS = 10_000_000
"""What an analytic candidate's shots count as (CalibrationSpec's upper bound on shots)."""
ANALYTIC_LABEL = "analytic"
"""How tables and plots show `ANALYTIC_SHOTS`."""

OBJECTIVE_NAMES = ("noisy_score", "ideal_score", "noise_gap", "two_qubit_gates", "shots", "n_params", "depth")


@dataclass(frozen=True)
class Objective:
    """One objective: its name, the metric it reads, and whether larger is better."""

    name: str
    metric: str
    direction: str

    def value(self, metrics: dict[str, float]) -> float:
        if self.name == "shots":
            return float(metrics.get("shots") or ANALYTIC_SHOTS)
        if self.name == "ideal_score":
            return float(metrics.get(self.metric, metrics[self.metric.removeprefix("ideal_")]))
        if self.name == "two_qubit_gates":
            return float(metrics.get("two_qubit_gates_routed", metrics["two_qubit_gates"]))
        if self.name == "noise_gap":
            return float(metrics.get("noise_gap", 0.0))
        return float(metrics[self.metric])


def parse_objectives(text: str | list[str] | tuple[str, ...], task: Any) -> tuple[Objective, ...]:
    """Objectives from 'a,b,c' (or a list), directions set from `task` for the scores."""
    names = [n.strip() for n in text.split(",")] if isinstance(text, str) else list(text)
    if len(names) < 2:
        raise QnasError(
            f"--objectives {','.join(names)!r} names {len(names)} objective; a multi-objective search needs at least "
            "two, e.g. --objectives noisy_score,two_qubit_gates,shots."
        )
    if len(set(names)) != len(names):
        raise QnasError(f"--objectives {','.join(names)!r} repeats an objective; name each once.")
    score = "val_accuracy" if task.kind == "classification" else task.metric
    objectives = []
    for name in names:
        if name not in OBJECTIVE_NAMES:
            raise QnasError(not_allowed("objective", name, OBJECTIVE_NAMES))
        if name == "noisy_score":
            objectives.append(Objective(name, score, task.direction))
        elif name == "ideal_score":
            objectives.append(Objective(name, f"ideal_{score}", task.direction))
        else:
            objectives.append(Objective(name, name, "minimize"))
    return tuple(objectives)


def is_analytic_shots(name: str, value: float) -> bool:
    """Whether objective `name`'s `value` is an analytic candidate's stand-in (`ANALYTIC_SHOTS`), not
    a shot count: tables and plots show it as "analytic", never as 10^7 shots."""
    return name == "shots" and value >= ANALYTIC_SHOTS


def objective_values(objectives: tuple[Objective, ...], metrics: dict[str, float]) -> list[float]:
    """The values Optuna is told for one finished trial, in objective order."""
    return [objective.value(metrics) for objective in objectives]


