"""Score a learned decoder against PyMatching on the very same test shots.

PyMatching is built from the detector error model of the decoder's own circuit, so both
decoders face the same noise; the test shots come from their own seed, apart from the training
and validation streams. Each logical error rate carries its binomial standard error, and the
paired counts (shots only one decoder gets right) say whether a difference is real.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pymatching

from qnas.decoders.decoder import LearnedDecoder
from qnas.decoders.sampling import DecoderError, MemoryExperiment


@dataclass(frozen=True)
class DecoderScore:
    name: str
    errors: int
    shots: int
    decode_s: float

    @property
    def logical_error_rate(self) -> float:
        return self.errors / self.shots

    @property
    def standard_error(self) -> float:
        """Binomial standard error of the logical error rate."""
        rate = self.logical_error_rate
        return math.sqrt(rate * (1.0 - rate) / self.shots)

    @property
    def shots_per_s(self) -> float:
        return self.shots / self.decode_s if self.decode_s > 0 else math.inf

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "logical_error_rate": self.logical_error_rate,
            "standard_error": self.standard_error,
            "shots_per_s": self.shots_per_s,
        }


@dataclass(frozen=True)
class Comparison:
    """Both decoders on one test set; `only_learned_right` / `only_matching_right` are paired counts."""

    experiment: MemoryExperiment
    seed: int
    learned: DecoderScore
    matching: DecoderScore
    only_learned_right: int
    only_matching_right: int

    @property
    def relative_change(self) -> float:
        """(learned - matching) / matching: negative when the learned decoder makes fewer errors."""
        return (self.learned.errors - self.matching.errors) / max(self.matching.errors, 1)

    @property
    def paired_z(self) -> float:
        """McNemar z-score of the disagreements; below -2 the learned decoder is reliably better."""
        disagreements = self.only_learned_right + self.only_matching_right
        return (self.only_matching_right - self.only_learned_right) / math.sqrt(max(disagreements, 1))

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment.to_dict(),
            "seed": self.seed,
            "learned": self.learned.to_dict(),
            "pymatching": self.matching.to_dict(),
            "only_learned_right": self.only_learned_right,
            "only_matching_right": self.only_matching_right,
            "relative_change": self.relative_change,
            "paired_z": self.paired_z,
        }

    def summary(self) -> str:
        lines = [f"{self.experiment.code} d={self.experiment.distance} rounds={self.experiment.rounds} "
                 f"p={self.experiment.p}: {self.learned.shots:,} test shots, seed {self.seed}"]
        for score in (self.learned, self.matching):
            lines.append(
                f"  {score.name:<10} logical error rate {score.logical_error_rate:.4e} +- {score.standard_error:.1e}"
                f"  ({score.errors:,} errors)  throughput {score.shots_per_s:,.0f} shots/s"
            )
        lines.append(
            f"  learned vs pymatching: {100 * self.relative_change:+.1f}% errors; shots only learned got right "
            f"{self.only_learned_right:,}, only pymatching {self.only_matching_right:,} (paired z = {self.paired_z:+.1f})"
        )
        return "\n".join(lines)


def matching_decoder(experiment: MemoryExperiment) -> pymatching.Matching:
    """PyMatching (MWPM) from the circuit's own detector error model."""
    return pymatching.Matching.from_detector_error_model(experiment.circuit.detector_error_model(decompose_errors=True))


def compare(
    decoder: LearnedDecoder, shots: int, seed: int, experiment: MemoryExperiment | None = None
) -> Comparison:
    """Decode `shots` fresh shots (seeded) with both decoders and count their logical errors.

    `experiment` defaults to the decoder's own; pass another p to see how it generalises."""
    experiment = experiment or decoder.experiment
    if shots < 1:
        raise DecoderError(f"shots = {shots!r} is not allowed: use a positive number (e.g. --shots 1000000).")
    training_seed = decoder.info.get("training", {}).get("seed")
    if experiment == decoder.experiment and seed == training_seed:
        raise DecoderError(
            f"test seed {seed} is the seed this decoder was trained with; pick another --seed so the test shots "
            "are independent of the training shots."
        )
    detectors, observables = experiment.sampler(seed).sample(shots)
    matching = matching_decoder(experiment)
    learned_flips, learned_s = _timed(decoder.decode_batch, detectors)
    matching_flips, matching_s = _timed(matching.decode_batch, detectors)
    learned_wrong = np.any(learned_flips != observables, axis=1)
    matching_wrong = np.any(matching_flips != observables, axis=1)
    return Comparison(
        experiment=experiment,
        seed=seed,
        learned=DecoderScore("learned", int(learned_wrong.sum()), shots, learned_s),
        matching=DecoderScore("pymatching", int(matching_wrong.sum()), shots, matching_s),
        only_learned_right=int((~learned_wrong & matching_wrong).sum()),
        only_matching_right=int((learned_wrong & ~matching_wrong).sum()),
    )


def _timed(decode: Any, detectors: np.ndarray) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    flips = decode(detectors)
    return np.asarray(flips, dtype=np.uint8).reshape(detectors.shape[0], -1), time.perf_counter() - start
