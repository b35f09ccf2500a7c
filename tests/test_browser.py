"""End to end in headless Chromium: the dashboard on a study from a real search, and the HTML report
of each kind of study (one objective, several, VQE, every trial failed).

Chromium is Debian's `chromium` package (.ci/run installs it); without it these tests are skipped
with that reason. Screenshots are kept under tests/artifacts/browser/ (ignored by git) for a person
to look at; each test prints where.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import optuna
import pytest
from matplotlib import image

from qnas.report import write_report
from qnas.search import SearchConfig, run_search
from tests.conftest import FRONT_OBJECTIVES, FRONT_SPACE, SMALL_MOONS, TINY_SPACE

CHROMIUM = next((path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary on PATH; install Debian's package: apt-get install -y chromium"
)
SCREENSHOTS = Path(__file__).parent / "artifacts" / "browser"
STUDY = "browser"
REPORT_KINDS = {"single_objective": STUDY, "multi_objective": "front", "vqe": "h2", "failed": "failing"}
"""Each kind of report, and the study of `storage` it is written from."""


def chromium(*args: str, timeout: float = 90) -> str:
    """Run headless Chromium; return its stdout (the DOM with --dump-dom)."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
             "--no-first-run", "--virtual-time-budget=8000"]
    run = subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def visible_text(dom: str) -> str:
    dom = re.sub(r"<(style|script)\b[^>]*>.*?</\1>", " ", dom, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", dom)).split())


def screenshot(url: str, name: str, height: int) -> np.ndarray:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    path.unlink(missing_ok=True)
    chromium(f"--screenshot={path}", f"--window-size=1400,{height}", url)
    print(f"screenshot: {path}")
    return image.imread(path)


def assert_not_blank(pixels: np.ndarray) -> None:
    """A rendered page has many colours; a blank or failed one has one or two."""
    colours = np.unique((pixels[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50, f"the screenshot has only {len(colours)} colours"


@pytest.fixture(scope="module")
def storage(tmp_path_factory) -> str:
    """Tiny real searches, one study per report kind (REPORT_KINDS)."""
    root = tmp_path_factory.mktemp("browser")
    spaces = {"tiny": TINY_SPACE, "front": FRONT_SPACE, "failing": TINY_SPACE.replace("  n_qubits: 2\n", "  n_qubits: 29\n")}
    for name, text in spaces.items():
        (root / f"{name}.yaml").write_text(text)
    url = f"sqlite:///{root / 'studies.db'}"
    moons = {"task": SMALL_MOONS, "workers": 0, "storage": url}
    run_search(SearchConfig(space=str(root / "tiny.yaml"), trials=3, study=STUDY, **moons))
    run_search(SearchConfig(space=str(root / "front.yaml"), trials=3, study="front", objectives=FRONT_OBJECTIVES, **moons))
    run_search(SearchConfig(space=str(root / "failing.yaml"), trials=2, study="failing", **moons))
    run_search(SearchConfig(task={"name": "h2"}, trials=2, workers=0, storage=url, study="h2", agent="optuna"))
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_dashboard_shows_the_study_its_trials_and_notes(storage: str) -> None:
    port = free_port()
    command = [sys.executable, "-m", "qnas.cli", "dashboard", "--study", STUDY, "--storage", storage, "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        printed = server.stdout.readline() + server.stdout.readline()  # the URL, then what the notes hold
        match = re.search(r"at (http://127\.0\.0\.1:\d+/dashboard/studies/\d+) ", printed)
        assert match and "notes: search summary on the study" in printed, printed
        study_url = match.group(1)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
                time.sleep(0.3)

        study = optuna.load_study(study_name=STUDY, storage=storage)
        best = study.best_trial.number
        text = visible_text(chromium("--dump-dom", study_url))
        assert f"{STUDY} (id=" in text and f"Best Trial (number={best})" in text
        assert "y Axis accuracy" in text  # objective named through set_metric_names, not "Objective 0"

        trials = visible_text(chromium("--dump-dom", f"{study_url}/trials?numbers={best}"))
        assert "3 Trials" in trials and all(f"Trial {n} Complete" in trials for n in range(3))
        assert f"Trial {best}: best of study {STUDY}" in trials and "Circuit" in trials and "─RY" in trials
        for key in ("spec", "metrics", "baseline", "proposer"):  # our user attributes, readable as JSON
            assert re.search(rf"User Attributes.*\b{key} ", trials), key
        assert '"test_accuracy":' in trials and "optuna:tpe" in trials

        note = visible_text(chromium("--dump-dom", f"{study_url}/note"))
        assert f"qnas search: {STUDY}" in note and "3 complete" in note

        assert_not_blank(screenshot(study_url, "dashboard_study", 1800))
        assert_not_blank(screenshot(f"{study_url}/trials?numbers={best}", "dashboard_best_trial", 2400))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# Written into a copy of a report (which has no scripts of its own): each image's decoded width by
# its name, each table's width against the body's, and, per candidate cell, whether it wraps and
# which tokens a line break cut. A token is a run of text between two places the cell may break
# (spaces, <wbr>); one whose pieces sit on more than one line was broken inside.
PROBE = """<script>window.addEventListener('load', () => {
  const broken = [], wrapped = [], styles = new Set();
  for (const cell of document.querySelectorAll('td.tokens')) {
    const style = getComputedStyle(cell);
    styles.add(style.overflowWrap + ' ' + style.wordBreak);
    const lines = new Set();
    for (const node of [...cell.childNodes].filter(n => n.nodeType === Node.TEXT_NODE)) {
      for (const token of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, token.index);
        range.setEnd(node, token.index + token[0].length);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (tops.size > 1) broken.push(token[0]);
        tops.forEach(top => lines.add(top));
      }
    }
    if (lines.size > 1) wrapped.push(cell.textContent);
  }
  const probe = document.createElement('pre');
  probe.id = 'probe';
  probe.textContent = JSON.stringify({
    images: Object.fromEntries([...document.images].map(i => [i.alt, i.complete ? i.naturalWidth : -1])),
    tables: [...document.querySelectorAll('table')].map(t => t.scrollWidth),
    body: document.body.clientWidth, page: document.documentElement.scrollWidth, window: window.innerWidth,
    height: document.documentElement.scrollHeight, broken, wrapped, styles: [...styles],
  });
  document.body.appendChild(probe);
});</script>"""


@pytest.mark.parametrize("kind", list(REPORT_KINDS))
def test_each_report_kind_renders_fits_the_page_and_shows_its_findings(storage: str, tmp_path: Path, kind: str) -> None:
    """Each kind's report in Chromium at the width of a laptop screen: every image decodes, every
    table fits the page, candidates wrap only between tokens, the kind's own findings are on the
    page, and a screenshot of the whole page (kept for a person to look at) is not blank."""
    report = write_report(optuna.load_study(study_name=REPORT_KINDS[kind], storage=storage), tmp_path / kind)
    page = report.read_text()
    probe = report.with_name("probe.html")
    probe.write_text(page.replace("</body>", PROBE + "</body>"))
    dom = chromium("--allow-file-access-from-files", "--window-size=1400,1000", "--dump-dom", probe.as_uri())
    probe.unlink()
    seen = json.loads(html.unescape(re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S).group(1)))
    text = visible_text(dom.split('<pre id="probe">')[0])

    assert len(seen["images"]) == page.count("<img ") and all(w > 100 for w in seen["images"].values()), seen["images"]
    assert seen["body"] == 1100 and seen["page"] <= seen["window"]  # the body's max-width, and no sideways scrolling
    assert all(width <= seen["body"] for width in seen["tables"]), (seen["tables"], seen["body"])
    assert seen["broken"] == [] and set(seen["styles"]) <= {"normal normal"}, seen

    if kind == "single_objective":
        assert {"optimization_history", "param_importances", "best_circuit", "training_curve"} <= set(seen["images"])
        assert "Best trials beside their classical baselines" in text
        assert "Not shown again: val_accuracy (the same as accuracy in every row)." in text
    elif kind == "multi_objective":
        assert {"pareto_front", "optimization_history_0", "optimization_history_2"} <= set(seen["images"])
        assert "Pareto front Finished trials by each pair of objectives" in text and "'analytic' end" in text
        assert seen["wrapped"], "the three-layer candidates should need more than one line in this table"
    elif kind == "vqe":
        assert re.search(r"exact ground energy -1\.13\d+ chemical accuracy energy error at most 0\.0016 Ha", text)
        assert re.search(r"Best trials The best 2 trials of 2 finished\. This task has no classical baseline\.", text)
        assert "(log scale; the dotted line is chemical accuracy)" in text
    else:
        assert "No finished trial None of the 2 trials finished" in text and "Failed trials" in text and "29 qubits" in text
        assert not seen["images"]

    pixels = screenshot(report.as_uri(), f"report_{kind}", min(seen["height"] + 40, 16000))
    assert_not_blank(pixels)
    shutil.copytree(report.parent, SCREENSHOTS / f"report_{kind}", dirs_exist_ok=True)
    print(f"report: {SCREENSHOTS / f'report_{kind}' / 'report.html'}")
