"""A study as one self-contained HTML page: what was found, how the search got there, what it cost.

`write_report(study, out_dir)` writes ``report.html`` with every figure embedded as a base64 PNG
(no scripts, stylesheets or images fetched from anywhere, so the file can be mailed or archived),
and each figure again as a PNG beside it. Optuna's matplotlib plots draw what they cover
(optimization history, parameter importances); the Pareto front is `qnas.pareto`'s panel per
pair of objectives; the rest (training curve, ideal-versus-noisy scores) are small matplotlib
plots of the trials' user attributes.

Tables fit the page: a candidate's summary wraps only between its tokens, and a column that
repeats an objective's values row for row is left out, with a note naming it.
"""

from __future__ import annotations

import base64
import html
import os
import re
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from qnas.envs.scoring import CHEMICAL_ACCURACY
from qnas.errors import QnasError
from qnas.model_card import format_value

if TYPE_CHECKING:
    from qnas.pareto import ObjectiveScale
from qnas.objectives import ANALYTIC_LABEL, is_analytic_shots
from qnas.wall_time import format_seconds, study_wall_time

REPORT_FILE = "report.html"
TOP_TRIALS = 10
RESOURCE_METRICS = ("n_params", "depth", "two_qubit_gates", "n_gates", "shots", "epochs_run", "train_time_s", "wall_time_s")
"""Metrics that describe cost, not quality; every other metric (minus ideal_*) is a score."""

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; font-size: .9em; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #f3f3f3; } td.text, td.tokens { text-align: left; font-family: monospace; }
td.text { overflow-wrap: anywhere; } td.tokens { overflow-wrap: normal; word-break: normal; }
figure { margin: 1em 0; } figcaption { color: #555; font-size: .9em; }
img { max-width: 100%; border: 1px solid #eee; }
p.note, div.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: .5em 1em; }
"""


HANDLED_WARNINGS = (
    "PedAnovaImportanceEvaluator computes the importances of params to achieve low `target` values. "
    "If this is not what you want, please modify target, e.g., by multiplying the output by -1.",
)
"""Optuna warnings the report has acted on, so they would mislead beside its figures:
`importance_target` already negates maximized objectives."""


def write_report(study: optuna.Study, out_dir: str | os.PathLike[str]) -> Path:
    """Write `out_dir`/report.html and the figures as PNGs beside it; return the report's path.

    A study with no trials raises QnasError; one whose trials all failed gets a report that lists
    the failures instead of figures.
    """
    trials = study.get_trials(deepcopy=False)
    if not trials:
        raise QnasError(
            f"study {study.study_name!r} has no trials yet, so there is nothing to report. "
            f"Run `qnas search --study {study.study_name}` first."
        )
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise QnasError(f"report folder {out} is a file; pass a folder with --out.")
    out.mkdir(parents=True, exist_ok=True)
    report = _Report(study, trials, out)
    path = out / REPORT_FILE
    path.write_text(report.render())
    return path


def objective_names(study: optuna.Study) -> list[str]:
    """Names of the study's objectives: Optuna's metric names, else the qnas metric, else 'objective i'."""
    if study.metric_names:
        return list(study.metric_names)
    declared = study.user_attrs.get("objectives")
    if isinstance(declared, list) and len(declared) == len(study.directions):
        return [str(name) for name in declared]
    if len(study.directions) == 1:
        return [str(study.user_attrs.get("metric", "objective"))]
    return [f"objective {i}" for i in range(len(study.directions))]


def best_trials(study: optuna.Study, complete: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """Single objective: finished trials best first. Several: the Pareto front, by the first objective."""
    if len(study.directions) > 1:
        front = study.best_trials
        reverse = study.directions[0] == optuna.study.StudyDirection.MAXIMIZE
        return sorted(front, key=lambda t: t.values[0], reverse=reverse)
    reverse = study.direction == optuna.study.StudyDirection.MAXIMIZE
    return sorted(complete, key=lambda t: t.value, reverse=reverse)


def score_keys(trials: Sequence[FrozenTrial]) -> list[str]:
    """Metric names that measure quality (not cost), in first-seen order."""
    keys: dict[str, None] = {}
    for trial in trials:
        for key in trial.user_attrs.get("metrics", {}):
            if key not in RESOURCE_METRICS and not key.startswith("ideal_"):
                keys[key] = None
    return list(keys)


TOKEN_BREAK = re.compile(r"(?<=\S)([|,+:/])(?=\S)")
"""Separators inside a candidate summary's tokens (`RX+RY/full:CRZ|RY`, `zne=1,3`) and a proposer's
name (`optuna:tpe`): a line may break after one, and nowhere else inside a token."""
NAME_BREAK = re.compile(r"(?<=[^\s_])(_)(?=[^\s_])")
"""Underscores of metric names in headers (`two_qubit_gates`): a header may break after one."""


def _breakable(text: str, separators: re.Pattern[str]) -> str:
    """`text` as HTML that may wrap after each separator (and at spaces), never inside a word."""
    return separators.sub(r"\1<wbr>", html.escape(text))


def _table(
    header: Sequence[str], rows: Sequence[Sequence[Any]], text_columns: Sequence[int] = (),
    token_columns: Sequence[int] = (),
) -> str:
    """An HTML table that fits the page. Text columns wrap anywhere (free text such as failure
    reasons); token columns (candidate summaries, proposer names) wrap only at spaces and after
    `TOKEN_BREAK` separators; headers also after underscores."""

    def cell(i: int, value: Any) -> str:
        if i in token_columns:
            return f"<td class='tokens'>{_breakable(format_value(value), TOKEN_BREAK)}</td>"
        text = html.escape(format_value(value))
        return f"<td class='text'>{text}</td>" if i in text_columns else f"<td>{text}</td>"

    head = f"<tr>{''.join(f'<th>{_breakable(h, NAME_BREAK)}</th>' for h in header)}</tr>" if any(header) else ""
    body = "".join(f"<tr>{''.join(cell(i, c) for i, c in enumerate(row))}</tr>" for row in rows)
    return f"<table>{head}{body}</table>"


def _repeats(
    objectives: Sequence[tuple[str, list[Any]]], columns: Sequence[tuple[str, list[Any]]]
) -> tuple[list[tuple[str, list[Any]]], list[str]]:
    """`columns` less those whose values equal an objective's in every row (an objective is a
    metric: accuracy is val_accuracy), and a note on each one left out."""
    kept, left_out = [], []
    for label, values in columns:
        same = next((name for name, shown in objectives if shown == values), None)
        if same is None:
            kept.append((label, values))
        else:
            left_out.append(f"{label} (the same as {same} in every row)")
    return kept, left_out


def exact_energy(trials: Sequence[FrozenTrial]) -> float | None:
    """The exact ground energy a VQE study's trials were scored against (energy minus its error)."""
    for trial in trials:
        metrics = trial.user_attrs.get("metrics", {})
        if "energy" in metrics and "energy_error" in metrics:
            return float(metrics["energy"] - metrics["energy_error"])
    return None


def history_axes(study: optuna.Study, index: int, name: str, scale: ObjectiveScale | None = None) -> Any:
    """Optuna's optimization history of objective `index`; energy errors on a log axis with the
    chemical-accuracy line, since they span decades (0.6 down to 1e-4 Ha) and the line is what a
    chemist reads them against. With `scale` (one of several objectives), values are placed and the
    axis labeled as the Pareto panels do: analytic shots at an 'analytic' tick, not at 10^7."""
    from optuna.visualization.matplotlib import plot_optimization_history

    target = None if scale is None else (lambda trial: scale.position(trial.values[index]))
    with warnings.catch_warnings():  # experimental in Optuna since 2.2, as every matplotlib plot there
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        ax = plot_optimization_history(study, target=target, target_name=name)
    if scale is not None and scale.analytic_at is not None:
        scale.dress(ax.yaxis, ax.axhline)
    if name == "energy_error":
        ax.set_yscale("log")
        ax.axhline(CHEMICAL_ACCURACY, color="tab:red", linestyle=":", label="chemical accuracy (1.6e-3 Ha)")
        ax.legend()
    return ax


def importance_target(study: optuna.Study, index: int) -> Callable[[optuna.trial.FrozenTrial], float]:
    """Objective `index` as Optuna's PED-ANOVA evaluator reads a custom target: lower is better, so
    a maximized objective is negated, or its panel would rank what makes the objective low."""
    sign = -1.0 if study.directions[index] == optuna.study.StudyDirection.MAXIMIZE else 1.0
    return lambda trial: sign * trial.values[index]


def _note(text: str) -> str:
    return f"<p class='note'>{html.escape(text)}</p>"


class _Report:
    """Builds the page section by section; figures are written as PNGs while it goes."""

    def __init__(self, study: optuna.Study, trials: list[FrozenTrial], out: Path) -> None:
        self.study, self.trials, self.out = study, trials, out
        self.names = objective_names(study)
        self.complete = [t for t in trials if t.state == TrialState.COMPLETE]
        self.best = best_trials(study, self.complete) if self.complete else []

    def render(self) -> str:
        sections = [("Summary", self.summary())]
        if self.best:
            has_baseline = any(t.user_attrs.get("baseline") for t in self.best)
            sections += [
                ("Best trials beside their classical baselines" if has_baseline else "Best trials", self.best_table()),
                ("Optimization history", self.history()),
                ("Parameter importances", self.importances()),
            ]
            if len(self.study.directions) > 1:
                sections.append(("Pareto front", self.pareto()))
            sections += [
                ("Ideal versus noisy scores", self.noise_gap()),
                ("Best circuit and its training curve", self.best_circuit()),
            ]
        else:
            sections.append(("No finished trial", _note(
                f"None of the {len(self.trials)} trials finished, so there is nothing to plot; the failures below "
                "say why. Fix the cause and run `qnas search` again."
            )))
        sections.append(("Proposers compared", self.proposers()))
        failed = [t for t in self.trials if t.state == TrialState.FAIL]
        if failed:
            sections.append(("Failed trials", self.failures(failed)))
        body = "".join(f"<h2>{html.escape(title)}</h2>{content}" for title, content in sections)
        title = f"qnas report: study {self.study.study_name}"
        created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p>Written {created} by qnas.</p>{body}</body></html>\n"
        )

    # --- sections --------------------------------------------------------------------------------

    def summary(self) -> str:
        attrs = self.study.user_attrs
        counts = {state: sum(t.state == state for t in self.trials) for state in TrialState}
        directions = ", ".join(
            f"{name} ({d.name.lower()})" for name, d in zip(self.names, self.study.directions, strict=True)
        )
        task = attrs.get("task", {})
        rows = [
            ("task", f"{task.get('name', '?')} {_options(task)}".strip()),
            ("search space", attrs.get("space", "?")),
            ("objectives", directions),
            ("scoring device", (attrs.get("device") or {}).get("name", "default.qubit")),
            ("trials", ", ".join(f"{counts[s]} {s.name.lower()}" for s in TrialState if counts[s])),
            ("proposers", ", ".join(sorted({t.user_attrs.get("proposer", "unknown") for t in self.trials}))),
            ("wall time", study_wall_time(self.study).describe()),
        ]
        exact = exact_energy(self.complete)
        if exact is not None:
            rows += [("exact ground energy", f"{exact:.6f}"),
                     ("chemical accuracy", f"energy error at most {CHEMICAL_ACCURACY:g} Ha")]
        return _table(("", ""), rows, text_columns=(0, 1))

    def best_table(self) -> str:
        shown = self.best[:TOP_TRIALS]
        metrics = [t.user_attrs.get("metrics", {}) for t in shown]
        baselines = [t.user_attrs.get("baseline") or {} for t in shown]
        has_baseline = any(baselines)
        scores = [k for k in score_keys(shown) if k not in self.names]  # the objective columns show those
        objectives = [(name, [t.values[i] for t in shown]) for i, name in enumerate(self.names)]
        own, left_out = _repeats(objectives, [(k, [m.get(k) for m in metrics]) for k in scores])
        sizes = [("depth", [m.get("depth") for m in metrics]), ("2q gates", [m.get("two_qubit_gates") for m in metrics])]
        if has_baseline:
            pairs = zip(metrics, baselines, strict=True)
            size = ("params (baseline)", [f"{format_value(m.get('n_params'))} ({format_value(b.get('n_params'))})" for m, b in pairs])
        else:
            size = ("params", [m.get("n_params") for m in metrics])
        sizes, left_out_sizes = _repeats(objectives, [size, *sizes])
        columns = [
            ("trial", [t.number for t in shown]),
            *((name, [ANALYTIC_LABEL if is_analytic_shots(name, v) else v for v in values]) for name, values in objectives),
            *own,
            *((f"baseline {k}", [b.get(k) for b in baselines]) for k in scores if any(k in b for b in baselines)),
            *sizes,
            ("proposer", [t.user_attrs.get("proposer", "-") for t in shown]),
            ("candidate", [_spec_summary(t.user_attrs.get("spec")) for t in shown]),
        ]
        left_out += left_out_sizes
        which = "the Pareto-optimal trials" if len(self.study.directions) > 1 else f"the best {len(shown)} trials"
        baseline_note = (" The baseline is a classical model of similar size trained on the same split."
                         if has_baseline else " This task has no classical baseline.")
        repeated = f" Not shown again: {'; '.join(left_out)}." if left_out else ""
        intro = f"<p>{which[0].upper()}{which[1:]} of {len(self.complete)} finished.{baseline_note}{repeated}</p>"
        rows = list(zip(*(values for _, values in columns), strict=True))
        return intro + _table([label for label, _ in columns], rows, token_columns=(len(columns) - 2, len(columns) - 1))

    def history(self) -> str:
        from qnas.pareto import ObjectiveScale

        parts = []
        for i, name in enumerate(self.names):
            scale = None
            if len(self.names) > 1:  # Optuna draws no best-so-far line for one of several objectives
                scale = ObjectiveScale.of(name, self.study.directions[i], [t.values[i] for t in self.complete])
            caption = f"{name} of each finished trial" + (" and the best so far" if scale is None else "")
            if name == "energy_error":
                caption += " (log scale; the dotted line is chemical accuracy)"
            elif scale is not None and scale.analytic_at is not None:
                caption += " (analytic candidates, with no shots, at the 'analytic' tick)"
            parts.append(self.figure(
                f"optimization_history_{i}" if len(self.names) > 1 else "optimization_history",
                lambda i=i, name=name, scale=scale: history_axes(self.study, i, name, scale), caption + ".",
            ))
        return "".join(parts)

    def importances(self) -> str:
        from optuna.visualization.matplotlib import plot_param_importances

        if len(self.complete) < 2:
            return _note("Parameter importances need at least two finished trials.")
        parts = []
        for i, name in enumerate(self.names):
            target = None if len(self.names) == 1 else importance_target(self.study, i)
            parts.append(self.figure(
                f"param_importances_{i}" if len(self.names) > 1 else "param_importances",
                lambda target=target, name=name: plot_param_importances(self.study, target=target, target_name=name),
                f"How much each searched parameter explains {name} (Optuna's default evaluator, over the parameters "
                "every finished trial has)."
                + self._importance_direction(i),
            ))
        return "".join(parts)

    def _importance_direction(self, index: int) -> str:
        """What a multi-objective panel ranks for (Optuna's evaluator ranks for low values)."""
        if len(self.names) == 1:
            return ""
        name = self.names[index]
        if self.study.directions[index] == optuna.study.StudyDirection.MAXIMIZE:
            return f" Ranked for high {name}: negated for the evaluator, which ranks for low values."
        return f" Ranked for low {name}."

    def pareto(self) -> str:
        from qnas.pareto import pareto_axes

        caption = ("Finished trials by each pair of objectives, numbered; highlighted ones are Pareto-optimal over all "
                   f"{len(self.names)} objectives.")
        if "shots" in self.names:
            caption += " Analytic candidates (exact expectation values, no shots) sit at the shots axis's 'analytic' end."
        return self.figure("pareto_front", lambda: pareto_axes(self.study), caption)

    def noise_gap(self) -> str:
        rows, points = [], []
        for trial in self.complete:
            metrics = trial.user_attrs.get("metrics", {})
            for key in score_keys([trial]):
                if f"ideal_{key}" in metrics:
                    ideal, scored = metrics[f"ideal_{key}"], metrics[key]
                    rows.append((trial.number, key, scored, ideal, ideal - scored))
                    points.append((trial.number, key, ideal, scored))
        if not rows:
            return _note("Scored on the ideal simulator only: no trial was scored on a noisy device or with finite "
                         "shots, so there is no gap to show. Search with --device to score on a noisy one.")
        device = (self.study.user_attrs.get("device") or {}).get("name", "the scoring device")
        text = (f"<p>Each model was trained on the ideal simulator, then scored on {html.escape(device)} "
                "(or with its finite shots). Gap = ideal minus scored.</p>")
        figure = self.figure("noise_gap", lambda: _gap_plot(points), "Scored versus ideal, per trial and metric; "
                             "points on the diagonal lost nothing to noise.")
        return text + figure + _table(("trial", "metric", "scored", "ideal", "gap"), rows, text_columns=(1,))

    def best_circuit(self) -> str:
        from qnas.circuits import draw_circuit
        from qnas.trial_model import load_trial_model

        best = self.best[0]
        spec = best.user_attrs.get("spec")
        parts = [f"<p>Trial {best.number}: <code>{html.escape(_spec_summary(spec))}</code></p>"]
        try:
            model, first_input = load_trial_model(self.study, best)
            png = self.out / "best_circuit.png"
            draw_circuit(model, first_input, png)
            caption = "The trained circuit" + (" for the first test row." if first_input is not None else ".")
            parts.append(_img(png, caption))
        except (QnasError, OSError) as exc:
            parts.append(_note(f"The circuit of trial {best.number} cannot be drawn: {exc}"))
        history = best.user_attrs.get("history")
        if history:
            label = "validation accuracy" if self.study.user_attrs.get("metric") == "accuracy" else self.names[0]
            parts.append(self.figure(
                "training_curve", lambda: _curve_plot(history, label), f"{label} after each epoch of trial {best.number}."
            ))
        else:
            parts.append(_note(f"Trial {best.number} recorded no training curve."))
        return "".join(parts)

    def proposers(self) -> str:
        direction = self.study.directions[0]
        groups: dict[str, list[FrozenTrial]] = {}
        for trial in self.trials:
            groups.setdefault(trial.user_attrs.get("proposer", "unknown"), []).append(trial)
        rows = []
        for proposer, trials in sorted(groups.items()):
            values = [t.values[0] for t in trials if t.state == TrialState.COMPLETE]
            best = (max if direction == optuna.study.StudyDirection.MAXIMIZE else min)(values) if values else None
            states = [t.state for t in trials]
            evaluated = sum(t.user_attrs.get("metrics", {}).get("wall_time_s", 0.0) for t in trials)
            rows.append((proposer, len(trials), states.count(TrialState.COMPLETE), states.count(TrialState.PRUNED),
                         states.count(TrialState.FAIL), best, format_seconds(evaluated)))
        header = ("proposer", "trials", "complete", "pruned", "failed", f"best {self.names[0]}", "evaluation time")
        table = _table(header, rows, token_columns=(0,))
        table += ("<p>Evaluation time: the seconds workers spent on the proposer's trials, added up (the search's wall "
                  "time is in the summary).</p>")
        if len(groups) < 2:
            return table + "<p>One proposer ran this study; compare proposers across studies with " \
                           "<code>qnas studies compare A B</code>.</p>"
        return table + self.figure("proposers", lambda: _proposer_plot(groups, self.names[0]),
                                   f"{self.names[0]} of each finished trial, by proposer.")

    def failures(self, failed: list[FrozenTrial]) -> str:
        rows = [(t.number, t.user_attrs.get("proposer", "-"), (t.user_attrs.get("fail_reason") or "-")[:300])
                for t in failed]
        return _table(("trial", "proposer", "reason"), rows, text_columns=(2,), token_columns=(1,))

    # --- figures ---------------------------------------------------------------------------------

    def figure(self, name: str, draw: Callable[[], Any], caption: str) -> str:
        """Run `draw` (returns Axes or an array of them), save its figure as NAME.png, embed it."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                drawn = draw()
        except (ValueError, RuntimeError) as exc:  # e.g. importances of parameters that never varied
            plt.close("all")
            return _note(f"{name.replace('_', ' ')} cannot be drawn for this study: {exc}")
        axes = drawn.flat[0] if hasattr(drawn, "flat") else drawn
        fig = axes.figure
        try:
            fig.set_size_inches(8, max(fig.get_size_inches()[1], 4.5))
            fig.tight_layout()
            path = self.out / f"{name}.png"
            fig.savefig(path, dpi=100)
        finally:
            plt.close(fig)
        # Optuna warns when a plot rests on few trials; the reader should see that beside the plot.
        cautions = sorted({str(w.message) for w in caught if issubclass(w.category, UserWarning)} - set(HANDLED_WARNINGS))
        if not cautions:
            return _img(path, caption)
        items = "".join(f"<li>{html.escape(c)}</li>" for c in cautions)
        return _img(path, caption) + f"<div class='note'>Optuna warned while drawing this:<ul>{items}</ul></div>"


def _img(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f"<figure><img alt='{html.escape(path.stem)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{html.escape(caption)} ({html.escape(path.name)})</figcaption></figure>")


def _gap_plot(points: list[tuple[int, str, float, float]]) -> Any:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    for index, key in enumerate(dict.fromkeys(p[1] for p in points)):
        xs = [p[2] for p in points if p[1] == key]
        ys = [p[3] for p in points if p[1] == key]
        ax.scatter(xs, ys, label=key, marker="ox^sv"[index % 5], s=60 - 15 * (index % 3))  # overlaps stay visible
        for number, _, x, y in (p for p in points if p[1] == key):
            ax.annotate(str(number), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    low = min(min(p[2], p[3]) for p in points)
    high = max(max(p[2], p[3]) for p in points)
    ax.plot([low, high], [low, high], color="grey", linestyle="--", linewidth=1, label="no gap")
    ax.set(xlabel="ideal simulator", ylabel="scored (noisy device or finite shots)", title="Ideal versus scored")
    ax.legend()
    return ax


def _curve_plot(history: list[float], label: str) -> Any:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots()
    ax.plot(range(1, len(history) + 1), history, marker="." if len(history) < 60 else None)
    if label == "energy_error" and min(history) > 0:
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="epoch", ylabel=label, title="Training curve of the best trial")
    ax.grid(alpha=0.3)
    return ax


def _proposer_plot(groups: dict[str, list[FrozenTrial]], name: str) -> Any:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    for proposer, trials in sorted(groups.items()):
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        ax.scatter([t.number for t in done], [t.values[0] for t in done], label=proposer)
    ax.set(xlabel="trial", ylabel=name, title="Trials by proposer")
    ax.legend()
    return ax


def _options(task: dict[str, Any]) -> str:
    options = ", ".join(f"{k}={v}" for k, v in sorted(task.items()) if k != "name")
    return f"({options})" if options else ""


def _spec_summary(spec: Any) -> str:
    from qnas.spec import CandidateSpec

    return CandidateSpec.from_dict(spec).summary() if spec else "-"
