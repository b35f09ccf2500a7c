"""Study reports, study comparison, dashboard notes and export formats, on studies from real searches."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import optuna
import pennylane as qml
import pytest
import torch
from rich.console import Console

from qnas.circuits import make_qnode, representative_inputs
from qnas.cli import main
from qnas.errors import ExportError, QnasError
from qnas.export import MANIFEST, MODEL_CARD, QASM3, load, pack_archive, verify_export
from qnas.openqasm import to_openqasm3
from qnas.report import write_report
from qnas.search import SearchConfig, run_search
from qnas.spec import CandidateSpec, EncodingSpec, LayerSpec
from qnas.study_compare import compare_table, load_studies
from qnas.study_tables import best_trials_table
from tests.conftest import FRONT_OBJECTIVES, FRONT_SPACE, SMALL_MOONS, TINY_SPACE

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def storage(tmp_path_factory) -> str:
    """One SQLite file with four studies from real searches: ideal, finite-shot scoring, all failed,
    and `front`, three objectives over analytic and finite-shot candidates."""
    root = tmp_path_factory.mktemp("studies")
    url = f"sqlite:///{root / 'studies.db'}"
    spaces = {
        "ideal": TINY_SPACE,
        "shots": TINY_SPACE.replace("  epochs: 4\n", "  epochs: 4\n  shots: 300\n"),
        "failing": TINY_SPACE.replace("  n_qubits: 2\n", "  n_qubits: 29\n"),  # too big to simulate
    }
    for name, text in spaces.items():
        path = root / f"{name}.yaml"
        path.write_text(text)
        run_search(SearchConfig(space=str(path), task=SMALL_MOONS, trials=3, workers=0, storage=url, study=name))
    front = root / "front.yaml"
    front.write_text(FRONT_SPACE)
    run_search(SearchConfig(space=str(front), task=SMALL_MOONS, trials=4, workers=0, storage=url, study="front",
                            objectives=FRONT_OBJECTIVES))
    return url


def _study(storage: str, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=storage)


def _embedded_pngs(page: str) -> list[bytes]:
    return [base64.b64decode(data) for data in re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)]


def test_report_is_self_contained_with_every_section(storage: str, tmp_path: Path) -> None:
    path = write_report(_study(storage, "ideal"), tmp_path / "report")
    page = path.read_text()
    for title in ("Best trials beside their classical baselines", "Optimization history", "Parameter importances",
                  "Ideal versus noisy scores", "Best circuit and its training curve", "Proposers compared"):
        assert f"<h2>{title}</h2>" in page
    assert "Pareto front" not in page  # one objective
    assert "Scored on the ideal simulator only" in page
    assert "baseline test_accuracy" in page.replace("<wbr>", "") and "optuna:tpe" in page.replace("<wbr>", "")
    # Self-contained: no script, stylesheet link or remote image; every figure is embedded and also on disk.
    assert "<script" not in page and "<link" not in page and "http://" not in page and "https://" not in page
    embedded = _embedded_pngs(page)
    on_disk = sorted(p.name for p in path.parent.glob("*.png"))
    assert on_disk == sorted(["optimization_history.png", "param_importances.png", "best_circuit.png",
                              "training_curve.png"])
    assert len(embedded) == len(on_disk)
    assert sorted(embedded) == sorted((path.parent / name).read_bytes() for name in on_disk)
    assert all(png.startswith(PNG_MAGIC) and len(png) > 5000 for png in embedded)


def test_report_shows_the_gap_between_ideal_and_finite_shot_scores(storage: str, tmp_path: Path) -> None:
    study = _study(storage, "shots")
    trial = study.best_trial
    metrics = trial.user_attrs["metrics"]
    page = write_report(study, tmp_path).read_text()
    assert "ideal simulator only" not in page and (tmp_path / "noise_gap.png").is_file()
    gap = metrics["ideal_val_accuracy"] - metrics["val_accuracy"]
    row = f"<td>{trial.number}</td><td class='text'>val_accuracy</td><td>{metrics['val_accuracy']:.4g}</td>"
    assert row in page and f"<td>{gap:.4g}</td>" in page


def test_the_cli_table_shows_the_finite_shot_gap_without_an_empty_routing_column(storage: str) -> None:
    """Shots on the ideal simulator give an ideal score and a gap, but nothing is routed: no column of '-'."""

    console = Console(width=400, record=True)
    console.print(best_trials_table(_study(storage, "shots")))
    text = console.export_text()
    assert "ideal val acc" in text and "noise gap" in text and "2q routed" not in text


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")  # set_metric_names
def test_report_of_a_multi_objective_study_draws_the_pareto_front(storage: str, tmp_path: Path) -> None:
    """A two-objective study (accuracy up, parameters down) holding the real trials of the search."""
    source = _study(storage, "ideal")
    study = optuna.create_study(study_name="pareto", storage=storage, directions=["maximize", "minimize"])
    study.set_metric_names(["accuracy", "n_params"])
    for key, value in source.user_attrs.items():
        study.set_user_attr(key, value)
    for trial in source.get_trials(states=[optuna.trial.TrialState.COMPLETE]):
        study.add_trial(optuna.trial.create_trial(
            params=trial.params, distributions=trial.distributions, user_attrs=trial.user_attrs,
            values=[trial.value, trial.user_attrs["metrics"]["n_params"]],
        ))
    page = write_report(study, tmp_path).read_text()
    assert "<h2>Pareto front</h2>" in page and "The Pareto-optimal trials of 3 finished" in page
    # each importance panel says which way it ranks; Optuna's reminder to negate, already done, is not shown
    assert "Ranked for high accuracy: negated for the evaluator" in page and "Ranked for low n_params." in page
    assert "PedAnovaImportanceEvaluator computes" not in page
    for name in ("pareto_front", "optimization_history_0", "optimization_history_1"):
        assert (tmp_path / f"{name}.png").read_bytes().startswith(PNG_MAGIC)


def _best_table(page: str) -> tuple[list[str], list[list[str]]]:
    """The best-trials table of a report: its header and rows, as the reader sees them."""
    section = page.split("<h2>Best trials", 1)[1].split("<h2>", 1)[0]
    table = re.search(r"<table>(.*?)</table>", section, re.S).group(1)
    rows = [[html.unescape(re.sub(r"<[^>]+>", "", cell)) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", table)]
    return rows[0], rows[1:]


@pytest.mark.parametrize(("name", "left_out"), [
    ("ideal", ["val_accuracy (the same as accuracy in every row)"]),
    ("front", ["val_accuracy (the same as noisy_score in every row)", "2q gates (the same as two_qubit_gates in every row)"]),
])
def test_best_trials_table_shows_no_column_twice(storage: str, tmp_path: Path, name: str, left_out: list[str]) -> None:
    """A column that repeats an objective row for row (an objective reads a metric) is left out, and the note says so."""
    study = _study(storage, name)
    page = write_report(study, tmp_path).read_text()
    header, rows = _best_table(page)
    columns = dict(zip(header, zip(*rows, strict=True), strict=True))
    objectives = [columns[n] for n in study.metric_names]
    own = [h for h in header if h not in ("trial", "proposer", "candidate", *study.metric_names) and not h.startswith("baseline")]
    assert own and not [h for h in own if columns[h] in objectives], header
    assert f"Not shown again: {'; '.join(left_out)}." in page
    # The candidate column may wrap only between tokens: <wbr> after separators, and CSS that breaks no word.
    candidate = re.findall(r"<td class='tokens'>([^<]*(?:<wbr>[^<]*)*)</td>", page)
    assert any("<wbr>" in cell for cell in candidate) and "td.tokens { overflow-wrap: normal; word-break: normal; }" in page
    assert {before for cell in candidate for before in re.findall(r"(.)<wbr>", cell)} <= set("|,+:/")


def test_pareto_front_is_a_labeled_panel_per_objective_pair(storage: str, tmp_path: Path) -> None:
    """Three objectives: three 2-D panels, axes named with their direction, every trial numbered, the
    front in red, and analytic shots at a tick of their own, not at 10^7."""
    import matplotlib.pyplot as plt

    from qnas.objectives import ANALYTIC_SHOTS
    from qnas.pareto import pareto_axes

    study = _study(storage, "front")
    done = study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
    shots = {t.number: t.values[2] for t in done}
    analytic = {n for n, v in shots.items() if v == ANALYTIC_SHOTS}
    assert analytic and len(analytic) < len(done)  # the search drew both kinds, so both are drawn
    front = {t.number for t in study.best_trials}
    axes = pareto_axes(study)
    try:
        panels = [ax for ax in axes.flat if ax.axison]
        assert sorted((ax.get_xlabel(), ax.get_ylabel()) for ax in panels) == [
            ("noisy_score (maximize)", "shots (minimize)"),
            ("noisy_score (maximize)", "two_qubit_gates (minimize)"),
            ("two_qubit_gates (minimize)", "shots (minimize)"),
        ]
        for ax in panels:
            labeled = {int(n): text for text in ax.texts for n in text.get_text().split(",")}
            assert sorted(labeled) == sorted(t.number for t in done)
            assert {n for n, text in labeled.items() if text.get_color() == "tab:red"} == front
            if ax.get_ylabel() != "shots (minimize)":
                continue
            ticks = {tick.get_text(): tick.get_position()[1] for tick in ax.get_yticklabels()}
            assert "analytic" in ticks and not any("e+07" in t or "10000000" in t for t in ticks), ticks
            assert {n for n, text in labeled.items() if text.xy[1] == ticks["analytic"]} == analytic
            assert all(text.xy[1] < ticks["analytic"] for n, text in labeled.items() if n not in analytic)
    finally:
        plt.close(axes.flat[0].figure)
    from qnas.pareto import ObjectiveScale
    from qnas.report import history_axes

    scale = ObjectiveScale.of("shots", study.directions[2], list(shots.values()))
    history = history_axes(study, 2, "shots", scale)  # the optimization history places them alike
    try:
        ticks = [tick.get_text() for tick in history.get_yticklabels()]
        assert "analytic" in ticks and not any("e+07" in t or "1e7" in t for t in ticks), ticks
        placed = sorted(float(y) for collection in history.collections for _, y in collection.get_offsets())
        assert placed and max(placed) == scale.analytic_at < ANALYTIC_SHOTS
    finally:
        plt.close(history.figure)
    page = write_report(study, tmp_path).read_text()
    assert "<h2>Pareto front</h2>" in page and "sit at the shots axis's 'analytic' end" in html.unescape(page)
    assert "(analytic candidates, with no shots, at the 'analytic' tick)" in html.unescape(page)
    assert (tmp_path / "pareto_front.png").read_bytes().startswith(PNG_MAGIC)
    header, rows = _best_table(page)
    shown = {int(row[0]): row[header.index("shots")] for row in rows}
    assert shown == {n: "analytic" if n in analytic else f"{shots[n]:.4g}" for n in front}


def test_failed_and_empty_studies_get_a_message_not_a_traceback(storage: str, tmp_path: Path) -> None:
    page = write_report(_study(storage, "failing"), tmp_path).read_text()
    assert "None of the 3 trials finished" in page and "29 qubits" in page
    assert not list(tmp_path.glob("*.png"))
    optuna.create_study(study_name="empty", storage=storage)
    with pytest.raises(QnasError, match=r"study 'empty' has no trials yet.*qnas search --study empty"):
        write_report(_study(storage, "empty"), tmp_path)


def test_report_command(storage: str, tmp_path: Path, capsys) -> None:
    assert main(["report", "--study", "ideal", "--storage", storage, "--out", str(tmp_path / "r")]) == 0
    assert f"wrote {tmp_path / 'r' / 'report.html'}" in capsys.readouterr().out


def test_compare_table_across_studies(storage: str, capsys) -> None:
    console = Console(record=True, width=250)
    console.print(compare_table(load_studies(storage, ["ideal", "failing"])))
    text = console.export_text()
    ideal = _study(storage, "ideal")
    assert re.search(rf"ideal\s+│ moons\s+│ accuracy \(max\)\s+│\s+{ideal.best_value:.4g} │\s+{ideal.best_trial.number} │\s+3 │\s+3 │", text)
    assert re.search(r"failing\s+│ moons\s+│ accuracy \(max\)\s+│\s+- │\s+- │\s+3 │\s+0 │\s+0 │\s+3 │", text)
    assert "optuna:tpe (3)" in text

    assert main(["studies", "compare", "ideal", "idael", "--storage", storage]) == 2
    err = capsys.readouterr().err
    assert "study 'idael' is not in" in err and "'ideal'" in err and "'failing'" in err


def test_dashboard_notes_hold_the_summary_and_the_best_circuit(storage: str) -> None:
    from optuna_dashboard import get_note

    from qnas.dashboard_notes import annotate_study
    from qnas.study import artifact_store

    study = _study(storage, "ideal")
    store = artifact_store(study)
    first = annotate_study(study, store)
    best = study.best_trial
    assert first.study_note and first.trial_note and first.best_trial == best.number and first.circuit_artifact
    assert study.metric_names == ["accuracy"]
    summary = get_note(study)
    assert "qnas search: ideal" in summary and "3 complete" in summary and f"best trial: **{best.number}**" in summary
    note = get_note(optuna.Trial(study, best._trial_id))
    assert f"Trial {best.number}: best of study ideal" in note
    assert "| test_accuracy |" in note and "─RY" in note and "╭●" in note  # qml.draw's gates and CNOT
    # Unchanged notes are not written again and the drawing is uploaded once.
    again = annotate_study(study, store)
    assert not again.study_note and not again.trial_note and again.circuit_artifact is None
    metas = optuna.artifacts.get_all_artifact_meta(study)
    assert [m.filename for m in metas] == [f"best-trial-{best.number}-circuit.png"]


# --- export formats ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def archive(storage: str, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "best"
    assert main(["export", "--study", "ideal", "--storage", storage, "--out", str(out), "--format", "archive"]) == 0
    return out.with_name("best.tar.gz")


def test_archive_round_trip_loads_like_the_folder(archive: Path, storage: str, tmp_path: Path) -> None:
    with tarfile.open(archive) as tar:
        names = sorted(tar.getnames())
    manifest = verify_export(archive)
    assert names == sorted(f"best/{name}" for name in [*manifest["files"], MANIFEST])
    model = load(archive)
    assert model.export_path == archive and model.kind == "classifier"
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path, filter="data")
    folder_model = load(tmp_path / "best")
    reference = json.loads((tmp_path / "best" / "reference.json").read_text())
    x = torch.tensor(reference["inputs"], dtype=torch.float32)
    with torch.no_grad():
        assert torch.equal(model(x), folder_model(x))
        assert model(x).argmax(1).tolist() == reference["predicted_class"]
    assert model.source["study"] == "ideal" and model.source["device"]["name"] == "default.qubit"


def _rewrite(archive: Path, out: Path, edit) -> Path:
    """Copy `archive` to `out`, passing each (TarInfo, bytes) through `edit`, which returns a list of them."""
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for member in src.getmembers():
            for info, data in edit(member, src.extractfile(member).read()):
                info.size = len(data)
                dst.addfile(info, io.BytesIO(data))
    return out


def test_damaged_or_hostile_archives_are_refused(archive: Path, tmp_path: Path) -> None:
    def flip_weight(member, data):
        if member.name.endswith("weights.safetensors"):
            data = data[:-1] + bytes([data[-1] ^ 1])
        return [(member, data)]

    damaged = _rewrite(archive, tmp_path / "damaged.tar.gz", flip_weight)
    with pytest.raises(ExportError, match=r"in archive .*damaged.tar.gz: checksum mismatch for damaged.tar.gz/weights"):
        load(damaged)

    def escape(member, data):
        if member.name.endswith("spec.json"):
            evil = tarfile.TarInfo("best/../../escaped.txt")
            return [(member, data), (evil, b"owned")]
        return [(member, data)]

    hostile = _rewrite(archive, tmp_path / "hostile.tar.gz", escape)
    with pytest.raises(ExportError, match=r"holds 'best/\.\./\.\./escaped.txt' \(file\).*refused unopened"):
        load(hostile)
    assert not list(tmp_path.rglob("escaped.txt")) and not (tmp_path.parent / "escaped.txt").exists()

    def link(member, data):
        if member.name.endswith("metrics.json"):
            member = tarfile.TarInfo(member.name)
            member.type, member.linkname = tarfile.SYMTYPE, "/etc/passwd"
            return [(member, b"")]
        return [(member, data)]

    with pytest.raises(ExportError, match=r"holds 'best/metrics.json' \(link or special entry\)"):
        verify_export(_rewrite(archive, tmp_path / "link.tar.gz", link))

    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(ExportError, match="truncated or damaged"):
        load(truncated)
    with pytest.raises(ExportError, match=r"must end with \.tar\.gz"):
        pack_archive(tmp_path, tmp_path / "model.zip")


def test_export_rejects_an_unknown_format(storage: str, tmp_path: Path, capsys) -> None:
    assert main(["export", "--study", "ideal", "--storage", storage, "--out", str(tmp_path / "x"), "--format", "zip"]) == 2
    assert "export format = 'zip' is not allowed; allowed values: ['folder', 'archive']" in capsys.readouterr().err


def test_openqasm3_file_and_converter_match_the_circuit(archive: Path) -> None:
    with tarfile.open(archive) as tar:
        qasm3 = tar.extractfile(f"best/{QASM3}").read().decode()
        qasm2 = tar.extractfile("best/circuit.qasm").read().decode()
    lines = qasm3.splitlines()
    assert lines[:6] == ["OPENQASM 3.0;", 'include "stdgates.inc";', "qubit[2] q;", "bit[2] c;",
                         "input float[64] x_0;", "input float[64] x_1;"]
    assert lines[-1] == "c = measure q;" and "cx q[0], q[1];" in lines and "ry(x_0) q[0];" in lines
    # Same gates as the OpenQASM 2 file, in the same order; there the inputs are numbers.
    gates2 = [re.sub(r"[\s,]", "", line) for line in qasm2.splitlines()[4:] if not line.startswith("measure")]
    gates3 = [re.sub(r"[\s,]", "", line) for line in lines[6:-1]]
    assert [g.split("(")[0] for g in gates3] == [g.split("(")[0] for g in gates2]


@pytest.mark.parametrize("encoding", ["amplitude", "iqp", "angle_z"])
def test_openqasm3_read_back_by_pennylane_gives_the_same_state(encoding: str) -> None:
    """Each program is parsed by PennyLane's OpenQASM 3 reader and simulated: the state must match."""
    spec = CandidateSpec(split="quantum_first", n_qubits=3, encoding=EncodingSpec(encoding),
                         layers=(LayerSpec(("RY", "RZ"), "ring", "CRZ"),), post_layers=(3,))
    qnode = make_qnode(spec, measurement="state")
    kwargs = representative_inputs(spec, 3)
    program = to_openqasm3(qnode)(**kwargs)
    # PennyLane's reader knows stdgates without the include and turns measurements into mid-circuit ones.
    body = "\n".join(line for line in program.splitlines() if "include" not in line and "measure" not in line)
    wires = [f"q[{i}]" for i in range(3)]

    @qml.qnode(qml.device("default.qubit", wires=wires))
    def read_back():
        qml.from_qasm3(body)()
        return qml.state()

    expected, got = qnode(**kwargs).detach().numpy(), np.asarray(read_back())
    # Up to a global phase: PennyLane's reader maps gphase(g) to GlobalPhase(g) = exp(-ig), the spec says exp(ig).
    assert abs(np.vdot(expected, got)) ** 2 == pytest.approx(1.0, abs=1e-9)
    if encoding != "amplitude":
        np.testing.assert_allclose(got, expected, atol=1e-9)


def test_model_card_tells_a_new_user_what_they_have(archive: Path, storage: str, tmp_path: Path) -> None:
    with tarfile.open(archive) as tar:
        card = tar.extractfile(f"best/{MODEL_CARD}").read().decode()
    best = _study(storage, "ideal").best_trial
    metrics, baseline = best.user_attrs["metrics"], best.user_attrs["baseline"]
    for heading in ("## Task and data", "## Metrics", "## Classical baseline", "## Noise results",
                    "## Error mitigation and calibration", "## How to load it"):
        assert heading in card
    assert "- task: `moons` (n_samples=120, noise=0.2, seed=0)" in card and "`x1`, `x2`" in card
    assert f"| test_accuracy | {metrics['test_accuracy']:.4g} | accuracy on the held-out test split |" in card
    assert f"| test_accuracy | {baseline['test_accuracy']:.4g} | {metrics['test_accuracy']:.4g} |" in card
    assert "Scored on the ideal simulator only" in card and "error mitigation: none" in card
    # The snippet runs as written from the folder holding the archive.
    snippet = re.search(r"```python\n(.*?)```", card, re.S).group(1)
    assert 'qnas.load("best.tar.gz")' in snippet
    script = tmp_path / "snippet.py"
    script.write_text(snippet)
    run = subprocess.run([sys.executable, str(script)], cwd=archive.parent, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() in ("upper", "lower")  # moons' class names


@pytest.mark.filterwarnings("ignore:PedAnovaImportanceEvaluator computes")  # Optuna's reminder of this very rule
def test_importances_read_a_maximized_objective_in_its_own_direction() -> None:
    """The top of `score` is decided by `kind` (kind a scores 1), its bottom by `y`: read upside down,
    the importances would name y."""
    from qnas.report import importance_target

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        kind, y = trial.suggest_categorical("kind", ["a", "b", "c"]), trial.suggest_float("y", 0.0, 1.0)
        return (1.0 if kind == "a" else 0.5 * y), y

    study.optimize(objective, n_trials=300)
    right = optuna.importance.get_param_importances(study, target=importance_target(study, 0))
    flipped = optuna.importance.get_param_importances(study, target=lambda t: t.values[0])
    assert right["kind"] > right["y"] and flipped["y"] > flipped["kind"]


def test_a_vqe_report_shows_the_exact_energy_chemical_accuracy_and_log_errors(tmp_path: Path) -> None:
    from qnas.report import history_axes

    url = f"sqlite:///{tmp_path / 'vqe.db'}"
    run_search(SearchConfig(task={"name": "h2"}, trials=2, workers=0, storage=url, study="h2", agent="optuna"))
    study = _study(url, "h2")
    page = write_report(study, tmp_path / "report").read_text()
    assert "<h2>Best trials</h2>" in page and "classical baselines" not in page
    assert "This task has no classical baseline." in page and "params (baseline)" not in page
    assert "exact ground energy</td><td>-1.137" in page.replace("<td class='text'>", "<td>")
    assert "energy error at most 0.0016 Ha" in page and "dotted line is chemical accuracy" in page
    ax = history_axes(study, 0, "energy_error")
    assert ax.get_yscale() == "log" and any(list(line.get_ydata()) == [0.0016, 0.0016] for line in ax.get_lines())
