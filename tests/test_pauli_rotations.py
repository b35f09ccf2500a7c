"""Pauli rotations (qnas.pauli_rotations), applied as one operation (qnas.adjoint), the design
env's `gate_set="pauli"`, and the ADAPT screen that grows circuits from them (qnas.agents.adapt): the compiled gates equal the matrix
exponential, values and gradients match PennyLane's PauliRot, and the screen's gradients are the
circuit's own."""

from __future__ import annotations

import itertools
from pathlib import Path

import gymnasium as gym
import numpy as np
import pennylane as qml
import pytest
import scipy.linalg
import torch

from qnas.adjoint import AdjointCircuit, Observable, pauli_kick
from qnas.agents.adapt import AdaptScreen
from qnas.envs import CIRCUIT_DESIGN_ID
from qnas.envs.scoring import CHEMICAL_ACCURACY
from qnas.envs.screening import RotationScreen
from qnas.errors import QnasError
from qnas.pauli_rotations import POOLS, Excitation, PauliRotation, make_pool
from tests.test_adjoint import random_pauli_hamiltonian

TOL = 1e-10
LIH6 = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "hamiltonians" / "lih_6q_jw_2.2A.npz"
WORDS = ["Y", "XY", "YZ", "ZIY", "XYZ", "YIXZ", "IXIY", "ZZZY", "XXXY"]


def pauli_matrix(word: str) -> np.ndarray:
    letters = {"I": np.eye(2), "X": qml.matrix(qml.X(0)), "Y": qml.matrix(qml.Y(0)), "Z": qml.matrix(qml.Z(0))}
    matrix = np.eye(1)
    for letter in word:
        matrix = np.kron(matrix, letters[letter])
    return matrix


def unitary(circuit_for_bits, n_qubits: int) -> np.ndarray:
    """The circuit's matrix, one column per basis state it starts from."""
    bits = [tuple(int(b) for b in np.binary_repr(index, n_qubits)) for index in range(2**n_qubits)]
    return np.stack([circuit_for_bits(b) for b in bits], axis=1)


@pytest.mark.parametrize("word", WORDS)
def test_the_compiled_gates_equal_the_matrix_exponential(word):
    n_qubits, theta = len(word), 0.731
    expected = scipy.linalg.expm(-0.5j * theta * pauli_matrix(word))

    def compiled(bits):
        circuit = AdjointCircuit(n_qubits, bits)
        for gate in PauliRotation(word).compile():
            circuit.append(gate)
        return circuit.state([theta])

    def one_operation(bits):
        circuit = AdjointCircuit(n_qubits, bits)
        circuit.append_pauli_rotation(PauliRotation(word).terms, PauliRotation(word).compile())
        return circuit.state([theta])

    assert np.abs(unitary(compiled, n_qubits) - expected).max() < TOL
    assert np.abs(unitary(one_operation, n_qubits) - expected).max() < TOL
    cnots = sum(gate.name == "CNOT" for gate in PauliRotation(word).compile())
    assert cnots == PauliRotation(word).n_cnots == 2 * (len(word.replace("I", "")) - 1)


def test_values_and_gradients_match_pennylane_pauli_rot():
    n_qubits, words = 4, ["XYIZ", "IYZI", "YIIX", "ZZYY"]
    hamiltonian = random_pauli_hamiltonian(n_qubits, seed=3)
    angles = np.array([0.3, -1.1, 2.0, 0.7])
    circuit = AdjointCircuit(n_qubits, (1, 0, 1, 0))
    for word in words:
        circuit.append_pauli_rotation(PauliRotation(word).terms, PauliRotation(word).compile())
    value, grad = circuit.value_and_grad(angles, Observable(matrix=hamiltonian.sparse_matrix(wire_order=range(4))))

    @qml.qnode(qml.device("default.qubit", wires=n_qubits), interface="torch", diff_method="backprop")
    def reference(weights):
        qml.BasisState(np.array([1, 0, 1, 0]), wires=range(n_qubits))
        for weight, word in zip(weights, words, strict=True):
            qml.PauliRot(weight, word, wires=range(n_qubits))
        return qml.expval(hamiltonian)

    weights = torch.tensor(angles, requires_grad=True)
    expected = reference(weights)
    expected.backward()
    assert abs(value - expected.item()) < 1e-8
    assert np.abs(grad - weights.grad.numpy()).max() < 1e-8


def test_bad_words_and_pools_name_the_value_and_the_fix():
    with pytest.raises(QnasError, match=r"'XQ' must be letters I, X, Y, Z"):
        PauliRotation("XQ")
    with pytest.raises(QnasError, match=r"with at least one that is not I"):
        PauliRotation("II")
    with pytest.raises(QnasError, match=r"'XY' must have one letter I, X, Y or Z per qubit \(3\)"):
        AdjointCircuit(3).append_pauli_rotation(PauliRotation("XY").terms, PauliRotation("XY").compile())
    with pytest.raises(QnasError, match=r"pool = 'uccsd' .*qubit-excitations"):
        make_pool("uccsd", 4)
    with pytest.raises(QnasError, match=r"has 0 occupied of 4; use a molecule task"):
        make_pool("qubit-excitations", 4, (0, 0, 0, 0))


@pytest.mark.parametrize("name", [pool for pool in POOLS if pool not in ("fermionic-excitations", "target-excitations")])
def test_pools_hold_distinct_real_rotations_of_the_right_width(name):
    pool = make_pool(name, 6, (1, 1, 0, 0, 0, 0))
    words = [rotation.word for rotation in pool]
    assert len(words) == len(set(words)) > 0 and all(len(word) == 6 for word in words)
    if name != "gates":  # odd in Y: real rotations keep real states real
        assert all(word.count("Y") % 2 == 1 for word in words)
    sizes = {"minimal": 10, "pairs": 6 + 15 * 4, "qubit-excitations": 2 * 8 + 6 * 8, "gates": 3 * 6 + 15}
    sizes["all"] = len({r.word for pool in ("minimal", "pairs", "qubit-excitations") for r in make_pool(pool, 6, (1, 1, 0, 0, 0, 0))})
    assert sizes[name] == len(pool)


def test_target_excitations_reach_each_basis_state_of_the_target_in_one_rotation():
    ghz = np.zeros(32)
    ghz[[0, 31]] = 2**-0.5
    assert [r.word for r in make_pool("target-excitations", 5, target_state=ghz)] == [
        "YXXXX", "XYXXX", "XXYXX", "XXXYX", "XXXXY"]
    w_state = np.zeros(8)
    w_state[[1, 2, 4]] = 3**-0.5  # |001>, |010>, |100>: wire 0 is the most significant bit
    assert {r.word for r in make_pool("target-excitations", 3, target_state=w_state)} == {"IIY", "IYI", "YII"}
    # exp(-i pi/4 YXXXX) |00000> is GHZ-5 itself
    state = AdjointCircuit(5)
    rotation = PauliRotation("YXXXX")
    state.append_pauli_rotation(rotation.terms, rotation.compile())
    assert abs(np.vdot(ghz, state.state(np.array([np.pi / 2])))) ** 2 == pytest.approx(1.0, abs=1e-12)
    all_words = [r.word for r in make_pool("all", 5, target_state=ghz)]
    assert all_words[:5] == ["YXXXX", "XYXXX", "XXYXX", "XXXYX", "XXXXY"] and "ZYIII" in all_words
    with pytest.raises(QnasError, match="this task has none; use a state-preparation task"):
        make_pool("target-excitations", 5)
    with pytest.raises(QnasError, match="a target state on 5 qubits has 32 amplitudes, not 8"):
        make_pool("target-excitations", 5, target_state=np.ones(8) / 8**0.5)


def excitation_generator(excitation: Excitation) -> np.ndarray:
    """T - T^dag as a matrix, from PennyLane's own Jordan-Wigner transform."""
    up = qml.FermiWord({(i, w): "+" for i, w in enumerate(excitation.targets)}
                       | {(len(excitation.targets) + i, w): "-" for i, w in enumerate(reversed(excitation.sources))})
    down = qml.FermiWord({(i, w): "+" for i, w in enumerate(excitation.sources)}
                         | {(len(excitation.sources) + i, w): "-" for i, w in enumerate(reversed(excitation.targets))})
    return qml.matrix(qml.jordan_wigner(up - down), wire_order=range(excitation.n_qubits))


@pytest.mark.parametrize(("sources", "targets"), [((0,), (3,)), ((1,), (2,)), ((0, 1), (2, 4)), ((0, 2), (3, 4))])
def test_an_excitation_is_the_exponential_of_its_jordan_wigner_generator(sources, targets):
    excitation, theta = Excitation(sources, targets, 5), 0.437
    expected = scipy.linalg.expm(theta * excitation_generator(excitation))

    def tied(bits):
        circuit = AdjointCircuit(5, bits)
        circuit.append_pauli_rotation(excitation.terms, excitation.compile())
        return circuit.state([theta])

    def compiled(bits):  # the spec's form: each string's RZ at its own angle, scale * theta
        circuit = AdjointCircuit(5, bits)
        for gate in excitation.compile():
            circuit.append(gate)
        return circuit.state([scale * theta for _, scale in excitation.terms])

    assert np.abs(unitary(tied, 5) - expected).max() < TOL
    assert np.abs(unitary(compiled, 5) - expected).max() < TOL
    assert excitation.n_cnots == sum(gate.name == "CNOT" for gate in excitation.compile())


def test_tied_angles_get_the_summed_gradient():
    hamiltonian = random_pauli_hamiltonian(5, seed=4)
    observable = Observable(matrix=hamiltonian.sparse_matrix(wire_order=range(5)))
    circuit = AdjointCircuit(5, (1, 1, 0, 0, 0))
    for excitation in (Excitation((0, 1), (2, 4), 5), Excitation((1,), (3,), 5)):
        circuit.append_pauli_rotation(excitation.terms, excitation.compile())
    circuit.append_pauli_rotation(PauliRotation("YXIZI").terms, PauliRotation("YXIZI").compile())
    angles, step = np.array([0.4, -0.9, 1.3]), 1e-6
    value, grad = circuit.value_and_grad(angles, observable)
    for k in range(3):
        shift = np.eye(3)[k] * step
        numeric = (circuit.value_and_grad(angles + shift, observable)[0]
                   - circuit.value_and_grad(angles - shift, observable)[0]) / (2 * step)
        assert abs(grad[k] - numeric) < 1e-7
    assert circuit.n_trainable == 3


def lih6_env(**kwargs) -> gym.Env:
    return gym.make(CIRCUIT_DESIGN_ID, task={"name": "npz", "path": str(LIH6)}, gate_set="pauli", **kwargs)


def greedy_episode(env: gym.Env, screen: AdaptScreen) -> list[dict]:
    env.reset(seed=0)
    infos, done = [], False
    while not done:
        *_, terminated, truncated, info = env.step(screen.choose())
        infos.append(info)
        done = terminated or truncated
    return infos


def test_the_screen_gives_the_gradient_of_each_rotation_appended_at_zero():
    env = lih6_env()
    screen = AdaptScreen(env)
    env.reset(seed=0)
    env.step(screen.choose())  # off Hartree-Fock, where most gradients vanish
    gradients = screen.gradients()
    scorer, actions = env.unwrapped.scorer, env.unwrapped.actions
    placed = [actions[i].rotation for i in env.unwrapped.placed_actions]
    for index in np.argsort(-np.abs(gradients))[:5]:
        circuit = AdjointCircuit(6, scorer.initial_bits)
        for rotation in [*placed, actions[index].rotation]:
            circuit.append_pauli_rotation(rotation.terms, rotation.compile())
        _, grad = circuit.value_and_grad(np.append(scorer.angles, 0.0), scorer.observable)
        assert abs(grad[-1] - gradients[index]) < 1e-10
    assert screen.probes == 2 * (len(actions) - 1)  # one screen per choose, one here


def test_greedy_adapt_reaches_chemical_accuracy_on_lih6_in_a_few_rotations():
    env = lih6_env()
    infos = greedy_episode(env, AdaptScreen(env))
    errors = [info["energy_error"] for info in infos]
    assert errors[-1] <= CHEMICAL_ACCURACY and len(infos) <= 6
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(errors))
    rotations = [env.unwrapped.actions[i].rotation for i in env.unwrapped.placed_actions]
    assert infos[-1]["n_two_qubit"] == sum(r.n_cnots for r in rotations) > 0 and "spec" in infos[-1]


def test_fermionic_excitations_grow_within_a_specs_gate_limit():
    """On this file's spin-blocked wire order a double excitation's Jordan-Wigner strings are long
    (80 CNOTs compiled): the circuit fills a spec's 512 gates before chemical accuracy, and the
    mask stops it there instead of building a spec that cannot exist."""
    env = lih6_env(pool="fermionic-excitations")
    infos = greedy_episode(env, AdaptScreen(env))
    errors = [info["energy_error"] for info in infos if info["action"] != "stop"]
    assert infos[0]["action"].startswith("E(") and infos[0]["action"].count(",") == 2  # a double first
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(errors)) and errors[-1] < errors[0]
    assert infos[-1]["n_gates"] <= 512 and len(env.unwrapped.scorer.angles) == len(errors)


def test_a_flat_screen_stops_a_circuit_and_the_beam_varies_episodes():
    env = lih6_env(pool="pairs")  # no weight-2 rotation moves Hartree-Fock's energy to first order
    screen = AdaptScreen(env)
    env.reset(seed=0)
    assert np.abs(screen.gradients()).max() < screen.gradient_tolerance
    env.step(screen.choose())  # an empty circuit must place something; then the flat screen stops
    assert screen.choose() == len(env.unwrapped.actions) - 1
    draws = set()
    for seed in range(6):
        env.reset(seed=seed)
        draws.add(screen.choose(np.random.default_rng(seed)))
    assert len(draws) > 1


def test_the_pair_curvatures_are_the_second_derivatives_of_two_rotations_appended():
    """Off Hartree-Fock (one rotation placed), for rotation pairs and a multi-string excitation:
    the screen's C[i, j] against central differences of the adjoint gradient of the circuit with
    rotation i, then j, appended."""
    for pool in ("all", "fermionic-excitations"):
        env = lih6_env(pool=pool)
        screen = AdaptScreen(env)
        env.reset(seed=0)
        env.step(screen.choose())
        scorer, actions = env.unwrapped.scorer, env.unwrapped.actions
        curvatures = RotationScreen([action.rotation for action in actions[:-1]]).curvatures(scorer)
        placed = [actions[i].rotation for i in env.unwrapped.placed_actions]
        for i, j in ((0, 1), (5, 2), (3, 3), (7, 11)):
            # (3, 3): the same rotation twice, whose angles add: C[i, i] is its own second derivative
            assert curvatures[i, j] == pytest.approx(mixed_derivative(scorer, [*placed, actions[i].rotation,
                                                                                actions[j].rotation]), abs=1e-7)


def mixed_derivative(scorer, rotations: list, step: float = 1e-5) -> float:
    """d/d theta_j of the adjoint gradient in theta_i, central differences, for the circuit `scorer`
    holds (its angles) with the last two of `rotations` (i, then j) appended at angle 0."""
    circuit = AdjointCircuit(len(scorer.initial_bits), scorer.initial_bits)
    for rotation in rotations:
        circuit.append_pauli_rotation(rotation.terms, rotation.compile())
    grads = [circuit.value_and_grad(np.append(scorer.angles, [0.0, t]), scorer.observable)[1][-2] for t in (step, -step)]
    return (grads[0] - grads[1]) / (2 * step)


def test_where_no_rotation_has_a_gradient_the_pair_lookahead_leaves_the_stationary_point():
    """BeH2 at 2.5 Å over the `pairs` pool: Hartree-Fock is a stationary point that is not a
    minimum. Without the lookahead a greedy episode places one arbitrary rotation and stops at the
    Hartree-Fock error; with it, the pair screen finds a descent and the energy drops."""
    task = {"name": "molecule", "symbols": ["Be", "H", "H"], "geometry": [[0, 0, 0], [0, 0, -2.5], [0, 0, 2.5]],
            "active_electrons": 4, "active_orbitals": 3}
    ends = {}
    for lookahead in (False, True):
        env = gym.make(CIRCUIT_DESIGN_ID, task=task, gate_set="pauli", pool="pairs")
        screen = AdaptScreen(env, lookahead=lookahead)
        infos = greedy_episode(env, screen)
        ends[lookahead] = (infos[-1]["energy_error"], len(infos) - 1, screen.probes)
    hartree_fock = 7.4e-2
    assert ends[False][0] == pytest.approx(hartree_fock, abs=1e-3) and ends[False][1] == 1
    assert ends[True][0] < hartree_fock / 3 and ends[True][1] >= 2
    assert ends[True][2] > 66 ** 2  # every pair screened is charged as a probe


def test_pauli_actions_mask_a_repeated_rotation_and_bad_settings_are_refused():
    env = lih6_env()
    env.reset(seed=0)
    env.step(3)
    assert not env.unwrapped.action_masks()[3] and env.unwrapped.action_masks()[4]
    with pytest.raises(QnasError, match="leave connectivity at 'all'"):
        lih6_env(connectivity="linear")
    with pytest.raises(QnasError, match="pool = 'pairs' applies to gate_set='pauli' only"):
        gym.make(CIRCUIT_DESIGN_ID, task="bell", pool="pairs")
    with pytest.raises(QnasError, match="build the environment with gate_set='pauli'"):
        AdaptScreen(gym.make(CIRCUIT_DESIGN_ID, task="bell"))


def test_the_landscape_screen_gives_each_rotations_best_gain_over_its_angle():
    env = lih6_env()
    screen = AdaptScreen(env, criterion="landscape")
    env.reset(seed=0)
    env.step(AdaptScreen(env).choose())
    gains = screen.strengths()
    scorer, actions = env.unwrapped.scorer, env.unwrapped.actions
    before = scorer.observable.value(scorer.state())
    thetas = np.linspace(-np.pi, np.pi, 2001)
    for index in [*np.argsort(-gains)[:3], 0, 7]:
        rotation = actions[index].rotation
        kick = pauli_kick(rotation.word)
        psi = scorer.state()
        energies = [scorer.observable.value(np.cos(t / 2) * psi + np.sin(t / 2) * kick(psi)) for t in thetas]
        assert gains[index] == pytest.approx(before - min(energies), abs=1e-6)
    with pytest.raises(QnasError, match="criterion = 'hessian' is not allowed"):
        AdaptScreen(env, criterion="hessian")
    with pytest.raises(QnasError, match="landscape screen needs single Pauli words"):
        excitations = lih6_env(pool="fermionic-excitations")
        excitations.reset(seed=0)
        AdaptScreen(excitations, criterion="landscape").strengths()
