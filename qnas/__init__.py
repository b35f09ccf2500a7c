"""qnas: quantum architecture search for hybrid quantum-classical models.

`import qnas` stays light: heavy modules (torch, PennyLane, Ray, Optuna) load on first use, so
`qnas.load(DIR)` in a serving process never imports Ray or Optuna.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["CandidateSpec", "load", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "load":
        from qnas.export import load

        return load
    if name == "CandidateSpec":
        from qnas.spec import CandidateSpec

        return CandidateSpec
    raise AttributeError(f"module 'qnas' has no attribute {name!r}")
