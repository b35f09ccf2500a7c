"""Learned syndrome decoders for surface-code memory experiments, scored against PyMatching.

    from qnas.decoders import load_decoder
    decoder = load_decoder("decoders/d3")            # a folder from `qnas decoders train`
    flips = decoder.decode_batch(detectors)          # like pymatching.Matching.decode_batch

Names resolve lazily so that `qnas --help`, which builds the decoders parser, imports neither
torch nor Stim.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "LearnedDecoder": "qnas.decoders.decoder",
    "MemoryExperiment": "qnas.decoders.sampling",
    "DecoderError": "qnas.decoders.sampling",
    "NetworkConfig": "qnas.decoders.model",
    "TrainingConfig": "qnas.decoders.training",
    "train_decoder": "qnas.decoders.training",
    "save_decoder": "qnas.decoders.store",
    "load_decoder": "qnas.decoders.store",
    "compare": "qnas.decoders.evaluation",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'qnas.decoders' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
