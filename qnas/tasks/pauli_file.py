"""VQE on a Hamiltonian written as Pauli terms in a JSON or YAML file (task `pauli`).

This is how a user's own model gets in: a spin chain with any couplings, a lattice model, a
Hamiltonian from OpenFermion or PennyLane (the README shows both conversions). The file holds
either the term list itself or a mapping with the terms and a reference state:

    [[0.5, "ZZI"], [0.5, "IZZ"], [-1.0, "XII"]]
    {"terms": [[0.5, "ZZI"], ...], "reference_state": [1, 0, 0]}

Word letter i acts on qubit i. A coefficient is a number, or a string such as "0.25" or
"0.25+0j" (what a complex coefficient prints as); repeated words are added up, and the sum must
be Hermitian: real coefficients. The reference state (the basis state every circuit starts
from) is the `reference_state` task argument, else the file's, else the computational basis
state of lowest energy.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pennylane as qml
import yaml

from qnas.errors import TaskError, did_you_mean
from qnas.tasks.base import file_sha256
from qnas.tasks.exact import check_qubits, diagonal
from qnas.tasks.vqe import VQETask

SUFFIXES = {".json": "JSON", ".yaml": "YAML", ".yml": "YAML"}
FILE_KEYS = ("terms", "reference_state")
HERMITIAN_TOLERANCE = 1e-10
"""Largest imaginary part a summed coefficient may keep: rounding in a converted Hamiltonian, not physics."""
_FORMAT = 'a list of [coefficient, "PAULIWORD"] pairs such as [[0.5, "ZZ"], [-1.0, "XI"]]'


def build_pauli(
    *, path: str | os.PathLike[str] | None = None, reference_state: list[int] | str | None = None
) -> VQETask:
    """The Hamiltonian in the JSON or YAML file `path`; see the module docstring for its format."""
    if path is None or not isinstance(path, (str, os.PathLike)):
        raise TaskError(f"pauli: path = {path!r} must be a file path; call make_task('pauli', path='hamiltonian.json').")
    file = Path(path).resolve()
    if file.suffix.lower() not in SUFFIXES:
        raise TaskError(f"pauli: {file} must end in .json, .yaml or .yml, which say how to read it; rename it.")
    if not file.is_file():
        raise TaskError(f"pauli: Hamiltonian file {str(file)!r} was not found. Check the path.")
    terms, from_file = _read_terms(file)
    n_qubits = len(terms[0][1])
    check_qubits(f"pauli: {file}", n_qubits, "Use fewer qubits (shorter Pauli words).")
    argument = None if reference_state is None else _check_bits("reference_state", reference_state, n_qubits)
    if argument is not None:
        reference = argument
    elif from_file is not None:
        reference = _check_bits(f"reference_state in {file}", from_file, n_qubits)
    else:
        reference = _lowest_basis_state(terms, n_qubits)
    wires = {wire: wire for wire in range(n_qubits)}
    hamiltonian = qml.Hamiltonian(
        [coeff for coeff, _ in terms], [qml.pauli.string_to_pauli_word(word, wire_map=wires) for _, word in terms]
    )
    params = {"path": str(file), "reference_state": None if argument is None else list(argument)}
    task = VQETask("pauli", params, hamiltonian, n_qubits, reference)
    task.data_sha256 = file_sha256(str(file))
    return task


def _read_terms(file: Path) -> tuple[list[tuple[float, str]], Any]:
    """The file's terms, added up by word and checked, and its reference state (None when absent)."""
    kind = SUFFIXES[file.suffix.lower()]
    try:
        text = file.read_text()
        content = json.loads(text) if kind == "JSON" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise TaskError(f"pauli: {file} is not readable {kind} ({exc}).") from None
    reference = None
    if isinstance(content, dict):
        unknown = [key for key in content if key not in FILE_KEYS]
        if unknown:
            raise TaskError(
                f"pauli: {file} has key {unknown[0]!r}; a mapping may hold only {list(FILE_KEYS)}."
                f"{did_you_mean(unknown[0], FILE_KEYS)}"
            )
        if "terms" not in content:
            raise TaskError(f"pauli: {file} is a mapping without 'terms'; add 'terms': {_FORMAT}.")
        reference = content.get("reference_state")
        content = content["terms"]
    if not isinstance(content, list) or not content:
        raise TaskError(
            f"pauli: {file} holds {_shown(content)}, not {_FORMAT} (or a mapping with 'terms' and an optional "
            "'reference_state')."
        )
    summed: dict[str, complex] = {}
    first = ""
    for index, entry in enumerate(content):
        coeff, word = _check_term(file, index, entry)
        first = first or word
        if len(word) != len(first):
            raise TaskError(
                f"pauli: term {index} of {file}, {entry!r}: its Pauli word has {len(word)} letters, but the first "
                f"term's {first!r} has {len(first)}. Every word needs one letter per qubit (I where nothing acts)."
            )
        summed[word] = summed.get(word, 0j) + coeff
    for word, coeff in summed.items():
        if abs(coeff.imag) > HERMITIAN_TOLERANCE:
            raise TaskError(
                f"pauli: the terms of {file} are not Hermitian: word {word!r} has coefficient {coeff} (summed over its "
                "terms). A Hamiltonian needs real coefficients on Pauli words; drop an imaginary part that is "
                "rounding, or fix the term."
            )
    return [(coeff.real, word) for word, coeff in summed.items()], reference


def _check_term(file: Path, index: int, entry: Any) -> tuple[complex, str]:
    where = f"pauli: term {index} of {file}, {entry!r}"
    if not isinstance(entry, (list, tuple)) or len(entry) != 2:
        raise TaskError(f"{where}, must be a pair [coefficient, \"PAULIWORD\"]; the file must hold {_FORMAT}.")
    coeff, word = entry
    value: complex | None = None
    if isinstance(coeff, (int, float)) and not isinstance(coeff, bool):
        value = complex(coeff)
    elif isinstance(coeff, str):
        try:
            value = complex(coeff.replace(" ", ""))
        except ValueError:
            value = None
    if value is None or not (math.isfinite(value.real) and math.isfinite(value.imag)):
        raise TaskError(f"{where}: the coefficient {coeff!r} is not a finite number; write e.g. 0.5 or \"0.5+0j\".")
    if not isinstance(word, str) or not word or set(word) - set("IXYZ"):
        raise TaskError(
            f"{where}: {word!r} is not a Pauli word; write one upper-case letter I, X, Y or Z per qubit, e.g. \"XZIY\"."
        )
    return value, word


def _check_bits(where: str, bits: Any, n_qubits: int) -> tuple[int, ...]:
    """A basis state as a list of 0/1 or a string such as "1100" (one bit per qubit, qubit 0 first)."""
    if isinstance(bits, str) and set(bits) <= {"0", "1"}:
        bits = [int(bit) for bit in bits]
    ok = isinstance(bits, (list, tuple)) and all(type(bit) is int and bit in (0, 1) for bit in bits)
    if not ok or len(bits) != n_qubits:
        example = [1] + [0] * (n_qubits - 1)
        raise TaskError(
            f"pauli: {where} = {bits!r} must be {n_qubits} bits, one per qubit (qubit 0 first), as a list such as "
            f"{example} or a string such as \"{''.join(map(str, example))}\"; on the command line "
            f"--task-arg reference_state={json.dumps(example).replace(' ', '')}."
        )
    return tuple(int(bit) for bit in bits)


def _lowest_basis_state(terms: list[tuple[float, str]], n_qubits: int) -> tuple[int, ...]:
    """The computational basis state of lowest energy: without a Hartree-Fock state, the best one to start from."""
    lowest = int(np.argmin(diagonal(terms, n_qubits)))
    return tuple(int(bit) for bit in np.binary_repr(lowest, width=n_qubits))


def _shown(content: Any) -> str:
    return "an empty list" if isinstance(content, list) else f"{type(content).__name__} {content!r}"[:120]
