"""`LearnedDecoder`: a trained network bound to its memory experiment, decoding like PyMatching.

`decode_batch(detectors)` takes the same (shots, num_detectors) uint8/bool array that
`pymatching.Matching.decode_batch` takes and returns the same (shots, num_observables) uint8
flips, so the two decoders are interchangeable in user code and in the evaluation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from qnas.decoders.model import NetworkConfig, build_network
from qnas.decoders.sampling import DecoderError, MemoryExperiment, unique_syndromes

DECODE_CHUNK = 65_536
"""Distinct syndromes per forward pass: large enough to amortise torch overhead, small enough
to keep activations within a few hundred MB."""


class LearnedDecoder:
    """A network plus the experiment it was trained on; `decode_batch` is the public entry point."""

    def __init__(self, experiment: MemoryExperiment, network_config: NetworkConfig) -> None:
        self.experiment = experiment
        self.network_config = network_config
        self.network: nn.Module = build_network(network_config, experiment.detector_grid(), experiment.num_observables)
        self.network.eval()
        self.info: dict[str, Any] = {}
        """What was saved beside the weights: training config, validation error rate, provenance."""

    @property
    def num_detectors(self) -> int:
        return self.experiment.num_detectors

    def logits(self, detectors: np.ndarray) -> np.ndarray:
        """Raw logits of each observable flipping, (shots, num_observables) float32."""
        detectors = self._check(detectors)
        out = np.empty((detectors.shape[0], self.experiment.num_observables), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, detectors.shape[0], DECODE_CHUNK):
                chunk = torch.from_numpy(detectors[start : start + DECODE_CHUNK].astype(np.float32))
                out[start : start + DECODE_CHUNK] = self.network(chunk).numpy()
        return out

    def decode_batch(self, detectors: np.ndarray) -> np.ndarray:
        """Predicted observable flips, (shots, num_observables) uint8, like PyMatching's decode_batch.

        Each distinct syndrome goes through the network once (see `unique_syndromes`)."""
        detectors = self._check(detectors)
        if detectors.shape[0] == 0:
            return np.zeros((0, self.experiment.num_observables), dtype=np.uint8)
        first, inverse, _ = unique_syndromes(detectors)
        flips = (self.logits(detectors[first]) > 0).astype(np.uint8)
        return flips[inverse]

    def _check(self, detectors: np.ndarray) -> np.ndarray:
        detectors = np.asarray(detectors)
        if detectors.dtype not in (np.uint8, np.bool_):
            raise DecoderError(
                f"detectors have dtype {detectors.dtype}; pass a uint8 or bool array as Stim's sampler returns it."
            )
        if detectors.ndim != 2 or detectors.shape[1] != self.num_detectors:
            raise DecoderError(
                f"detectors have shape {detectors.shape}; this decoder ({self.describe()}) needs "
                f"(shots, {self.num_detectors}). Sample them from the same circuit (distance and rounds)."
            )
        return np.ascontiguousarray(detectors != 0, dtype=np.uint8)

    def describe(self) -> str:
        e = self.experiment
        return f"{e.code} d={e.distance} rounds={e.rounds} p={e.p}, {self.network_config.arch}"
