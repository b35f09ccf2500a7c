"""The Pareto front of a multi-objective study as a PNG (`qnas studies plot NAME --out PNG`)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import optuna

from qnas.errors import QnasError


def plot_pareto(study: optuna.Study, out: str | os.PathLike[str]) -> Path:
    """Draw every finished trial by its objectives (the first three), Pareto-optimal ones highlighted."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display is needed or assumed
    import matplotlib.pyplot as plt
    from optuna.visualization.matplotlib import plot_pareto_front

    n = len(study.directions)
    if n < 2:
        raise QnasError(
            f"study {study.study_name!r} has one objective, so it has no Pareto front; run a search with "
            "--objectives, e.g. --objectives noisy_score,two_qubit_gates,shots."
        )
    if not study.best_trials:
        raise QnasError(f"study {study.study_name!r} has no finished trial yet; run `qnas search` on it first.")
    names = study.user_attrs.get("objectives") or [f"objective {i}" for i in range(n)]
    shown = min(n, 3)  # optuna draws 2 or 3 objectives
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # stable since optuna 2.8
        axes = plot_pareto_front(study, targets=lambda t: tuple(t.values[:shown]), target_names=list(names[:shown]))
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        axes.figure.savefig(path, dpi=100, bbox_inches="tight")
    finally:
        plt.close(axes.figure)
    return path
