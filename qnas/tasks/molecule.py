"""Molecular ground-state tasks built offline with `pennylane.qchem`: `molecule`, and `h2`, `lih`.

`molecule` takes what a chemist writes down: element symbols, a geometry in Å, charge,
multiplicity, basis set, fermion-to-qubit mapping and an active space (a count of orbitals above
the core, or their indices, as the papers' LiH-4 picks orbitals 1, 2 and 5). The parity mapping
can drop its two conserved qubits (`two_qubit_reduction`, `qnas.tasks.parity_reduction`). PennyLane's built-in
differentiable Hartree-Fock (`method="dhf"`) needs no other package and no network; its basis data
cover H to Ne, and it handles closed shells only (mult = 1, an even electron count). Everything is
checked before the integrals are computed, so a mistake costs no time and names the fix.

The task starts from the Hartree-Fock state in the chosen mapping, and its exact energy is the
lowest among the states with the active electron count (`qnas.tasks.exact.Sector`).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pennylane as qml
from pennylane.fermi import FermiSentence, FermiWord
from pennylane.operation import Operator
from pennylane.pauli import PauliSentence
from pennylane.qchem.basis_data import atomic_numbers, basis_sets

from qnas.errors import TaskError, did_you_mean, not_allowed
from qnas.tasks.base import check_bool, check_float, check_int
from qnas.tasks.exact import MAX_EXACT_QUBITS, Sector, check_qubits
from qnas.tasks.parity_reduction import reduced_parity_observable, reduced_parity_state
from qnas.tasks.vqe import VQETask, pauli_terms_of

MAPPINGS = ("jordan_wigner", "parity", "bravyi_kitaev")
BASIS_SETS = tuple(basis_sets)
_HF_BASIS = {"jordan_wigner": "occupation_number", "parity": "parity", "bravyi_kitaev": "bravyi_kitaev"}
MIN_DISTANCE = 0.1
"""Å: atoms closer than this are a typo (the same position twice), not a molecule."""
_EXAMPLE = "e.g. symbols=['Li', 'H'], geometry=[[0, 0, 0], [0, 0, 1.6]] (Å)"


def build_molecule(
    *,
    symbols: list[str] | None = None,
    geometry: list[list[float]] | None = None,
    bond_length: float | None = None,
    charge: int = 0,
    mult: int = 1,
    basis: str = "sto-3g",
    mapping: str = "jordan_wigner",
    active_electrons: int | None = None,
    active_orbitals: int | list[int] | None = None,
    two_qubit_reduction: bool = False,
) -> VQETask:
    """Any closed-shell molecule of H to Ne atoms; `geometry` holds one [x, y, z] row in Å per symbol,
    or, for two atoms, `bond_length` (Å) puts them on the z axis (what `qnas scan` varies).
    `active_orbitals` is a count (the lowest orbitals above the core) or a list of orbital indices."""
    names = _check_symbols(symbols)
    params: dict[str, Any] = {"symbols": list(names)}
    if bond_length is not None:
        if geometry is not None:
            raise TaskError("molecule: give geometry or bond_length (two atoms on the z axis), not both.")
        if len(names) != 2:
            raise TaskError(
                f"molecule: bond_length places two atoms, but symbols {list(names)} has {len(names)}; give geometry instead."
            )
        params["bond_length"] = check_float("molecule", "bond_length", bond_length, MIN_DISTANCE, 10.0)
        geometry = _on_z_axis(params["bond_length"])
    else:
        geometry = params["geometry"] = _check_geometry(geometry, names)
    params.update({
        "charge": check_int("molecule", "charge", charge, -100, 100),
        "mult": check_int("molecule", "mult", mult, 1, 100),
        "basis": _check_choice("basis", basis.lower() if isinstance(basis, str) else basis, BASIS_SETS),
        "mapping": _check_choice("mapping", mapping, MAPPINGS),
        "active_electrons": active_electrons,
        "active_orbitals": active_orbitals,
    })
    if check_bool("molecule", "two_qubit_reduction", two_qubit_reduction):
        params["two_qubit_reduction"] = True  # only when set: the configs of earlier studies stay as they were
    if two_qubit_reduction and params["mapping"] != "parity":
        raise TaskError(
            f"molecule: two_qubit_reduction drops the two qubits that hold conserved parities in the parity "
            f"mapping, but mapping = {params['mapping']!r}; set mapping=parity or two_qubit_reduction=false."
        )
    built = {key: value for key, value in params.items() if key != "bond_length"}
    return _molecule_task("molecule", params, **{**built, "geometry": geometry})


def build_h2(*, bond_length: float = 0.7414) -> VQETask:
    """H2 in STO-3G, all orbitals active: 4 qubits (Jordan-Wigner). Exact energy -1.13727 Ha at 0.7414 A."""
    params = {"bond_length": check_float("h2", "bond_length", bond_length, 0.2, 10.0)}
    return _molecule_task("h2", params, symbols=["H", "H"], geometry=_on_z_axis(params["bond_length"]))


def build_lih(*, bond_length: float = 1.5949) -> VQETask:
    """LiH in STO-3G with 2 active electrons in 2 active orbitals: 4 qubits (Jordan-Wigner)."""
    params = {"bond_length": check_float("lih", "bond_length", bond_length, 0.2, 10.0)}
    geometry = _on_z_axis(params["bond_length"])
    return _molecule_task("lih", params, symbols=["Li", "H"], geometry=geometry, active_electrons=2, active_orbitals=2)


def _on_z_axis(bond_length: float) -> list[list[float]]:
    """Two atoms `bond_length` Å apart on the z axis: the geometry of every diatomic task."""
    return [[0.0, 0.0, 0.0], [0.0, 0.0, bond_length]]


def _molecule_task(
    name: str,
    params: dict[str, Any],
    *,
    symbols: list[str],
    geometry: list[list[float]],
    charge: int = 0,
    mult: int = 1,
    basis: str = "sto-3g",
    mapping: str = "jordan_wigner",
    active_electrons: int | None = None,
    active_orbitals: int | list[int] | None = None,
    two_qubit_reduction: bool = False,
) -> VQETask:
    """The task for checked symbols and geometry: the rest is checked here, before any integral."""
    formula = "".join(symbols)
    electrons = _check_closed_shell(formula, sum(atomic_numbers[s] for s in symbols) - charge, charge, mult)
    molecule = qml.qchem.Molecule(symbols, np.array(geometry), charge=charge, basis_name=basis, unit="angstrom")
    core, orbitals = _check_active_space(formula, basis, electrons, molecule.n_orbitals, active_electrons, active_orbitals)
    check_qubits(
        f"{name} {formula}",
        2 * len(orbitals) - 2 * two_qubit_reduction,
        f"Choose an active space of at most {MAX_EXACT_QUBITS // 2} orbitals (active_orbitals, with active_electrons).",
    )
    valence = electrons - 2 * core
    reduced = (len(orbitals), valence // 2, valence // 2) if two_qubit_reduction else None
    hamiltonian, n_qubits = _molecular_hamiltonian(
        tuple(symbols), tuple(map(tuple, geometry)), charge, basis, mapping, core, orbitals, reduced
    )
    if reduced:
        reference = reduced_parity_state(*reduced)
    else:
        reference = tuple(int(bit) for bit in qml.qchem.hf_state(valence, n_qubits, basis=_HF_BASIS[mapping]))
    return VQETask(name, params, hamiltonian, n_qubits, reference, _electron_sector(n_qubits, mapping, valence, reduced))


@functools.lru_cache(maxsize=32)
def _molecular_hamiltonian(
    symbols: tuple[str, ...],
    geometry: tuple[tuple[float, ...], ...],
    charge: int,
    basis: str,
    mapping: str,
    core: int,
    active: tuple[int, ...],
    reduced: tuple[int, int, int] | None,
) -> tuple[Operator, int]:
    """Build once per process: Hartree-Fock plus the integrals are the costly part of a molecule's task.
    `core` lowest orbitals are filled and frozen; `reduced` is (spatial orbitals, spin-up electrons,
    spin-down electrons) for the two-qubit reduction. The coefficients come back real, the wires as
    plain ints (the Bravyi-Kitaev mapping returns some as numpy scalars)."""
    molecule = qml.qchem.Molecule(list(symbols), np.array(geometry), charge=charge, basis_name=basis, unit="angstrom")
    fermionic = qml.qchem.fermionic_hamiltonian(molecule, core=list(range(core)), active=list(active))()
    if reduced:
        return reduced_parity_observable(fermionic, *reduced), 2 * len(active) - 2
    terms = qml.pauli.pauli_sentence(qml.qchem.qubit_observable(fermionic, mapping=mapping))
    hamiltonian = PauliSentence({word: float(qml.math.real(c)) for word, c in terms.items()}).operation()
    return hamiltonian.map_wires({wire: int(wire) for wire in hamiltonian.wires}), 2 * len(active)


def _electron_sector(n_qubits: int, mapping: str, electrons: int, reduced: tuple[int, int, int] | None = None) -> Sector:
    """The states with `electrons` electrons: the number operator is a sum of Z products in every
    mapping, and stays one once the two-qubit reduction fixes its conserved qubits."""
    modes = 2 * reduced[0] if reduced else n_qubits
    number = FermiSentence({FermiWord({(0, i): "+", (1, i): "-"}): 1.0 for i in range(modes)})
    if reduced:
        operator = reduced_parity_observable(number, *reduced)
    else:
        operator = qml.qchem.qubit_observable(number, mapping=mapping)
    return Sector(tuple(pauli_terms_of("electron number", operator, n_qubits)), float(electrons))


def _check_symbols(symbols: Any) -> tuple[str, ...]:
    if not isinstance(symbols, (list, tuple)) or not symbols or not all(isinstance(s, str) for s in symbols):
        raise TaskError(
            f"molecule: symbols = {symbols!r} must be a list of element symbols, {_EXAMPLE}; on the command line "
            """--task-arg symbols='["Li","H"]'."""
        )
    offline = [element for element, z in atomic_numbers.items() if z <= 10]
    for symbol in symbols:
        if symbol not in atomic_numbers:
            raise TaskError(f"molecule: symbol {symbol!r} is not a chemical element.{did_you_mean(symbol, offline)}")
        if symbol not in offline:
            raise TaskError(
                f"molecule: element {symbol!r} has no basis data offline: pennylane.qchem ships basis sets for "
                f"{offline[0]} to {offline[-1]} ({', '.join(offline)}) only."
            )
    return tuple(symbols)


def _check_geometry(geometry: Any, symbols: tuple[str, ...]) -> list[list[float]]:
    """Nested lists of floats, one [x, y, z] row in Å per atom, no two atoms in the same place."""
    expected = (len(symbols), 3)
    try:
        coordinates = np.asarray(geometry, dtype=float)
    except (TypeError, ValueError):
        coordinates = None
    if coordinates is None or coordinates.shape != expected:
        shape = "an unreadable shape" if coordinates is None else f"shape {coordinates.shape}"
        raise TaskError(
            f"molecule: geometry = {geometry!r} has {shape}, but {len(symbols)} symbols need {expected}: one "
            f"[x, y, z] row in Å per symbol, in the order of symbols, {_EXAMPLE}."
        )
    if not np.all(np.isfinite(coordinates)):
        raise TaskError(f"molecule: geometry = {geometry!r} holds NaN or infinite coordinates; give finite numbers (Å).")
    for i in range(len(symbols)):
        for j in range(i):
            distance = float(np.linalg.norm(coordinates[i] - coordinates[j]))
            if distance < MIN_DISTANCE:
                raise TaskError(
                    f"molecule: atoms {j} ({symbols[j]}) and {i} ({symbols[i]}) are {distance:.3g} Å apart, closer than "
                    f"{MIN_DISTANCE} Å; check geometry (it is in Å, not Bohr)."
                )
    return coordinates.tolist()


def _check_choice(key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise TaskError(not_allowed(f"molecule: {key}", value, allowed))
    return value


def _check_closed_shell(formula: str, electrons: int, charge: int, mult: int) -> int:
    if electrons < 2:
        raise TaskError(
            f"molecule: {formula} with charge {charge} has {electrons} electrons; a ground-state task needs at "
            "least 2. Lower the charge."
        )
    if mult != 1 or electrons % 2:
        raise TaskError(
            f"molecule: {formula} with charge {charge} and mult {mult} has {electrons} electrons: an open shell. "
            "pennylane.qchem's built-in Hartree-Fock (the one that runs offline) handles closed shells only: "
            "mult = 1 and an even electron count. Change the charge (by 1) or set mult to 1."
        )
    return electrons


def _check_active_space(
    formula: str, basis: str, electrons: int, orbitals: int, active_electrons: Any, active_orbitals: Any
) -> tuple[int, tuple[int, ...]]:
    """(core orbitals, active orbital indices) for a closed shell; the orbitals are spatial, two qubits
    each, numbered from the lowest Hartree-Fock energy; the core is the lowest, filled and frozen."""
    whole = f"{formula} in {basis} has {electrons} electrons in {orbitals} spatial orbitals"
    if active_electrons is None:
        active_electrons = electrons
    elif isinstance(active_electrons, bool) or not isinstance(active_electrons, int):
        raise TaskError(f"molecule: active_electrons = {active_electrons!r} must be an integer (or null for all).")
    elif not 2 <= active_electrons <= electrons or active_electrons % 2:
        raise TaskError(
            f"molecule: active_electrons = {active_electrons}, but {whole}; choose an even number from 2 to {electrons} "
            "(a closed shell keeps its electrons paired)."
        )
    core = (electrons - active_electrons) // 2
    free = orbitals - core
    if active_orbitals is None:
        active = tuple(range(core, orbitals))
    elif isinstance(active_orbitals, list):
        active = _check_orbital_indices(active_orbitals, core, orbitals, whole, active_electrons)
    elif isinstance(active_orbitals, bool) or not isinstance(active_orbitals, int):
        raise TaskError(
            f"molecule: active_orbitals = {active_orbitals!r} must be an integer, a list of orbital indices, or null for all."
        )
    elif not 1 <= active_orbitals <= free:
        raise TaskError(
            f"molecule: active_orbitals = {active_orbitals}, but {whole}; with active_electrons = {active_electrons}, "
            f"{core} of them are core (filled and frozen), so at most {free} remain to be active. Choose "
            f"active_orbitals from 1 to {free}."
        )
    else:
        active = tuple(range(core, core + active_orbitals))
    if 2 * len(active) <= active_electrons:
        raise TaskError(
            f"molecule: {active_electrons} active electrons fill all {len(active)} active orbitals, so no state "
            f"differs from Hartree-Fock; choose active_orbitals > {active_electrons // 2} (at most {free})."
        )
    return core, active


def _check_orbital_indices(indices: list[Any], core: int, orbitals: int, whole: str, active_electrons: int) -> tuple[int, ...]:
    """Distinct indices of orbitals above the core: the active electrons fill the first of them."""
    allowed = f"from {core} to {orbitals - 1}" if core else f"from 0 to {orbitals - 1}"
    fix = f"list distinct orbital indices {allowed}, e.g. {list(range(core, min(core + 3, orbitals)))}"
    if not indices or not all(isinstance(i, int) and not isinstance(i, bool) for i in indices):
        raise TaskError(f"molecule: active_orbitals = {indices!r} must be a non-empty list of integers; {fix}.")
    if len(set(indices)) != len(indices):
        raise TaskError(f"molecule: active_orbitals = {indices!r} names an orbital twice; {fix}.")
    outside = [i for i in indices if not core <= i < orbitals]
    if outside:
        why = (f"with active_electrons = {active_electrons}, orbitals 0 to {core - 1} are core (filled and frozen)"
               if core else "the orbitals are numbered from 0")
        raise TaskError(f"molecule: active_orbitals = {indices!r}: {outside} out of range, since {whole} and {why}; {fix}.")
    return tuple(sorted(indices))
