"""Tests for qnas.tasks: datasets and splits, Hamiltonians and exact energies, target states,
the CSV loader's error messages, and make_task's config round trip."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pennylane as qml
import pytest
import torch

from qnas.errors import TaskError
from qnas.tasks import TASK_NAMES, ClassificationTask, StatePrepTask, VQETask, make_task, molecule, task_kwargs, vqe

BENCHMARKS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "hamiltonians"
PAULI = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0, -1.0]).astype(complex),
}
BUILTIN = [name for name in TASK_NAMES if name not in ("csv", "npz", "pauli", "molecule")]  # these need a file or a molecule


@functools.cache
def task(name: str) -> object:
    """One build per name for the whole module: LiH's build runs Hartree-Fock and its integrals."""
    return make_task(name)


def kron_word(word: str) -> np.ndarray:
    """Dense matrix of a Pauli word, character i acting on wire i (wire 0 most significant)."""
    return functools.reduce(np.kron, (PAULI[c] for c in word))


def write_csv(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def labelled_rows(n_per_class: int, labels: tuple[str, ...] = ("cat", "dog")) -> str:
    rows = ["a,b,label"]
    for k, label in enumerate(labels):
        rows += [f"{i * 0.5 + k},{i - 3 * k},{label}" for i in range(n_per_class)]
    return "\n".join(rows) + "\n"


# --- every task -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILTIN)
def test_task_interface(name: str) -> None:
    t = task(name)
    expected = {
        "classification": ("accuracy", "maximize"),
        "vqe": ("energy_error", "minimize"),
        "state_prep": ("fidelity", "maximize"),
    }
    assert t.name == name
    assert (t.metric, t.direction) == expected[t.kind]
    if t.kind == "classification":
        assert t.required_qubits is None
    else:
        assert t.required_qubits == t.n_qubits >= 2
    line = t.describe()
    assert line.startswith(f"{name}: ") and "\n" not in line
    config = t.config()
    assert json.loads(json.dumps(config)) == config
    assert config["name"] == name
    assert set(config) - {"name"} == set(task_kwargs(name))


@pytest.mark.parametrize("name", BUILTIN)
def test_config_round_trip_rebuilds_equal_task(name: str) -> None:
    t = task(name)
    again = make_task(t.config())
    assert type(again) is type(t) and again.config() == t.config()
    if isinstance(t, ClassificationTask):
        for attr in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "feature_mean", "feature_std"):
            np.testing.assert_array_equal(getattr(again, attr), getattr(t, attr))
        assert (again.feature_names, again.class_names) == (t.feature_names, t.class_names)
    elif isinstance(t, VQETask):
        assert again.pauli_terms() == t.pauli_terms() and again.exact_energy == t.exact_energy
    else:
        np.testing.assert_array_equal(again.target_state, t.target_state)


# --- classification -----------------------------------------------------------------------------------


def test_moons_shapes_dtypes_and_describe() -> None:
    t = task("moons")
    assert t.x_train.shape == (300, 2) and t.x_val.shape == (100, 2) and t.x_test.shape == (100, 2)
    assert t.x_train.dtype == np.float32 and t.y_train.dtype == np.int64
    assert t.feature_mean.dtype == np.float32 and t.feature_std.dtype == np.float32
    assert (t.n_features, t.n_classes) == (2, 2)
    assert t.class_names == ["upper", "lower"]
    assert t.describe() == "moons: 2 features, 2 classes, 300/100/100 train/val/test"


@pytest.mark.parametrize(
    ("name", "n_features", "n_classes", "n_rows"),
    [("circles", 2, 2, 500), ("iris", 4, 3, 150), ("breast_cancer", 30, 2, 569), ("wine", 13, 3, 178),
     ("digits", 8, 10, 1797)],
)
def test_dataset_sizes_and_labels(name: str, n_features: int, n_classes: int, n_rows: int) -> None:
    t = task(name)
    assert (t.n_features, t.n_classes) == (n_features, n_classes)
    assert len(t.feature_names) == n_features and all(isinstance(c, str) for c in t.class_names)
    assert len(t.y_train) + len(t.y_val) + len(t.y_test) == n_rows
    for y in (t.y_train, t.y_val, t.y_test):
        assert set(np.unique(y)) == set(range(n_classes))
    assert abs(len(t.y_train) - 0.6 * n_rows) <= 2 and abs(len(t.y_test) - 0.2 * n_rows) <= 1


@pytest.mark.parametrize("name", ["breast_cancer", "wine", "digits"])
def test_splits_are_stratified(name: str) -> None:
    t = task(name)
    y_all = np.concatenate([t.y_train, t.y_val, t.y_test])
    overall = np.bincount(y_all) / len(y_all)
    for y in (t.y_train, t.y_val, t.y_test):
        # Stratification keeps every class within one row of its overall share in each split.
        assert np.all(np.abs(np.bincount(y, minlength=t.n_classes) - overall * len(y)) <= 1.0)


def test_splits_do_not_overlap() -> None:
    t = task("breast_cancer")
    rows = [set(map(bytes, x)) for x in (t.x_train, t.x_val, t.x_test)]
    assert sum(map(len, rows)) == 569  # breast_cancer has no duplicate rows
    assert not rows[0] & rows[1] and not rows[0] & rows[2] and not rows[1] & rows[2]


def test_seed_reproducibility() -> None:
    a, b, c = make_task("moons", seed=3), make_task("moons", seed=3), make_task("moons", seed=4)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_val, b.y_val)
    assert not np.array_equal(a.x_train, c.x_train)
    wine_a, wine_b = make_task("wine", seed=1), task("wine")
    assert not np.array_equal(wine_a.x_train, wine_b.x_train)  # same data, different split


def test_feature_statistics_come_from_train_split_and_data_stay_raw() -> None:
    t = task("wine")
    np.testing.assert_allclose(t.feature_mean, t.x_train.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(t.feature_std, t.x_train.std(axis=0), rtol=1e-4)
    assert t.x_train[:, 12].max() > 100  # proline stays in raw units: the model standardizes


def test_kwargs_are_overridable_and_reflected_in_config() -> None:
    t = make_task("moons", n_samples=200, noise=0.3, seed=5)
    assert (len(t.y_train), len(t.y_val), len(t.y_test)) == (120, 40, 40)
    assert t.config() == {"name": "moons", "n_samples": 200, "noise": 0.3, "seed": 5}
    c = make_task({"name": "circles", "factor": 0.3}, seed=2)
    assert c.config() == {"name": "circles", "n_samples": 500, "noise": 0.1, "factor": 0.3, "seed": 2}
    radii = np.linalg.norm(np.concatenate([c.x_train, c.x_val, c.x_test]), axis=1)
    assert np.median(radii) < 0.8  # half the points now sit near radius 0.3


def test_digits_pca_fitted_on_train_only() -> None:
    t = make_task("digits", n_components=5)
    assert t.n_features == 5 and t.feature_names == ["pc1", "pc2", "pc3", "pc4", "pc5"]
    np.testing.assert_allclose(t.x_train.mean(axis=0), 0.0, atol=1e-4)  # PCA centres on train rows
    assert np.abs(t.x_val.mean(axis=0)).max() > 1e-3  # held-out rows were not used to fit it
    assert np.all(np.diff(t.x_train.var(axis=0)) < 0)  # components ordered by explained variance


# --- VQE ----------------------------------------------------------------------------------------------


def test_h2_exact_energy() -> None:
    t = task("h2")
    assert t.n_qubits == 4 and t.required_qubits == 4
    assert t.exact_energy == pytest.approx(-1.13727, abs=1e-4)
    assert t.energy_error(-1.0) == pytest.approx(-1.0 - t.exact_energy)
    assert float(t.energy_error(torch.tensor(-1.0, dtype=torch.float64))) == pytest.approx(-1.0 - t.exact_energy)


@pytest.mark.skipif(
    not (BENCHMARKS / "h2_4q_jw_0.7414A.npz").is_file(),
    reason="needs ../shared/benchmarks/hamiltonians (the benchmark data in a folder beside the repo)",
)
def test_h2_spectrum_matches_published_benchmark_hamiltonian() -> None:
    reference = np.load(BENCHMARKS / "h2_4q_jw_0.7414A.npz")
    ours = np.linalg.eigvalsh(vqe.dense_matrix(task("h2").hamiltonian, 4))
    np.testing.assert_allclose(ours, reference["eigvals"] + reference["energy_shift"], atol=1e-5)


def test_lih_active_space_and_cache() -> None:
    t = task("lih")
    assert t.n_qubits == 4 and t.config() == {"name": "lih", "bond_length": 1.5949}
    # Between the Hartree-Fock energy of STO-3G LiH (about -7.86) and its full-space FCI (-7.882).
    assert -7.885 < t.exact_energy < -7.85
    hits = molecule._molecular_hamiltonian.cache_info().hits
    assert make_task("lih").exact_energy == t.exact_energy
    assert molecule._molecular_hamiltonian.cache_info().hits == hits + 1


def tfim_numpy(n: int, J: float, h: float, periodic: bool) -> np.ndarray:
    """Independent construction from explicit Kronecker products."""

    def site(op: np.ndarray, i: int) -> np.ndarray:
        return functools.reduce(np.kron, [op if k == i else np.eye(2) for k in range(n)])

    z, x = PAULI["Z"].real, PAULI["X"].real
    bonds = [(i, i + 1) for i in range(n - 1)] + ([(n - 1, 0)] if periodic else [])
    return -J * sum(site(z, i) @ site(z, j) for i, j in bonds) - h * sum(site(x, i) for i in range(n))


@pytest.mark.parametrize(("J", "h", "periodic"), [(1.0, 1.0, False), (0.7, 1.3, True)])
def test_tfim_matches_independent_numpy_hamiltonian(J: float, h: float, periodic: bool) -> None:
    t = make_task("tfim", n=4, J=J, h=h, periodic=periodic)
    expected = tfim_numpy(4, J, h, periodic)
    np.testing.assert_allclose(vqe.dense_matrix(t.hamiltonian, 4), expected, atol=1e-12)
    assert t.exact_energy == pytest.approx(np.linalg.eigvalsh(expected)[0], abs=1e-10)
    if (J, h, periodic) == (1.0, 1.0, False):
        assert t.exact_energy == pytest.approx(-4.758770, abs=1e-6)


def test_heisenberg_two_sites_is_singlet_energy() -> None:
    # For two spins XX+YY+ZZ has eigenvalues {1, 1, 1, -3}: the singlet sits at -3J.
    assert make_task("heisenberg", n=2, J=0.5).exact_energy == pytest.approx(-1.5, abs=1e-12)


@pytest.mark.parametrize("name", ["h2", "lih", "tfim", "heisenberg"])
def test_pauli_terms_rebuild_the_hamiltonian_exactly(name: str) -> None:
    t = task(name)
    terms = t.pauli_terms()
    assert all(isinstance(c, float) and len(w) == t.n_qubits and set(w) <= set("IXYZ") for c, w in terms)
    rebuilt = sum(c * kron_word(w) for c, w in terms)
    np.testing.assert_allclose(rebuilt, qml.matrix(t.hamiltonian, wire_order=range(t.n_qubits)), atol=1e-12)


# --- state preparation --------------------------------------------------------------------------------


def test_state_prep_targets_and_fidelity() -> None:
    bell, ghz = task("bell"), make_task("ghz", n=4)
    assert isinstance(bell, StatePrepTask) and bell.target_state.dtype == np.complex128
    np.testing.assert_allclose(bell.target_state, np.array([1, 0, 0, 1]) / np.sqrt(2))
    assert ghz.n_qubits == 4 and ghz.target_state[0] == ghz.target_state[15] == pytest.approx(2**-0.5)
    assert ghz.fidelity(ghz.target_state) == pytest.approx(1.0, abs=1e-12)
    zero = np.zeros(16, dtype=complex)
    zero[0] = 1
    assert ghz.fidelity(zero) == pytest.approx(0.5)
    phase = torch.tensor(bell.target_state * np.exp(0.3j), dtype=torch.complex64, requires_grad=False)
    assert bell.fidelity(phase) == pytest.approx(1.0, abs=1e-6)  # global phase does not count
    assert bell.fidelity(torch.tensor([0, 1, 0, 0], dtype=torch.complex64)) == pytest.approx(0.0)
    with pytest.raises(TaskError, match="8 amplitudes but the target has 4"):
        bell.fidelity(np.zeros(8))


# --- make_task errors ---------------------------------------------------------------------------------


def test_unknown_name_suggests_closest() -> None:
    with pytest.raises(TaskError, match="Did you mean 'moons'"):
        make_task("moosn")
    with pytest.raises(TaskError, match="Did you mean 'breast_cancer'"):
        make_task("breast-cancer")
    with pytest.raises(TaskError, match="no 'name' key"):
        make_task({"noise": 0.1})


def test_unknown_kwarg_names_allowed_kwargs() -> None:
    with pytest.raises(TaskError, match=r"'nosie'.*\['n_samples', 'noise', 'seed'\].*Did you mean 'noise'"):
        make_task("moons", nosie=0.1)
    with pytest.raises(TaskError, match="'bell' takes no keyword arguments"):
        make_task("bell", n=3)


@pytest.mark.parametrize(
    ("name", "kwargs", "fragment"),
    [
        ("ghz", {"n": 1}, r"n = 1 must be an integer in \[2, 20\]"),
        ("ghz", {"n": 21}, r"n = 21 must be an integer in \[2, 20\]"),
        ("ghz", {"n": 3.0}, r"n = 3.0 must be an integer"),
        ("tfim", {"n": 1}, r"n = 1 must be an integer in \[2, 20\]"),
        ("tfim", {"n": 2, "periodic": True}, "periodic=True needs n >= 3"),
        ("tfim", {"periodic": "yes"}, "periodic = 'yes' must be true or false"),
        ("moons", {"noise": -0.1}, r"noise = -0.1 must be a finite number"),
        ("moons", {"seed": True}, "seed = True must be an integer"),
        ("circles", {"factor": 1.0}, "factor = 1.0"),
        ("digits", {"n_components": 65}, r"n_components = 65 must be an integer in \[1, 64\]"),
        ("h2", {"bond_length": 0}, "bond_length = 0 must be a finite number"),
    ],
)
def test_invalid_kwarg_values(name: str, kwargs: dict, fragment: str) -> None:
    with pytest.raises(TaskError, match=fragment):
        make_task(name, **kwargs)


# --- CSV ----------------------------------------------------------------------------------------------


def test_csv_string_labels(tmp_path: Path) -> None:
    path = write_csv(tmp_path, labelled_rows(10))
    t = make_task("csv", data=str(path), target="label")
    assert t.feature_names == ["a", "b"] and t.class_names == ["cat", "dog"]
    assert (len(t.y_train), len(t.y_val), len(t.y_test)) == (12, 4, 4)
    assert t.config() == {"name": "csv", "data": str(path), "target": "label", "seed": 0}
    again = make_task(t.config())
    np.testing.assert_array_equal(again.x_test, t.x_test)
    np.testing.assert_array_equal(again.y_train, t.y_train)


def test_csv_relative_path_is_stored_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_csv(tmp_path, labelled_rows(10))
    monkeypatch.chdir(tmp_path)
    t = make_task("csv", data="data.csv", target="label")
    monkeypatch.chdir(tmp_path.parent)  # a worker in another directory still finds the file
    assert t.config()["data"] == str(tmp_path / "data.csv")
    np.testing.assert_array_equal(make_task(t.config()).x_train, t.x_train)


def test_csv_integer_labels_and_constant_feature(tmp_path: Path) -> None:
    rows = ["x,const,y"] + [f"{i},7,{i % 3 + 1}" for i in range(30)]
    t = make_task("csv", data=write_csv(tmp_path, "\n".join(rows)), target="y", seed=1)
    assert t.class_names == ["1", "2", "3"] and t.n_classes == 3
    assert set(np.unique(t.y_train)) == {0, 1, 2}
    assert t.feature_std[1] == pytest.approx(1e-8)  # constant column: std floored, no division by zero
    x_all = np.concatenate([t.x_train, t.x_val, t.x_test])[:, 0]
    y_all = np.concatenate([t.y_train, t.y_val, t.y_test])
    np.testing.assert_array_equal(y_all, x_all.astype(int) % 3)  # rows keep their own labels


def test_csv_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match=r"missing\.csv' was not found.*make_task\('csv', data="):
        make_task("csv", data=str(tmp_path / "missing.csv"), target="label")


def test_csv_requires_data_and_target(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="csv task needs target"):
        make_task("csv", data=str(write_csv(tmp_path, labelled_rows(10))))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "is empty. It needs a header row"),
        ("a,b,label\n", "has a header .* but no data rows"),
        ('a,b,label\n1,2,x\n1,2,3,4,5\n"unterminated', "is not a well-formed CSV"),
    ],
)
def test_csv_malformed_or_empty(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(TaskError, match=fragment):
        make_task("csv", data=write_csv(tmp_path, text), target="label")


def test_csv_target_missing_lists_columns_and_suggests(tmp_path: Path) -> None:
    with pytest.raises(TaskError) as info:
        make_task("csv", data=write_csv(tmp_path, labelled_rows(10)), target="lable")
    message = str(info.value)
    assert "'lable' is not in" in message and "['a', 'b', 'label']" in message
    assert "Did you mean 'label'?" in message
    assert "with --target COLUMN" in message  # the CLI's flag, not a key=value it does not take


def test_csv_missing_cells(tmp_path: Path) -> None:
    text = labelled_rows(10).replace("0.5,1,cat", "0.5,,cat").replace("1.5,3,cat", "NaN,3,")
    with pytest.raises(TaskError) as info:
        make_task("csv", data=write_csv(tmp_path, text), target="label")
    message = str(info.value)
    assert "'a' (1 row)" in message and "'b' (1 row)" in message and "'label' (1 row)" in message
    assert "2 of 20 rows" in message and "dropna" in message and "impute" in message


def test_csv_non_numeric_feature(tmp_path: Path) -> None:
    rows = ["size,colour,label"] + [f"{i},{'red' if i % 2 else 'blue'},{i % 2}" for i in range(20)]
    with pytest.raises(TaskError) as info:
        make_task("csv", data=write_csv(tmp_path, "\n".join(rows)), target="label")
    message = str(info.value)
    assert "'colour'" in message and "not numeric" in message and "'blue'" in message
    assert "get_dummies" in message and "drop the column" in message


def test_csv_single_class(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="target column 'label' .* has only one class \\('cat'\\).*at least 2"):
        make_task("csv", data=write_csv(tmp_path, labelled_rows(10, ("cat",))), target="label")


def test_csv_too_few_rows_per_class(tmp_path: Path) -> None:
    text = labelled_rows(10) + "9,9,eel\n9.5,8,eel\n"
    with pytest.raises(TaskError) as info:
        make_task("csv", data=write_csv(tmp_path, text), target="label")
    message = str(info.value)
    assert "column 'label'" in message and "class 'eel' has 2 rows" in message
    assert "at least 5 rows per class" in message


def test_csv_continuous_target(tmp_path: Path) -> None:
    rows = ["x,price"] + [f"{i},{i * 1.25}" for i in range(20)]
    with pytest.raises(TaskError, match="'price' .* non-integer numbers .*bin the values"):
        make_task("csv", data=write_csv(tmp_path, "\n".join(rows)), target="price")


def test_npz_hamiltonian_matches_the_same_operator_built_directly(tmp_path) -> None:
    from qnas.tasks.vqe import dense_matrix

    tfim = make_task("tfim", n=3, h=0.7)
    path = tmp_path / "tfim.npz"
    np.savez(path, hamiltonian=dense_matrix(tfim.hamiltonian, 3))
    task = make_task("npz", path=str(path))
    assert task.kind == "vqe" and task.required_qubits == 3
    assert task.exact_energy == pytest.approx(tfim.exact_energy, abs=1e-10)
    diagonal = np.real(np.diag(dense_matrix(tfim.hamiltonian, 3)))
    assert int("".join(map(str, task.reference_state)), 2) == int(np.argmin(diagonal))
    assert make_task(task.config()).exact_energy == pytest.approx(task.exact_energy)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "was not found"),
        ({"matrix": np.eye(4)}, "not 'hamiltonian'"),
        ({"hamiltonian": np.eye(3)}, "has shape \\(3, 3\\)"),
        ({"hamiltonian": np.array([[0, 1], [0, 0]])}, "not Hermitian"),
        ({"hamiltonian": np.array([[np.nan, 0], [0, 1]])}, "NaN"),
        ({"hamiltonian": np.array([object(), object()], dtype=object)}, "without pickled objects"),
    ],
)
def test_bad_npz_hamiltonians_are_clear_errors(tmp_path, content, fragment) -> None:
    path = tmp_path / "h.npz"
    if content is not None:
        np.savez(path, **content)
    with pytest.raises(TaskError, match=fragment):
        make_task("npz", path=str(path))
