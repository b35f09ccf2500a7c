"""End to end in headless Chromium: the dashboard on a study from a real search, and the HTML report.

Chromium is Debian's `chromium` package (.ci/run installs it); without it these tests are skipped
with that reason. Screenshots are kept under tests/artifacts/browser/ (ignored by git) for a person
to look at; each test prints where.
"""

from __future__ import annotations

import html
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
from tests.conftest import SMALL_MOONS, TINY_SPACE

CHROMIUM = next((path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary on PATH; install Debian's package: apt-get install -y chromium"
)
SCREENSHOTS = Path(__file__).parent / "artifacts" / "browser"
STUDY = "browser"


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
    root = tmp_path_factory.mktemp("browser")
    space = root / "tiny.yaml"
    space.write_text(TINY_SPACE)
    url = f"sqlite:///{root / 'studies.db'}"
    run_search(SearchConfig(space=str(space), task=SMALL_MOONS, trials=3, workers=0, storage=url, study=STUDY))
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


def test_report_images_render_in_the_browser(storage: str, tmp_path: Path) -> None:
    report = write_report(optuna.load_study(study_name=STUDY, storage=storage), tmp_path / "report")
    page = report.read_text()
    n_images = page.count("<img ")
    assert n_images >= 4
    # The report has no scripts; a copy gets one that writes each image's decoded width into the DOM.
    probe = report.with_name("probe.html")
    check = ("<script>window.addEventListener('load', () => { const p = document.createElement('pre');"
             " p.id = 'widths'; p.textContent = [...document.images].map(i => i.complete ? i.naturalWidth : -1)"
             ".join(','); document.body.appendChild(p); });</script>")
    probe.write_text(page.replace("</body>", check + "</body>"))
    dom = chromium("--allow-file-access-from-files", "--dump-dom", probe.as_uri())
    probe.unlink()
    widths = [int(w) for w in re.search(r"<pre id=\"widths\">([-\d,]*)</pre>", dom).group(1).split(",")]
    assert len(widths) == n_images and all(w > 100 for w in widths), widths

    pixels = screenshot(report.as_uri(), "report", 4200)
    assert_not_blank(pixels)
    shutil.copytree(report.parent, SCREENSHOTS / "report", dirs_exist_ok=True)
    print(f"report: {SCREENSHOTS / 'report' / 'report.html'}")
