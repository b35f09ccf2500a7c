"""Stim memory experiments: the circuit a decoder is trained for, its shots and its detector grid.

A decoder is tied to one circuit (code, distance, rounds, noise). `MemoryExperiment` holds those
settings, validates them once, and rebuilds the same Stim circuit wherever it is needed (training,
evaluation, PyMatching's detector error model), so every consumer agrees on the detector order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

import numpy as np
import stim

from qnas.errors import QnasError, not_allowed

CODES = ("surface",)
"""Codes with a generated memory circuit; `surface` is Stim's rotated surface code, Z basis."""

_STIM_TASKS = {"surface": "surface_code:rotated_memory_z"}


class DecoderError(QnasError):
    """A decoder setting, file or input cannot be used as given."""


@dataclass(frozen=True)
class MemoryExperiment:
    """A rotated surface-code memory experiment with circuit-level noise `p` on every noise
    parameter (after Cliffords, before rounds on data, before measurements, after resets)."""

    code: str = "surface"
    distance: int = 3
    rounds: int = 3
    p: float = 0.005

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise DecoderError(not_allowed("code", self.code, CODES))
        if isinstance(self.distance, bool) or not isinstance(self.distance, int) or self.distance < 3 or self.distance % 2 == 0:
            raise DecoderError(
                f"distance = {self.distance!r} is not allowed: the rotated surface code needs an odd integer >= 3 "
                "(e.g. --distance 3 or 5)."
            )
        if isinstance(self.rounds, bool) or not isinstance(self.rounds, int) or self.rounds < 1:
            raise DecoderError(f"rounds = {self.rounds!r} is not allowed: use an integer >= 1 (e.g. --rounds 3).")
        if not isinstance(self.p, (int, float)) or not 0.0 < float(self.p) < 0.5:
            raise DecoderError(
                f"p = {self.p!r} is not allowed: the physical error rate must lie strictly between 0 and 0.5 "
                "(e.g. --p 0.005)."
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MemoryExperiment:
        return cls(**{key: data[key] for key in ("code", "distance", "rounds", "p")})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_p(self, p: float) -> MemoryExperiment:
        """The same circuit at another noise strength (for sweeps of the logical error rate)."""
        return MemoryExperiment(self.code, self.distance, self.rounds, p)

    @cached_property
    def circuit(self) -> stim.Circuit:
        return stim.Circuit.generated(
            _STIM_TASKS[self.code],
            distance=self.distance,
            rounds=self.rounds,
            after_clifford_depolarization=self.p,
            before_round_data_depolarization=self.p,
            before_measure_flip_probability=self.p,
            after_reset_flip_probability=self.p,
        )

    @property
    def num_detectors(self) -> int:
        return self.circuit.num_detectors

    @property
    def num_observables(self) -> int:
        return self.circuit.num_observables

    def sampler(self, seed: int | None) -> DetectorSampler:
        return DetectorSampler(self, seed)

    def detector_grid(self) -> DetectorGrid:
        return DetectorGrid.from_circuit(self.circuit)


class DetectorSampler:
    """Fresh (detectors, observable flips) shots from the compiled circuit.

    Stim samples shots far faster than a network trains on them, so training draws new shots
    every step and the decoder never sees the same batch twice."""

    def __init__(self, experiment: MemoryExperiment, seed: int | None) -> None:
        self._sampler = experiment.circuit.compile_detector_sampler(seed=seed)

    def sample(self, shots: int) -> tuple[np.ndarray, np.ndarray]:
        """Return detectors (shots, num_detectors) and observable flips (shots, num_observables), uint8."""
        detectors, observables = self._sampler.sample(shots, separate_observables=True)
        return detectors.astype(np.uint8), observables.astype(np.uint8)


def unique_syndromes(detectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of a (shots, detectors) 0/1 array: (index of each one's first shot, row of
    every shot in that list, shots per distinct row).

    Near threshold most shots repeat a few syndromes (at d=3, p=0.005 a batch of 65,536 shots
    holds about 6,000 distinct ones), so running a network once per distinct syndrome cuts the
    work by 10x while giving exactly the same predictions and gradients."""
    packed = np.packbits(detectors, axis=1)
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    return first, inverse.ravel(), counts


@dataclass(frozen=True)
class DetectorGrid:
    """Where each detector sits on a (time, x, y) grid, from Stim's detector coordinates.

    Convolutional decoders scatter detector values into this grid so that neighbouring
    stabilizers in space and time are neighbouring cells, whatever order Stim numbers them in."""

    shape: tuple[int, int, int]
    cells: tuple[int, ...]
    """Flat index in the (time, x, y) grid of detector 0, 1, ..."""

    @classmethod
    def from_circuit(cls, circuit: stim.Circuit) -> DetectorGrid:
        coords = circuit.get_detector_coordinates()
        if len(coords) != circuit.num_detectors or any(len(c) < 3 for c in coords.values()):
            raise DecoderError("every detector needs (x, y, t) coordinates to place it on the grid.")
        axes = [sorted({c[k] for c in coords.values()}) for k in (2, 0, 1)]  # time, x, y
        index = [{value: i for i, value in enumerate(axis)} for axis in axes]
        shape = tuple(len(axis) for axis in axes)
        cells = []
        for detector in range(circuit.num_detectors):
            x, y, t = coords[detector][:3]
            cells.append(int(np.ravel_multi_index((index[0][t], index[1][x], index[2][y]), shape)))
        return cls(shape=shape, cells=tuple(cells))
