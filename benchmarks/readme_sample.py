"""The README's sample output, regenerated from a real run of `make quickstart` (issue 22, point 5).

The README shows what `make quickstart` prints: a finished trial's line with its status line,
then the table of best trials, the closing line and the export. Written by hand, those go stale
as the code changes (a depth of 41 in the README against 78 in a run). This script runs the
Makefile's quickstart commands in a new, empty folder, with this checkout's code, and rewrites
each README block that sits between its markers:

    <!-- sample-output:NAME begin (benchmarks/readme_sample.py writes this block) -->
    ```
    ...
    ```
    <!-- sample-output:NAME end -->

    OMP_NUM_THREADS=1 RAY_AUTH_MODE=disabled .venv/bin/python benchmarks/readme_sample.py           # rewrite
    OMP_NUM_THREADS=1 RAY_AUTH_MODE=disabled .venv/bin/python benchmarks/readme_sample.py --check   # or compare

`--check` exits 1, saying what differs, when a fresh run contradicts the README. Two runs of the
quickstart do not print the same text: which trials the sampler proposes and the pruner stops
depends on which of the 2 workers finishes first, and wall times vary. What must agree:

- every line but the table's rows, with numbers masked and widths collapsed (the columns, the
  status line's fields, the closing lines): the README shows what the commands print today;
- each README row whose candidate the fresh run also ranked among its best, cell for cell but
  the trial number: a candidate's scores, sizes, depth and gate counts (the quickstart is seeded)
  are what the code computes today. At least one row must be so compared.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import takewhile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAKEFILE = ROOT / "Makefile"
BLOCKS = ("quickstart-progress", "quickstart-output")
"""The README's sample blocks, in the order they appear."""
BLOCK = re.compile(
    r"(?P<begin><!-- sample-output:(?P<name>[\w-]+) begin[^>]*-->\n)(?P<body>.*?)(?P<end><!-- sample-output:(?P=name) end -->)",
    re.S,
)
FENCE = re.compile(r"```\n(?P<text>.*?)\n```\n", re.S)
TRIAL_LINE = re.compile(r"^\[\d+/\d+\] trial \d+ ")
NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Printed:
    """What one command printed."""

    stdout: str
    stderr: str


def quickstart_commands(makefile: Path = MAKEFILE) -> list[list[str]]:
    """The `quickstart` target's recipe, each `$(BIN)/qnas ...` line run as `python -m qnas.cli ...`
    with this interpreter, so the README shows what `make quickstart` prints."""
    lines = makefile.read_text().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("quickstart:")), None)
    if start is None:
        raise ValueError(f"{makefile} has no `quickstart:` target; the README's sample output is that target's.")
    commands = []
    for line in takewhile(lambda text: text.startswith("\t"), lines[start + 1 :]):
        words = shlex.split(line)
        if words[0] != "$(BIN)/qnas":
            raise ValueError(f"{makefile}'s quickstart runs {line.strip()!r}; this script runs `$(BIN)/qnas ...` lines only.")
        commands.append([sys.executable, "-m", "qnas.cli", *words[1:]])
    if not commands:
        raise ValueError(f"{makefile}'s quickstart target has no recipe lines.")
    return commands


def run_quickstart(commands: Sequence[Sequence[str]], folder: Path) -> list[Printed]:
    """Run `commands` one after another in `folder`, with the Makefile's environment; stop at a failure."""
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "disabled")}
    printed = []
    for command in commands:
        run = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"{shlex.join(command)} exited with {run.returncode}:\n{run.stderr[-3000:]}")
        printed.append(Printed(run.stdout, run.stderr))
    return printed


def samples(printed: Sequence[Printed]) -> dict[str, str]:
    """The README blocks from what the quickstart printed: the search's (the first command's) last
    trial line with its status line; then every command's standard output, in order."""
    lines = printed[0].stderr.splitlines()
    last = max((i for i, line in enumerate(lines) if TRIAL_LINE.match(line)), default=None)
    if last is None or last + 1 >= len(lines):
        raise ValueError(f"the search printed no trial line with a status line after it:\n{printed[0].stderr[-2000:]}")
    output = "\n".join(line.rstrip() for run in printed for line in run.stdout.splitlines())
    return {"quickstart-progress": "\n".join(lines[last : last + 2]), "quickstart-output": output.strip("\n")}


def read_blocks(readme: str) -> dict[str, str]:
    """The text of each sample block in `readme` (inside its code fence), checked against BLOCKS."""
    found = [(match["name"], match["body"]) for match in BLOCK.finditer(readme)]
    names = [name for name, _ in found]
    if names != list(BLOCKS):
        opened = re.findall(r"<!-- sample-output:([\w-]+) begin", readme)
        raise ValueError(
            f"README sample blocks {names} (opened: {opened}) should be {list(BLOCKS)}, in that order, each between "
            "'<!-- sample-output:NAME begin ... -->' and '<!-- sample-output:NAME end -->' lines."
        )
    blocks = {}
    for name, body in found:
        fenced = FENCE.fullmatch(body)
        if fenced is None:
            raise ValueError(f"README sample block {name!r} must hold one ``` code fence and nothing else, not {body[:200]!r}")
        blocks[name] = fenced["text"]
    return blocks


def rewrite(readme: str, blocks: dict[str, str]) -> str:
    """`readme` with each sample block's code fence holding `blocks[name]`; the rest unchanged."""
    read_blocks(readme)
    return BLOCK.sub(lambda m: f"{m['begin']}```\n{blocks[m['name']]}\n```\n{m['end']}", readme)


def _shape(line: str) -> str:
    """What `line` prints whatever trials a run ran: numbers masked, a trial line cut after
    'trial', and widths (spaces, the table's rules) collapsed, since columns fit their contents."""
    line = re.sub(r"\s+", " ", re.sub(r"([━─])\1+", r"\1", NUMBER.sub("#", line))).strip()
    return line[: line.index(" trial") + 6] if line.startswith("[#/#] trial") else line


def table_rows(text: str) -> list[dict[str, str]]:
    """The rows of the rich table in `text`, each a dict by column name; a cell wrapped over
    several lines is joined with spaces."""
    lines = [line.strip() for line in text.splitlines()]
    header = next((line for line in lines if line.startswith("┃")), None)
    if header is None:
        return []
    names = [cell.strip() for cell in header.strip("┃").split("┃")]
    rows: list[list[str]] = []
    for line in lines:
        if line.startswith("│"):
            cells = [cell.strip() for cell in line.strip("│").split("│")]
            if cells[0] or not rows:
                rows.append(cells)
            else:
                rows[-1] = [f"{before} {after}".strip() for before, after in zip(rows[-1], cells, strict=True)]
    return [dict(zip(names, row, strict=True)) for row in rows]


def contradictions(shown: dict[str, str], fresh: dict[str, str]) -> list[str]:
    """What the README's blocks (`shown`) say that a fresh run's (`fresh`) contradicts; see the
    module docstring for what must agree."""
    found = []
    for name in BLOCKS:
        old, new = ([_shape(line) for line in text.splitlines() if not line.startswith("│")]
                    for text in (shown[name], fresh[name]))
        if old != new:
            diff = difflib.unified_diff(old, new, f"README {name}", f"fresh run {name}", lineterm="")
            found.append("lines other than the table's rows, numbers masked:\n" + "\n".join(diff))
    fresh_rows = {row["candidate"]: row for row in table_rows(fresh["quickstart-output"])}
    compared = 0
    for row in table_rows(shown["quickstart-output"]):
        again = fresh_rows.get(row["candidate"])
        if again is None:
            continue
        compared += 1
        cells = [f"{column} {row[column]!r} (fresh: {again[column]!r})" for column in row
                 if column != "trial" and column in again and row[column] != again[column]]
        if cells:
            found.append(f"trial {row['trial']}, {row['candidate']}: " + ", ".join(cells))
    if not compared:
        found.append("the fresh run ranked none of the README's candidates among its best, so none could be compared")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with a fresh run instead of rewriting; exit 1 if stale")
    parser.add_argument("--readme", type=Path, default=README, help="the README to rewrite or check (default: %(default)s)")
    args = parser.parse_args(argv)
    readme = args.readme.read_text()
    shown = read_blocks(readme)  # bad markers fail now, not after a minute of searching
    commands = quickstart_commands()
    with tempfile.TemporaryDirectory(prefix="qnas-readme-") as folder:
        print(f"running in {folder}: " + "; ".join(shlex.join(c[3:]) for c in commands), file=sys.stderr)
        fresh = samples(run_quickstart(commands, Path(folder)))
    if args.check:
        found = contradictions(shown, fresh)
        for text in found:
            print(text)
        print(f"{args.readme}: {'stale; run without --check to rewrite it' if found else 'up to date'}", file=sys.stderr)
        return 1 if found else 0
    args.readme.write_text(rewrite(readme, fresh))
    print(f"rewrote {len(BLOCKS)} sample blocks in {args.readme}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
