"""A qnas study read through plain Optuna: its objectives carry their names, and
`optuna.visualization` (plotly, installed with qnas) labels its plots with them (issue 22, point 4)."""

from __future__ import annotations

import optuna
import optuna.visualization as vis

from qnas.search import SearchConfig, run_search
from tests.conftest import SMALL_MOONS


def test_plain_optuna_sees_the_metric_names_and_plots_with_them(storage: str) -> None:
    run_search(SearchConfig(task=SMALL_MOONS, trials=2, workers=0, storage=storage, study="single"))
    study = optuna.load_study(study_name="single", storage=storage)
    assert study.metric_names == ["accuracy"]
    figure = vis.plot_optimization_history(study, target_name=study.metric_names[0])
    assert figure.layout.yaxis.title.text == "accuracy"  # plotly is there: the figure was drawn

    run_search(SearchConfig(task={"name": "bell"}, trials=2, workers=0, storage=storage, study="pareto",
                            objectives=("noisy_score", "two_qubit_gates")))
    study = optuna.load_study(study_name="pareto", storage=storage)
    assert study.metric_names == ["noisy_score", "two_qubit_gates"]
    front = vis.plot_pareto_front(study)
    assert (front.layout.xaxis.title.text, front.layout.yaxis.title.text) == ("noisy_score", "two_qubit_gates")
