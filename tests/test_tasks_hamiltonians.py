"""Tests for any user's Hamiltonian: the `molecule` and `pauli` tasks, the spin chains' couplings,
exact diagonalization (dense, sparse, in an electron sector) and its disk cache, every bad input's
message, and each task in the Gymnasium environment and in `qnas search` (in process and on Ray)."""

from __future__ import annotations

import functools
import json
import warnings
from pathlib import Path

import gymnasium
import numpy as np
import optuna
import pytest
import yaml

import qnas.envs  # noqa: F401  (registers qnas/CircuitDesign-v0)
from qnas.cli import main, parse_task_args
from qnas.errors import TaskError
from qnas.tasks import energy_cache, exact, make_task
from qnas.tasks.base import file_sha256
from qnas.tasks.vqe import dense_matrix

PAULI = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0, -1.0]).astype(complex),
}
LIH = {"symbols": ["Li", "H"], "geometry": [[0, 0, 0], [0, 0, 1.5949]]}
H3_PLUS = {"symbols": ["H", "H", "H"], "geometry": [[0, 0, 0], [0, 0, 0.9], [0, 0.78, 0.45]], "charge": 1}
ISING_3 = [[-1.0, "ZZI"], [-1.0, "IZZ"], [-0.5, "XII"], [-0.5, "IXI"], [-0.5, "IIX"]]
VQE_SPACE = """
name: tiny_vqe
task_kinds: [vqe]
fixed: {split: quantum_only, encoding: none, measurement: expval, optimizer: adam, batch_size: 1, epochs: 30}
params:
  n_layers: {int: [1, 2]}
  learning_rate: {float: [0.05, 0.2], log: true}
layer:
  per_layer: false
  rotations: {choices: [RY]}
  entangler: {choices: [linear]}
  entangling_gate: {choices: [CNOT]}
"""


def kron_matrix(terms: list) -> np.ndarray:
    """Independent dense matrix of [[coefficient, word], ...]: Kronecker products, word[0] on the left."""
    return sum(complex(c) * functools.reduce(np.kron, [PAULI[p] for p in w]) for c, w in terms)


def write(path: Path, content: object) -> Path:
    path.write_text(yaml.safe_dump(content) if path.suffix in (".yaml", ".yml") else json.dumps(content))
    return path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty exact-energy cache for one test."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(energy_cache.CACHE_ENV, str(folder))
    return folder


@pytest.fixture
def diagonalizations(monkeypatch: pytest.MonkeyPatch) -> list:
    """Records every exact diagonalization the cache asks for."""
    calls: list = []
    real = energy_cache.ground_energy

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(energy_cache, "ground_energy", spy)
    return calls


# --- exact diagonalization ------------------------------------------------------------------------------


@pytest.mark.parametrize(("n_qubits", "dense"), [(2, True), (3, True), (5, True), (5, False), (7, False)])
def test_ground_energy_matches_numpy_on_random_terms(monkeypatch: pytest.MonkeyPatch, n_qubits: int, dense: bool) -> None:
    if not dense:
        monkeypatch.setattr(exact, "DENSE_DIMENSION", 4)  # so ARPACK's sparse path runs
    rng = np.random.default_rng(n_qubits)
    terms = [[float(rng.normal()), "".join(rng.choice(list("IXYZ"), n_qubits))] for _ in range(12)]
    expected = np.linalg.eigvalsh(kron_matrix(terms))[0]
    assert exact.ground_energy([tuple(t) for t in terms], n_qubits) == pytest.approx(expected, abs=1e-9)


def test_electron_sector_of_an_ion_is_not_the_lowest_state_overall() -> None:
    task = make_task("molecule", **H3_PLUS)
    matrix = dense_matrix(task.hamiltonian, task.n_qubits)
    two = [b for b in range(2**task.n_qubits) if bin(b).count("1") == 2]  # Jordan-Wigner: electrons = ones
    assert task.exact_energy == pytest.approx(np.linalg.eigvalsh(matrix[np.ix_(two, two)])[0], abs=1e-10)
    assert np.linalg.eigvalsh(matrix)[0] < task.exact_energy - 0.04  # neutral H3 is lower: not H3+'s energy
    for mapping in ("parity", "bravyi_kitaev"):
        assert make_task("molecule", **H3_PLUS, mapping=mapping).exact_energy == pytest.approx(task.exact_energy, abs=1e-9)


def test_too_many_qubits_are_refused_before_diagonalizing(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(TaskError, match=r"21 qubits is more than this machine diagonalizes exactly: at most 20\. "):
        exact.ground_energy([(1.0, "Z" * 21)], 21)
    monkeypatch.setattr(exact, "MEMORY_FRACTION", 1e-9)
    with pytest.raises(TaskError, match=r"needs about .* GiB, more than 0% of this machine's .* Use fewer qubits"):
        exact.ground_energy([(1.0, "XX"), (1.0, "ZZ")], 2)


# --- molecule -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shipped", "molecule"),
    [
        ("h2", {"symbols": ["H", "H"], "geometry": [[0, 0, 0], [0, 0, 0.7414]]}),
        ("lih", {**LIH, "active_electrons": 2, "active_orbitals": 2}),
    ],
)
def test_molecule_matches_the_shipped_tasks(shipped: str, molecule: dict) -> None:
    ours, theirs = make_task("molecule", **molecule), make_task(shipped)
    assert ours.exact_energy == pytest.approx(theirs.exact_energy, abs=1e-10)
    assert ours.pauli_terms() == theirs.pauli_terms() and ours.reference_state == theirs.reference_state == (1, 1, 0, 0)
    matrix = dense_matrix(ours.hamiltonian, 4)
    assert ours.exact_energy == pytest.approx(np.linalg.eigvalsh(matrix)[0], abs=1e-10)


def test_molecule_config_round_trip_from_command_line_arguments() -> None:
    args = parse_task_args(['symbols=["Li","H"]', "geometry=[[0,0,0],[0,0,2.2]]", "active_electrons=2", "active_orbitals=3"])
    task = make_task({"name": "molecule", **args})
    config = task.config()
    assert config == {
        "name": "molecule", "symbols": ["Li", "H"], "geometry": [[0.0, 0.0, 0.0], [0.0, 0.0, 2.2]], "charge": 0,
        "mult": 1, "basis": "sto-3g", "mapping": "jordan_wigner", "active_electrons": 2, "active_orbitals": 3,
    }  # no two_qubit_reduction key unless it is set: the configs of earlier studies stay as they were
    assert json.loads(json.dumps(config)) == config
    again = make_task(config)
    assert again.config() == config and again.exact_energy == task.exact_energy
    assert task.n_qubits == 6 and task.reference_state == (1, 1, 0, 0, 0, 0)


LIH4 = {"symbols": ["Li", "H"], "active_electrons": 2, "active_orbitals": [1, 2, 5], "mapping": "parity",
        "two_qubit_reduction": True}
"""The papers' LiH-4: frozen core, orbitals 1, 2 and 5 (the two pi orbitals 3 and 4 left out), parity, reduced."""
SHIPPED_LIH4 = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "hamiltonians"


@pytest.mark.skipif(
    not (SHIPPED_LIH4 / "lih_4q_parity_2.2A.npz").is_file(),
    reason="needs ../shared/benchmarks/hamiltonians (the benchmark data in a folder beside the repo)",
)
@pytest.mark.parametrize("bond_length", [1.2, 2.2, 3.4])
def test_reduced_parity_lih_is_the_shipped_lih4(bond_length: float) -> None:
    ours = make_task("molecule", **LIH4, bond_length=bond_length)
    shipped = np.load(SHIPPED_LIH4 / f"lih_4q_parity_{bond_length}A.npz")
    theirs = make_task("npz", path=str(SHIPPED_LIH4 / f"lih_4q_parity_{bond_length}A.npz"))
    shift = float(shipped["energy_shift"])  # the shipped matrix leaves out the core and nuclear energies
    matrix = dense_matrix(ours.hamiltonian, 4)
    assert ours.n_qubits == 4 and ours.reference_state == theirs.reference_state == (1, 1, 0, 0)
    # the file is stored in complex64; the off-diagonal signs differ by the orbitals' phases, which
    # no energy sees: equal spectra, equal diagonals, equal magnitudes
    np.testing.assert_allclose(np.linalg.eigvalsh(matrix), np.sort(shipped["eigvals"]) + shift, atol=2e-6)
    np.testing.assert_allclose(np.diag(matrix).real, np.diag(shipped["hamiltonian"]).real + shift, atol=2e-6)
    np.testing.assert_allclose(np.abs(matrix - shift * np.eye(16)), np.abs(shipped["hamiltonian"]), atol=2e-6)
    assert ours.exact_energy == pytest.approx(theirs.exact_energy + shift, abs=2e-6)


def test_the_two_qubit_reduction_keeps_every_energy_of_the_electron_count() -> None:
    lih = {"symbols": ["Li", "H"], "bond_length": 2.2, "active_electrons": 2, "active_orbitals": 3}
    full = make_task("molecule", **lih)
    reduced = make_task("molecule", **lih, mapping="parity", two_qubit_reduction=True)
    assert (full.n_qubits, reduced.n_qubits) == (6, 4)
    assert reduced.exact_energy == pytest.approx(full.exact_energy, abs=1e-9)

    def reference_energy(task) -> float:
        index = int("".join(map(str, task.reference_state)), 2)
        return float(dense_matrix(task.hamiltonian, task.n_qubits)[index, index].real)

    assert reference_energy(reduced) == pytest.approx(reference_energy(full), abs=1e-9)
    # the lowest 2-electron levels of the full space are all in the reduced one
    full_matrix = dense_matrix(full.hamiltonian, 6)
    electrons = np.array([bin(i).count("1") for i in range(64)])
    two = np.linalg.eigvalsh(full_matrix[np.ix_(electrons == 2, electrons == 2)])
    ours = np.linalg.eigvalsh(dense_matrix(reduced.hamiltonian, 4))
    for level in two[:4]:
        assert np.min(np.abs(ours - level)) < 1e-9


def test_an_active_space_by_orbital_index_round_trips_through_the_config() -> None:
    task = make_task("molecule", **LIH4, bond_length=2.2)
    config = task.config()
    assert config["active_orbitals"] == [1, 2, 5] and config["two_qubit_reduction"] is True
    assert json.loads(json.dumps(config)) == config and make_task(config).exact_energy == task.exact_energy
    by_count = make_task("molecule", symbols=["Li", "H"], bond_length=2.2, active_electrons=2, active_orbitals=3)
    by_index = make_task("molecule", symbols=["Li", "H"], bond_length=2.2, active_electrons=2, active_orbitals=[1, 2, 3])
    assert by_index.pauli_terms() == by_count.pauli_terms()


def test_hartree_fock_state_in_every_mapping_has_the_same_energy() -> None:
    energies = []
    for mapping in ("jordan_wigner", "parity", "bravyi_kitaev"):
        task = make_task("molecule", **H3_PLUS, mapping=mapping)
        index = int("".join(map(str, task.reference_state)), 2)
        energies.append(dense_matrix(task.hamiltonian, task.n_qubits)[index, index].real)
        assert energies[-1] - task.exact_energy > 1e-4  # Hartree-Fock misses the correlation energy
    assert energies == pytest.approx([energies[0]] * 3, abs=1e-9)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"symbols": ["Li", "Xx"]}, "symbol 'Xx' is not a chemical element"),
        ({"symbols": ["Li", "h"]}, "symbol 'h' is not a chemical element. Did you mean 'H'"),
        ({"symbols": ["Na", "H"]}, "element 'Na' has no basis data offline: pennylane.qchem ships basis sets for H to Ne"),
        ({"symbols": "LiH"}, """must be a list of element symbols.*--task-arg symbols='\\["Li","H"\\]'"""),
        ({"geometry": [[0, 0, 0]]}, r"has shape \(1, 3\), but 2 symbols need \(2, 3\): one \[x, y, z\] row in Å"),
        ({"geometry": [0, 0, 1.6]}, r"has shape \(3,\), but 2 symbols need \(2, 3\)"),
        ({"geometry": [[0, 0, 0], [0, 1]]}, r"has an unreadable shape, but 2 symbols need \(2, 3\)"),
        ({"geometry": [[0, 0, 0], [0, 0, "far"]]}, "unreadable shape"),
        ({"geometry": [[0, 0, 0], [0, 0, 0.01]]}, "are 0.01 Å apart, closer than 0.1 Å; check geometry"),
        ({"active_electrons": 6}, "active_electrons = 6, but LiH in sto-3g has 4 electrons in 6 spatial orbitals"),
        ({"active_electrons": 3}, "choose an even number from 2 to 4"),
        ({"active_electrons": 2, "active_orbitals": 6}, "at most 5 remain to be active. Choose active_orbitals from 1 to 5"),
        ({"active_electrons": 2, "active_orbitals": 1}, "fill all 1 active orbitals.*choose active_orbitals > 1"),
        ({"charge": 1}, "has 3 electrons: an open shell.*closed shells only"),
        ({"mult": 3}, "mult 3 has 4 electrons: an open shell.*set mult to 1"),
        ({"charge": 3}, "LiH with charge 3 has 1 electrons; a ground-state task needs at least 2. Lower the charge"),
        ({"basis": "sto-6g"}, r"basis = 'sto-6g' is not allowed; allowed values: \['sto-3g', '6-31g', '6-311g', 'cc-pvdz'\]"),
        ({"mapping": "jordan-wigner"}, "mapping = 'jordan-wigner' is not allowed.*Did you mean 'jordan_wigner'"),
        ({"two_qubit_reduction": True}, "two_qubit_reduction drops .* but mapping = 'jordan_wigner'; set mapping=parity"),
        ({"two_qubit_reduction": "yes", "mapping": "parity"}, "two_qubit_reduction = 'yes' must be true or false"),
        ({"active_electrons": 2, "active_orbitals": [0, 1, 2]}, r"\[0\] out of range, since .* orbitals 0 to 0 are core"),
        ({"active_electrons": 2, "active_orbitals": [1, 2, 9]}, r"\[9\] out of range.*list distinct orbital indices from 1 to 5"),
        ({"active_electrons": 2, "active_orbitals": [1, 1, 2]}, "names an orbital twice"),
        ({"active_electrons": 2, "active_orbitals": ["1", 2]}, "must be a non-empty list of integers"),
        ({"active_electrons": 2, "active_orbitals": [3]}, "fill all 1 active orbitals"),
        ({"basis": "cc-pvdz"}, r"molecule LiH: 40 qubits is more than this machine diagonalizes exactly: at most 20.*"
                               r"at most 10 orbitals"),
    ],
)
def test_bad_molecules_are_clear_errors(changes: dict, fragment: str) -> None:
    with pytest.raises(TaskError, match=fragment):
        make_task("molecule", **{**LIH, **changes})


# --- spin chains ----------------------------------------------------------------------------------------


def xxz_terms(n: int, J: float, delta: float, h: float, periodic: bool) -> list:
    bonds = [(i, i + 1) for i in range(n - 1)] + ([(n - 1, 0)] if periodic else [])
    terms = []
    for i, j in bonds:
        for letter, scale in (("X", 1.0), ("Y", 1.0), ("Z", delta)):
            word = ["I"] * n
            word[i] = word[j] = letter
            terms.append([J * scale, "".join(word)])
    return terms + [[h, "".join("Z" if k == i else "I" for k in range(n))] for i in range(n)]


@pytest.mark.parametrize(("J", "delta", "h", "periodic"), [(1.0, 1.0, 0.0, False), (0.8, 0.5, 0.3, True), (-1.0, 2.0, 0.0, True)])
def test_xxz_chain_matches_independent_matrix(J: float, delta: float, h: float, periodic: bool) -> None:
    task = make_task("heisenberg", n=4, J=J, delta=delta, h=h, periodic=periodic)
    expected = kron_matrix(xxz_terms(4, J, delta, h, periodic))
    np.testing.assert_allclose(dense_matrix(task.hamiltonian, 4), expected, atol=1e-12)
    assert task.exact_energy == pytest.approx(np.linalg.eigvalsh(expected)[0], abs=1e-10)
    assert task.config() == {"name": "heisenberg", "n": 4, "J": J, "delta": delta, "h": h, "periodic": periodic}


def test_heisenberg_defaults_stay_the_isotropic_chain() -> None:
    assert make_task("heisenberg", n=2, J=0.5).exact_energy == pytest.approx(-1.5, abs=1e-12)  # the singlet
    assert len(make_task("heisenberg").pauli_terms()) == 9  # no field terms at h = 0


def test_a_chain_longer_than_exact_diagonalization_allows_says_the_limit() -> None:
    for name in ("tfim", "heisenberg"):
        with pytest.raises(TaskError, match=rf"{name}: 21 qubits .* at most 20\..*Use a shorter chain \(n\)"):
            make_task(name, n=21)


# --- pauli file -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_pauli_file_matches_independent_matrix(tmp_path: Path, suffix: str) -> None:
    terms = [[0.5, "XYZ"], [0.5, "YXZ"], [-0.7, "ZIZ"], ["0.3+0j", "IYY"], [0.25, "III"], [0.1, "ZIZ"]]
    task = make_task("pauli", path=str(write(tmp_path / f"h{suffix}", terms)))
    expected = kron_matrix(terms)
    assert task.n_qubits == 3 and task.exact_energy == pytest.approx(np.linalg.eigvalsh(expected)[0], abs=1e-10)
    assert dict((w, c) for c, w in task.pauli_terms())["ZIZ"] == pytest.approx(-0.6)  # repeated words add up
    diagonal = np.real(np.diag(expected))
    assert int("".join(map(str, task.reference_state)), 2) == int(np.argmin(diagonal))
    assert task.data_sha256 == file_sha256(str(tmp_path / f"h{suffix}"))


def test_pauli_reference_state_from_file_or_argument_and_config_round_trip(tmp_path: Path) -> None:
    path = write(tmp_path / "ising.yaml", {"terms": ISING_3, "reference_state": [1, 0, 1]})
    from_file = make_task("pauli", path=str(path))
    assert from_file.reference_state == (1, 0, 1)
    assert from_file.config() == {"name": "pauli", "path": str(path), "reference_state": None}
    argument = make_task({"name": "pauli", **parse_task_args([f"path={path}", "reference_state=[0,1,1]"])})
    assert argument.reference_state == (0, 1, 1) and argument.config()["reference_state"] == [0, 1, 1]
    assert make_task("pauli", path=str(path), reference_state="011").config() == argument.config()
    again = make_task(argument.config())
    assert again.config() == argument.config() and again.exact_energy == argument.exact_energy


def test_pauli_relative_path_is_stored_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "h.json", ISING_3)
    monkeypatch.chdir(tmp_path)
    task = make_task("pauli", path="h.json")
    assert task.config()["path"] == str(tmp_path / "h.json")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ([], "holds an empty list, not a list of \\[coefficient, \"PAULIWORD\"\\] pairs"),
        ({"reference_state": [0, 0, 0]}, "is a mapping without 'terms'"),
        ({"terms": ISING_3, "reference": [0, 0, 0]}, "has key 'reference'.*Did you mean 'reference_state'"),
        ("ZZ", "holds str 'ZZ', not a list"),
        ([[0.5, "ZZ", 1]], "term 0 of .*, must be a pair \\[coefficient, \"PAULIWORD\"\\]"),
        ([["half", "ZZ"]], "term 0 of .*: the coefficient 'half' is not a finite number"),
        ([[float("nan"), "ZZ"]], "the coefficient nan is not a finite number"),
        ([[0.5, "ZA"]], "'ZA' is not a Pauli word; write one upper-case letter I, X, Y or Z per qubit"),
        ([[0.5, "zz"]], "'zz' is not a Pauli word"),
        ([[0.5, "ZZ"], [1.0, "XXX"]], "term 1 of .*its Pauli word has 3 letters, but the first term's 'ZZ' has 2"),
        ([[0.5, "ZZ"], ["0.2j", "XY"]], "not Hermitian: word 'XY' has coefficient 0.2j"),
        ({"terms": ISING_3, "reference_state": [1, 0]}, "reference_state in .* = \\[1, 0\\] must be 3 bits"),
        ({"terms": ISING_3, "reference_state": [1, 2, 0]}, "must be 3 bits, one per qubit"),
        ([[1.0, "Z" * 21]], "21 qubits is more than this machine diagonalizes exactly: at most 20"),
    ],
)
def test_bad_pauli_files_are_clear_errors(tmp_path: Path, content: object, fragment: str) -> None:
    with pytest.raises(TaskError, match=fragment):
        make_task("pauli", path=str(write(tmp_path / "h.json", content)))


def test_pauli_terms_that_cancel_to_real_are_hermitian(tmp_path: Path) -> None:
    task = make_task("pauli", path=str(write(tmp_path / "h.json", [["0.5+0.2j", "XY"], ["0.5-0.2j", "XY"]])))
    assert task.pauli_terms() == [(1.0, "XY")]


@pytest.mark.parametrize(
    ("name", "text", "kwargs", "fragment"),
    [
        ("h.txt", "[]", {}, "must end in .json, .yaml or .yml"),
        ("missing.json", None, {}, "was not found"),
        ("h.json", "[[0.5, 'ZZ']]", {}, "is not readable JSON"),
        ("h.yaml", "terms: [[0.5, ZZ]\n", {}, "is not readable YAML"),
        ("h.json", json.dumps(ISING_3), {"reference_state": 101}, "reference_state = 101 must be 3 bits.*"
                                                                  r"--task-arg reference_state=\[1,0,0\]"),
    ],
)
def test_bad_pauli_paths_and_arguments(tmp_path: Path, name: str, text: str | None, kwargs: dict, fragment: str) -> None:
    if text is not None:
        (tmp_path / name).write_text(text)
    with pytest.raises(TaskError, match=fragment):
        make_task("pauli", path=str(tmp_path / name), **kwargs)
    with pytest.raises(TaskError, match="path = None must be a file path"):
        make_task("pauli")


# --- the exact-energy cache -----------------------------------------------------------------------------


def test_cache_is_written_once_and_reused(cache: Path, diagonalizations: list) -> None:
    first = make_task("tfim", n=5, h=0.37)
    files = list((cache / "exact_energies").iterdir())
    assert len(diagonalizations) == 1 and len(files) == 1 and files[0].suffix == ".json"
    entry = json.loads(files[0].read_text())
    assert entry["energy"] == first.exact_energy and entry["schema"] == energy_cache.SCHEMA
    second = make_task("tfim", n=5, h=0.37)
    assert len(diagonalizations) == 1 and second.exact_energy == first.exact_energy
    make_task("tfim", n=5, h=0.38)
    assert len(diagonalizations) == 2
    assert not [p for p in (cache / "exact_energies").iterdir() if p.suffix != ".json"]  # no temporary left


@pytest.mark.parametrize(
    "damage",
    [b"", b"{not json", b"\x80\x04\x95pickle", b'{"schema": "qnas.exact_energy/1", "key": "other", "energy": -1.0}',
     b'{"schema": "qnas.exact_energy/1", "key": "KEY", "energy": "low"}', b"[1, 2]"],
)
def test_a_damaged_cache_file_is_ignored_and_rewritten(cache: Path, diagonalizations: list, damage: bytes) -> None:
    task = make_task("tfim", n=4, h=0.61)
    (path,) = (cache / "exact_energies").iterdir()
    path.write_bytes(damage.replace(b"KEY", path.stem.encode()))
    again = make_task("tfim", n=4, h=0.61)
    assert len(diagonalizations) == 2 and again.exact_energy == task.exact_energy
    assert json.loads(path.read_text())["energy"] == task.exact_energy


def test_an_unwritable_cache_warns_and_still_gives_the_energy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.setenv(energy_cache.CACHE_ENV, str(tmp_path / "file" / "cache"))
    with pytest.warns(UserWarning, match="could not write the exact-energy cache .* Set QNAS_CACHE_DIR"):
        task = make_task("tfim", n=3, h=0.2)
    assert task.exact_energy == pytest.approx(np.linalg.eigvalsh(dense_matrix(task.hamiltonian, 3))[0])


def test_cache_location_and_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(energy_cache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert energy_cache.cache_dir() == tmp_path / "qnas"
    key = energy_cache.hamiltonian_key
    terms = [(0.5, "ZZ"), (-0.3, "XI")]
    assert key(terms, 2) == key(list(reversed(terms)), 2) == key([(0.5 + 1e-16, "ZZ"), (-0.3, "XI")], 2)
    assert key(terms, 2) != key([(0.5, "ZZ"), (-0.31, "XI")], 2)
    assert key(terms, 2) != key(terms, 2, exact.Sector(((1.0, "ZI"),), 1.0))


def test_workers_read_the_energy_from_the_cache(cache: Path) -> None:
    """A cache entry is trusted as it is: a planted energy shows that a second build reads, not recomputes."""
    task = make_task("tfim", n=3, h=0.9)
    (path,) = (cache / "exact_energies").iterdir()
    path.write_text(json.dumps({**json.loads(path.read_text()), "energy": task.exact_energy - 1.0}))
    assert make_task(task.config()).exact_energy == task.exact_energy - 1.0


# --- the environment and the search ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["molecule", "pauli"])
def test_gymnasium_make_with_a_molecule_or_pauli_task(tmp_path: Path, kind: str) -> None:
    if kind == "molecule":
        config = {"name": "molecule", **LIH, "active_electrons": 2, "active_orbitals": 2}
    else:
        config = {"name": "pauli", "path": str(write(tmp_path / "ising.json", ISING_3))}
    env = gymnasium.make("qnas/CircuitDesign-v0", task=config)
    _, info = env.reset(seed=0)
    assert env.unwrapped.task.config()["name"] == kind
    mask = env.unwrapped.action_masks()
    _, _, _, _, info = env.step(int(np.flatnonzero(mask)[0]))
    assert info["energy_error"] >= -1e-9
    env.close()


def _search(storage: str, space: Path, study: str, task_args: list[str], task: str, workers: str) -> int:
    args = ["search", "--task", task, "--space", str(space), "--trials", "2", "--workers", workers, "--seed", "0"]
    for arg in task_args:
        args += ["--task-arg", arg]
    return main([*args, "--storage", storage, "--study", study])


def _energies(storage: str, study: str) -> list[tuple[float, float]]:
    trials = optuna.load_study(study_name=study, storage=storage).trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 2
    return [(t.user_attrs["metrics"]["energy"], t.value) for t in trials]


def test_qnas_search_on_a_pauli_file_in_process(tmp_path: Path, storage: str) -> None:
    hamiltonian = write(tmp_path / "ising.json", ISING_3)
    space = tmp_path / "tiny_vqe.yaml"
    space.write_text(VQE_SPACE)
    assert _search(storage, space, "pauli", [f"path={hamiltonian}"], "pauli", "0") == 0
    exact_energy = np.linalg.eigvalsh(kron_matrix(ISING_3))[0]
    for energy, error in _energies(storage, "pauli"):
        assert error == pytest.approx(energy - exact_energy, abs=1e-9) and error >= -1e-9


def test_qnas_search_on_a_molecule_with_ray_workers(tmp_path: Path, storage: str, cache: Path) -> None:
    args = ['symbols=["H","H"]', "geometry=[[0,0,0],[0,0,0.9]]"]
    task = make_task({"name": "molecule", **parse_task_args(args)})
    (path,) = (cache / "exact_energies").iterdir()
    planted = task.exact_energy - 1.0  # a worker that diagonalized again would score against the true energy
    path.write_text(json.dumps({**json.loads(path.read_text()), "energy": planted}))
    space = tmp_path / "tiny_vqe.yaml"
    space.write_text(VQE_SPACE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert _search(storage, space, "h2-ray", args, "molecule", "1") == 0
    for energy, error in _energies(storage, "h2-ray"):
        assert error == pytest.approx(energy - planted, abs=1e-9)
        assert energy >= task.exact_energy - 1e-9


def test_a_diatomic_molecule_takes_a_bond_length_in_place_of_a_geometry() -> None:
    by_length = make_task({"name": "molecule", "symbols": ["H", "H"], "bond_length": 0.9})
    by_geometry = make_task({"name": "molecule", "symbols": ["H", "H"], "geometry": [[0, 0, 0], [0, 0, 0.9]]})
    assert by_length.exact_energy == pytest.approx(by_geometry.exact_energy, abs=1e-10)
    assert by_length.config()["bond_length"] == 0.9 and "geometry" not in by_length.config()
    assert make_task(by_length.config()).exact_energy == pytest.approx(by_length.exact_energy, abs=1e-12)
    with pytest.raises(TaskError, match="give geometry or bond_length .* not both"):
        make_task({"name": "molecule", "symbols": ["H", "H"], "bond_length": 0.9, "geometry": [[0, 0, 0], [0, 0, 1]]})
    with pytest.raises(TaskError, match=r"bond_length places two atoms, but symbols \['H', 'H', 'H'\] has 3"):
        make_task({"name": "molecule", "symbols": ["H", "H", "H"], "bond_length": 0.9})
