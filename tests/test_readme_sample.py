"""benchmarks/readme_sample.py keeps the README's sample output real (issue 22, point 5): its blocks,
markers and rewriting on the actual README, its reading of a real search's output, and (slow) a
fresh `make quickstart` run against the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qnas.cli import main

BENCHMARKS_DIR = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture()
def sample(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS_DIR))
    import readme_sample

    return readme_sample


def test_the_readme_holds_each_sample_block_and_rewriting_touches_only_them(sample) -> None:
    readme = sample.README.read_text()
    shown = sample.read_blocks(readme)
    assert list(shown) == list(sample.BLOCKS)
    assert re.match(r"\[\d+/\d+\] trial \d+ ", shown["quickstart-progress"]) and "running 0 |" in shown["quickstart-progress"]
    assert "study 'quickstart':" in shown["quickstart-output"] and "exported trial" in shown["quickstart-output"]
    assert sample.rewrite(readme, shown) == readme  # the blocks as they are: not a byte changes

    fresh = {name: f"new {name}" for name in sample.BLOCKS}
    rewritten = sample.rewrite(readme, fresh)
    assert sample.read_blocks(rewritten) == fresh
    outside = [sample.BLOCK.sub("", text) for text in (readme, rewritten)]
    assert outside[0] == outside[1]


def _another_run(output: str, edit_row=lambda cells: cells) -> str:
    """`output` as another run might print it: other counts and wall time, and of the README's
    rows only the first (its first line's cells passed through `edit_row`)."""
    kept, rows = [], 0
    for line in output.splitlines():
        if line.startswith("│"):
            cells = line.split("│")
            rows += bool(cells[1].strip())  # a row's first line names its trial; wrapped lines do not
            if rows == 1:
                kept.append("│".join(edit_row(cells)) if cells[1].strip() else line)
        elif line.startswith("┃"):  # the header
            kept.append(line)
        else:
            kept.append(re.sub(r"\d+", lambda m: str(int(m[0]) + 1), line))
    return "\n".join(kept)


def test_check_compares_what_a_run_fixes_and_nothing_that_varies(sample) -> None:
    shown = sample.read_blocks(sample.README.read_text())
    rows = sample.table_rows(shown["quickstart-output"])
    assert len(rows) == 5 and all(row["candidate"].count("[") == 1 and row["depth"].isdigit() for row in rows)
    # Another run: other trials, counts and wall time, one README candidate among its best: nothing contradicts.
    progress = shown["quickstart-progress"].splitlines()
    other = {"quickstart-progress": "\n".join([re.sub(r"trial \d+ .*", "trial 7 pruned accuracy=0.5 | q=2", progress[0]),
                                               re.sub(r"\d+", "3", progress[1])]),
             "quickstart-output": _another_run(shown["quickstart-output"])}
    assert other["quickstart-output"] != shown["quickstart-output"] and sample.contradictions(shown, other) == []

    # The same candidate at another depth (the README's 41 against 78 today) is caught, by name.
    depth = list(rows[0]).index("depth") + 1  # cells of a line start with the empty text before the first │

    def deeper(cells: list[str]) -> list[str]:
        cells[depth] = f" {int(cells[depth]) + 1}".ljust(len(cells[depth]))
        return cells

    (found,) = sample.contradictions(shown, {**other, "quickstart-output": _another_run(shown["quickstart-output"], deeper)})
    assert found.startswith(f"trial {rows[0]['trial']}, {rows[0]['candidate']}: depth '{rows[0]['depth']}' (fresh: '")
    # A status line with a new field, and a fresh run that ranked none of the README's candidates.
    (found,) = sample.contradictions(shown, {**other, "quickstart-progress": other["quickstart-progress"] + " | new 0"})
    assert "+++ fresh run quickstart-progress" in found
    renamed = other["quickstart-output"].replace(rows[0]["candidate"].split()[0], "quantum_elsewhere", 1)
    assert sample.contradictions(shown, {**other, "quickstart-output": renamed})[-1].startswith("the fresh run ranked none")


def test_bad_markers_are_refused_with_the_rule(sample) -> None:
    readme = sample.README.read_text()
    no_end = readme.replace("<!-- sample-output:quickstart-output end -->", "")
    with pytest.raises(ValueError, match=r"should be \['quickstart-progress', 'quickstart-output'\].*end -->"):
        sample.read_blocks(no_end)
    unfenced = re.sub(r"(quickstart-progress begin[^\n]*\n)```\n", r"\1", readme)
    with pytest.raises(ValueError, match="'quickstart-progress' must hold one ``` code fence"):
        sample.read_blocks(unfenced)


def test_the_commands_are_the_makefiles_quickstart(sample, tmp_path: Path) -> None:
    commands = sample.quickstart_commands()
    assert [c[3] for c in commands] == ["search", "export"] and all(c[1:3] == ["-m", "qnas.cli"] for c in commands)
    assert "--study quickstart" in " ".join(commands[0]) and "--study quickstart" in " ".join(commands[1])
    other = tmp_path / "Makefile"
    other.write_text("quickstart: $(STAMP)\n\tpython -c 1\n")
    with pytest.raises(ValueError, match=r"runs 'python -c 1'; this script runs `\$\(BIN\)/qnas \.\.\.` lines only"):
        sample.quickstart_commands(other)


def test_blocks_come_from_what_a_real_search_prints(sample, tiny_space: str, storage: str, capsys) -> None:
    args = ["--task", "moons", "--task-arg", "n_samples=120", "--storage", storage, "--study", "s"]
    assert main(["search", "--space", tiny_space, "--trials", "2", "--workers", "0", *args]) == 0
    search = capsys.readouterr()
    blocks = sample.samples([sample.Printed(search.out, search.err)])
    progress = blocks["quickstart-progress"].splitlines()
    assert len(progress) == 2 and progress[0].startswith("[2/2] trial ") and progress[1].split()[:2] == ["running", "0"]
    output = blocks["quickstart-output"]
    assert output.splitlines()[-2].startswith("study 's': ") and "┃ trial ┃" in output and "Next: qnas export" in output


@pytest.mark.slow
def test_the_readme_shows_what_make_quickstart_prints(sample) -> None:
    """A fresh run of the quickstart (about a minute on 2 cores) against the README's blocks."""
    assert sample.main(["--check"]) == 0
