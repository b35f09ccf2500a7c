"""`--agent beam`: the circuits `qnas.agents.block_beam` finds, leanest first, one per trial.

The beam runs across asks: each ask scores circuits until one reaches the task's threshold and
proposes it (pruned by `PruneOnSuccess`, so a block it does not need is dropped), and the next ask
goes on from there. When the beam has run to the gate limit it starts again with twice the width.
An ask whose beam ends without a success proposes the best circuit that beam scored. The trial
records `proposer=beam`, the actions (`beam_actions`), the full evaluations the ask spent
(`beam_full_evaluations`) and the width (`beam_width`). An ask can score circuits for minutes
before the search prints its trial, so it says on stderr, every `progress_seconds`, how far it got.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

import optuna

from qnas.agents.base import Proposal
from qnas.agents.block_beam import DEFAULT_WIDTH, BlockBeam
from qnas.agents.episode_proposer import EpisodeProposer, design_env
from qnas.search_spaces import SearchSpace

PROGRESS_SECONDS = 30.0
"""How often an ask that is still scoring circuits says how far it got."""


class BeamProposer(EpisodeProposer):
    """Proposes the successes of a block beam over `space`'s gates for `task`, in the order found."""

    def __init__(
        self, study: optuna.Study, task: Any, space: SearchSpace, seed: int = 0, progress_seconds: float = PROGRESS_SECONDS
    ) -> None:
        super().__init__(study, "beam", space)
        self.progress_seconds = progress_seconds
        self.env = design_env("beam", task, space, "blocks")
        self._seed = seed
        self._beam = BlockBeam(self.env, DEFAULT_WIDTH)
        self._circuits: Iterator[tuple[tuple[int, ...], dict[str, Any]]] = self._beam.circuits(seed)

    def ask(self) -> Proposal:
        design = self.env.unwrapped
        start, width = self._beam.evaluations, self._beam.width
        metric = design.task.metric
        best: tuple[float, tuple[int, ...], float] | None = None
        said = time.monotonic()
        for circuit, info in self._circuits:
            if best is None or info["score"] > best[0]:
                best = (info["score"], circuit, info[metric])
            if design.reached_threshold():
                break
            if time.monotonic() - said >= self.progress_seconds:
                said = time.monotonic()
                blocks = sum(design.actions[a].kind == "block" for a in circuit)
                print(f"beam: {self._beam.evaluations - start} circuits scored for the next trial, now with {blocks} "
                      f"blocks (width {width}); best {metric} so far {best[2]:.4g}", file=sys.stderr, flush=True)
        else:  # the pass reached the gate limit: propose its best circuit, and widen the beam for the next ask
            assert best is not None
            self._beam.score(best[1], self._seed)
            self._beam.widen()
            self._circuits = self._beam.circuits(self._seed + width)
        circuit = design.placed_actions
        *_, info = self.env.step(len(design.actions) - 1)  # stop: prune (at the threshold) and build the spec
        attrs = {
            "beam_actions": [design.actions[a].label for a in circuit],
            "beam_full_evaluations": self._beam.evaluations - start,
            "beam_width": width,
        }
        if "pruned" in info:
            attrs["beam_prune_evaluations"] = info["pruned"]["evaluations"]
        return self._propose_episode(info, attrs)
