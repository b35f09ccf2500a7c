"""`qnas scan`: one search per point of a task family, each starting from the points before it.

Why: a potential-energy curve is 10 or more ground-state searches of nearly the same molecule.
Searched one by one, each starts blind. Here each point is its own study (`PREFIX-KEY=VALUE`,
inspected like any other), and its search starts from the best trial of the point before:
enqueued as its first trial (Optuna samplers) or placed first in every episode (`adapt`,
`qnas.warm_start`). An RL agent trained for the first point proposes for the others
(`--agent rl|hybrid` without `--policy`): its training is paid once. The curve comes out as a
table (`scan.csv`) and a plot (`scan.png`): the exact and the reference (Hartree-Fock) energy, the
best found, and its error on a log axis against chemical accuracy.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import optuna

from qnas.errors import QnasError
from qnas.search import SearchConfig, run_search
from qnas.storage import default_artifact_dir
from qnas.study import load_study
from qnas.tasks import make_task
from qnas.warm_start import WarmStart

COLD_AGENTS = ("beam", "shared")
"""Proposers that start every search their own way and take no warm start."""
CSV_FILE = "scan.csv"
PLOT_FILE = "scan.png"


@dataclass(frozen=True)
class ScanPoint:
    """One point of the curve: its study, its best trial, and what that trial's search cost."""

    value: Any
    study: str
    best_trial: int | None
    energy: float | None
    energy_error: float | None
    exact_energy: float
    reference_energy: float
    two_qubit_gates: int | None
    trials: int
    full_evaluations: int
    """Circuits whose angles were optimized: a screening proposer's episode steps, else one per trial."""
    warm_start: str | None


def check_scan(base: SearchConfig, key: str, values: Sequence[Any]) -> None:
    """Refuse a scan that cannot run, before any study is written."""
    if base.task is None:
        raise QnasError("qnas scan needs --task: the family's fixed task arguments, e.g. --task lih.")
    if not isinstance(values, list) or len(values) < 2:
        raise QnasError(
            f"--scan-arg {key}={values!r} must give a JSON list of at least 2 values, e.g. --scan-arg 'bond_length=[0.8,1.2,1.6]'."
        )
    if base.resume or base.objectives:
        raise QnasError("qnas scan runs new single-objective searches: drop --resume and --objectives.")
    if base.agent in COLD_AGENTS:
        raise QnasError(
            f"qnas scan starts each point from the best circuit of the one before, which --agent {base.agent} cannot "
            "take; scan with --agent adapt (the default for molecules), optuna, random, rl or hybrid."
        )
    for value in values:
        task = make_task({**base.task, key: value})  # a bad value fails here, naming the argument, before any search
        if task.kind != "vqe":
            raise QnasError(
                f"qnas scan draws energy curves: task {task.name!r} is {task.kind}, not a ground-state (vqe) task."
            )


def run_scan(base: SearchConfig, key: str, values: Sequence[Any], prefix: str, out: Path) -> list[ScanPoint]:
    """Search each point in order into its own study; write the table and the plot into `out`."""
    check_scan(base, key, values)
    points: list[ScanPoint] = []
    warm: WarmStart | None = None
    policy = base.policy
    for value in values:
        task_config = {**base.task, key: value}
        study_name = f"{prefix}-{key}={value}"
        config = replace(base, task=task_config, study=study_name, warm_start=warm, policy=policy)
        outcome = run_search(config)
        study = load_study(outcome.storage, study_name)
        best = _best(study)
        points.append(_point(value, study, best, task_config, warm))
        warm = WarmStart.from_trial(study_name, best) if best is not None else warm
        if config.agent in ("rl", "hybrid") and policy is None:  # trained for this point: propose with it from now on
            artifacts = Path(config.artifact_dir) if config.artifact_dir else default_artifact_dir(config.storage)
            policy = str(artifacts / "agents" / study_name)
    out.mkdir(parents=True, exist_ok=True)
    write_table(points, out / CSV_FILE)
    plot_curve(points, key, out / PLOT_FILE)
    return points


def _best(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    return min(complete, key=lambda t: t.value) if complete else None


def _point(
    value: Any, study: optuna.Study, best: optuna.trial.FrozenTrial | None, task_config: dict[str, Any],
    warm: WarmStart | None,
) -> ScanPoint:
    from qnas.envs.scoring import CircuitScorer

    task = make_task(task_config)
    reference = CircuitScorer(task, 0, 0.1).reset()["energy"]
    finished = [t for t in study.trials if t.state.is_finished()]
    evaluations = sum(int(t.user_attrs.get("adapt_full_evaluations", 1)) for t in finished)
    metrics = best.user_attrs.get("metrics", {}) if best is not None else {}
    return ScanPoint(
        value=value,
        study=study.study_name,
        best_trial=None if best is None else best.number,
        energy=metrics.get("energy"),
        energy_error=None if best is None else best.value,
        exact_energy=task.exact_energy,
        reference_energy=reference,
        two_qubit_gates=metrics.get("two_qubit_gates"),
        trials=len(finished),
        full_evaluations=evaluations,
        warm_start=None if warm is None else warm.source,
    )


def write_table(points: Sequence[ScanPoint], path: Path) -> None:
    """One row per point, every `ScanPoint` field."""
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(asdict(points[0])))
        writer.writeheader()
        writer.writerows(asdict(point) for point in points)


def plot_curve(points: Sequence[ScanPoint], key: str, path: Path) -> None:
    """Energies (exact, reference, best found) over the scanned value, and the best error on a log
    axis with the chemical-accuracy line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qnas.envs.scoring import CHEMICAL_ACCURACY

    x = [point.value for point in points]
    found = [(point.value, point.energy) for point in points if point.energy is not None]
    errors = [(point.value, max(point.energy_error, 1e-12)) for point in points if point.energy_error is not None]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 7), sharex=True, height_ratios=(3, 2))
    top.plot(x, [point.exact_energy for point in points], "k-", label="exact")
    top.plot(x, [point.reference_energy for point in points], "--", color="gray", label="reference (Hartree-Fock)")
    if found:
        top.plot(*zip(*found, strict=True), "o", color="tab:blue", label="best found")
    top.set_ylabel("energy (Ha)")
    top.legend()
    if errors:
        bottom.semilogy(*zip(*errors, strict=True), "o-", color="tab:blue", label="best found")
    bottom.axhline(CHEMICAL_ACCURACY, color="tab:red", linestyle=":", label="chemical accuracy (1.6e-3 Ha)")
    bottom.set_ylabel("energy error (Ha)")
    bottom.set_xlabel(key)
    bottom.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
