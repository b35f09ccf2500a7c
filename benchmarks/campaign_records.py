"""Finished benchmark runs kept in a JSON-lines file, so a long campaign resumes where it stopped.

The hard tier's 30-seed campaign takes about 20 hours of one core: longer than a session, and a
machine may be lost half-way. Each run (task, proposer, seed) appends one line as it finishes;
a later invocation with the same file skips the runs it holds and reports from all of them.
A run counts only for the benchmark it was run on: the record keeps the task's whole definition
(instance, action set, target, budget) and the PPO overrides, and a record whose definition
differs from today's is left out and counted as stale, never mixed into a table.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _relative(value: Any) -> Any:
    """`value` with absolute paths written relative to the checkout (its own files) or to the
    checkout's parent (../shared holds the Hamiltonians), so the same benchmark has the same
    definition in another clone or worktree."""
    if isinstance(value, dict):
        return {key: _relative(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_relative(item) for item in value]
    for base in (ROOT, ROOT.parent):
        if isinstance(value, str) and value.startswith(str(base) + "/"):
            return str(Path(value).relative_to(base))
    return value


def definition(benchmark: dict[str, Any], ppo: dict[str, Any]) -> dict[str, Any]:
    """What a run's numbers depend on: the benchmark's fields and the PPO overrides, JSON-ready."""
    return json.loads(json.dumps(_relative({**benchmark, "ppo": ppo})))


def _commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return result.stdout.strip() or "unknown"


class RunRecords:
    """The runs of one campaign file: `done` answers whether a run is held, `add` appends one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stale = 0
        """Records of a benchmark whose definition changed since they were run: not used."""
        self._runs: dict[tuple[str, str, int], dict[str, Any]] = {}
        self._lines: list[dict[str, Any]] = list(self._read()) if path.exists() else []
        self._machine = f"{platform.node()} ({platform.processor() or platform.machine()}), Python {sys.version.split()[0]}"
        self._commit = _commit()

    def _read(self) -> Iterator[dict[str, Any]]:
        with self.path.open() as lines:
            for number, line in enumerate(lines, 1):
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    # a campaign killed while writing leaves its last line cut: that run is run again
                    print(f"{self.path}:{number}: not a complete record, left out (its run will be run again)",
                          file=sys.stderr)

    def select(self, task: str, benchmark: dict[str, Any], ppo: dict[str, Any]) -> None:
        """Use the records of `task` under this definition; count the others of `task` as stale."""
        wanted = definition(benchmark, ppo)
        self._runs = {}
        self.stale = 0
        for record in self._lines:
            if record["task"] != task:
                continue
            if record["definition"] != wanted:
                self.stale += 1
                continue
            self._runs[(task, record["proposer"], record["seed"])] = record

    def get(self, task: str, proposer: str, seed: int) -> dict[str, Any] | None:
        """The selected record of this run, or None when it was not run under today's definition."""
        return self._runs.get((task, proposer, seed))

    def add(self, task: str, benchmark: dict[str, Any], ppo: dict[str, Any], proposer: str, seed: int,
            result: dict[str, Any]) -> None:
        """Append a finished run (one line, flushed), with when, where and at which commit it ran."""
        record = {"task": task, "proposer": proposer, "seed": seed, "definition": definition(benchmark, ppo),
                  "result": json.loads(json.dumps(result)), "commit": self._commit, "machine": self._machine,
                  "finished": datetime.now(UTC).isoformat(timespec="seconds")}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+b") as out:
            out.seek(0, 2)
            cut = out.tell() > 0 and (out.seek(-1, 2), out.read(1))[1] != b"\n"
            out.write(("\n" if cut else "").encode() + json.dumps(record).encode() + b"\n")  # past a cut line
        self._lines.append(record)
        self._runs[(task, proposer, seed)] = record
