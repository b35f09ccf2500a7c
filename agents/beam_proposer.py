"""`--agent beam`: the circuits `qnas.agents.block_beam` finds, leanest first, one per trial.

The beam runs across asks: each ask scores circuits until one reaches the task's threshold and
proposes it (pruned by `PruneOnSuccess`, so a block it does not need is dropped), and the next ask
goes on from there. When the beam has run to the gate limit it starts again with twice the width.
An ask whose beam ends without a success proposes the best circuit that beam scored. The trial
records `proposer=beam`, the actions (`beam_actions`), the full evaluations the ask spent
(`beam_full_evaluations`) and the width (`beam_width`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import optuna

from qnas.agents.base import Proposal
from qnas.agents.block_beam import DEFAULT_WIDTH, BlockBeam
from qnas.agents.episode_proposer import EpisodeProposer, design_env
from qnas.search_spaces import SearchSpace


class BeamProposer(EpisodeProposer):
    """Proposes the successes of a block beam over `space`'s gates for `task`, in the order found."""

    def __init__(self, study: optuna.Study, task: Any, space: SearchSpace, seed: int = 0) -> None:
        super().__init__(study, "beam", space)
        self.env = design_env("beam", task, space, "blocks")
        self._seed = seed
        self._beam = BlockBeam(self.env, DEFAULT_WIDTH)
        self._circuits: Iterator[tuple[tuple[int, ...], dict[str, Any]]] = self._beam.circuits(seed)

    def ask(self) -> Proposal:
        design = self.env.unwrapped
        start, width = self._beam.evaluations, self._beam.width
        best: tuple[float, tuple[int, ...]] | None = None
        for circuit, info in self._circuits:
            if best is None or info["score"] > best[0]:
                best = (info["score"], circuit)
            if design.reached_threshold():
                break
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
