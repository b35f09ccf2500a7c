"""A disk cache of exact ground energies, keyed by a hash of the Hamiltonian.

Every process that builds a VQE task (the driver, each Ray worker, each environment) needs the
exact energy, and above a dozen qubits diagonalizing takes seconds to minutes. The first process
computes it and writes `<cache dir>/exact_energies/<key>.json`; the others read it. The cache
dir is `$QNAS_CACHE_DIR`, else `$XDG_CACHE_HOME/qnas`, else `~/.cache/qnas`; on a cluster each
node keeps its own unless they share that folder.

Files are JSON, never pickle, so reading one runs no code. A file is written to a temporary name
and renamed into place, so a reader never sees half of one, and two processes that compute the
same energy at once both write a whole file. A file that is unreadable, malformed or written for
another key is ignored and written again.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import warnings
from pathlib import Path

from qnas.tasks.exact import Sector, TermList, ground_energy

CACHE_ENV = "QNAS_CACHE_DIR"
SCHEMA = "qnas.exact_energy/1"
KEY_DIGITS = 12
"""Significant digits of each coefficient in the key: the same molecule built in two processes
(another BLAS thread count) can differ in the last bits of its integrals, and its energy does not
care at 1e-12; with the exact bits the workers would miss the driver's entry."""


def cache_dir() -> Path:
    """Where the exact energies are kept (see the module docstring)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "qnas"


def hamiltonian_key(terms: TermList, n_qubits: int, sector: Sector | None = None) -> str:
    """SHA-256 of the Hamiltonian's terms (sorted by word, coefficients to KEY_DIGITS), qubits and sector."""

    def canonical(pairs: TermList) -> list[list[str]]:
        return sorted([word, f"{float(coeff) + 0.0:.{KEY_DIGITS - 1}e}"] for coeff, word in pairs)

    content = {
        "n_qubits": n_qubits,
        "terms": canonical(terms),
        "sector": None if sector is None else {"terms": canonical(sector.terms), "value": sector.value},
    }
    return hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).hexdigest()


def cached_ground_energy(terms: TermList, n_qubits: int, sector: Sector | None = None, label: str = "hamiltonian") -> float:
    """The exact ground energy from the cache, or computed by `ground_energy` and stored."""
    key = hamiltonian_key(terms, n_qubits, sector)
    path = cache_dir() / "exact_energies" / f"{key}.json"
    energy = _read(path, key)
    if energy is None:
        energy = ground_energy(terms, n_qubits, sector, label)
        _write(path, {"schema": SCHEMA, "key": key, "n_qubits": n_qubits, "n_terms": len(terms), "energy": energy})
    return energy


def _read(path: Path, key: str) -> float | None:
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("schema") != SCHEMA or entry.get("key") != key:
        return None
    energy = entry.get("energy")
    if isinstance(energy, bool) or not isinstance(energy, (int, float)) or not math.isfinite(energy):
        return None
    return float(energy)


def _write(path: Path, entry: dict) -> None:
    """Write atomically; a cache that cannot be written costs time, not correctness, so it only warns."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
        with os.fdopen(handle, "w") as file:
            json.dump(entry, file)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; other users sharing the folder may read it
        os.replace(temporary, path)
    except OSError as exc:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        warnings.warn(
            f"could not write the exact-energy cache {path} ({exc}); every process will diagonalize again. "
            f"Set {CACHE_ENV} to a writable folder.",
            stacklevel=3,
        )
