"""CircuitDesignEnv: build a circuit one action at a time; the reward is the score it gains.

Registered as `qnas/CircuitDesign-v0` (`import qnas.envs`, then `gymnasium.make(...)`).

Actions (`Discrete(n)`, listed with labels in `env.unwrapped.actions`):

- state preparation and VQE (gate level), `gate_set="space"`: a rotation (RX/RY/RZ, trainable
  angle) on each wire for every axis in the space's `rotations` choices; each entangling gate in
  the space's `entangling_gate` choices on every pair `connectivity` allows (ordered pairs, one
  per unordered pair for the symmetric CZ); then stop. `gate_set="blocks"`: the same, but each
  entangling action places a block, the gate followed by every rotation axis on both of its wires
  (`[CNOT0,1 RY0 RY1]`); a block counts its gates in "n_gates" and its CNOT in "n_two_qubit".
  `gate_set="qas-gym"`: X, Y, Z, H and RZ(pi/4) on each wire, CNOT on every allowed ordered
  pair, then stop (Kuo et al. 2021). `gate_set="pauli"`: one Pauli rotation exp(-i theta P / 2)
  per operator of `pool` (`qnas.pauli_rotations.POOLS`; default: the space's `pool`, else "all"), placed as its compiled
  gates (a CNOT ladder and one trainable RZ), then stop: the action set of ADAPT-style
  proposers, which screen it (`qnas.agents.adapt`).
- classification: one action per layer (rotations, entangler, entangling gate) the space allows;
  "re-upload" (switches on `encoding.reupload`: the data is encoded again before every layer
  after the first) when the space and the base spec's encoding allow it; then stop.

After a gate action every trainable angle is re-optimized: at most `angle_steps` iterations of
`angle_optimizer` ("lbfgs", the default, or "adam" with step `angle_lr`) from the warm start
(the previous angles, the new one uniform in [-0.1, 0.1]) and from `angle_restarts` random
points in [-pi, pi), keeping the best; the draws come from the env's seeded generator. After a
classification action the model trains `train_epochs` epochs from scratch.

Observation (`Box(float32)`, length `max_gates * n_actions + 2`): slot i (entries
i * n_actions ... (i + 1) * n_actions - 1) holds the one-hot of the action that added block i
(gate, layer or re-upload), zeros while empty; then the current score clipped to [-1, 1]; then
steps taken / max_gates. With `screen_observation=True` (`gate_set="pauli"`), n_actions more
entries follow: each rotation's screened gradient |dS/dtheta| (`qnas.envs.screening`) divided by
the largest, 0 for stop; `info["probes"]` then counts the rotations screened (cheap probes).

Score: fidelity to the target (state preparation); for VQE, logarithmic in the energy error,
-log(error / floor) / log(scale / floor) clipped to [-1, 0], with floor 1.6e-5 Ha and scale the
reference state's error floored at 1.6e-3 Ha, so the start scores -1 and an error at the floor 0
(`qnas.envs.scoring.CircuitScorer`); validation accuracy (classification, starting from the
majority class's share).

Reward per step: score gained - `gate_cost` (or `two_qubit_cost` for an entangling gate or an
entangling layer) + `bonus` when the score reaches `threshold`, in the task's own units
(default fidelity >= 0.95; energy error <= 1.6e-3 Ha; classification: none unless given), which
ends the episode. Stop costs nothing. An action that `action_masks()` forbids (stop before the
first block; the same self-inverse gate H/X/Y/Z/CNOT/CZ on the same wires twice in a row;
re-uploading before the first layer or twice; anything but stop at the limit) is refused:
nothing changes, the reward is -`invalid_cost`, and it uses up a step. The same Pauli rotation
twice in a row is masked too: its two angles would act as one; so is any action whose gates
would take the circuit past a spec's 512 gates (an excitation compiles to up to 8 CNOT ladders). So an agent without
masks still ends every episode within `max_gates` steps.

With `curriculum=True` (VQE), the threshold moves, as in Ostaszewski et al. (2021) and CRLQAS
(2024): it starts halfway, on a log scale, between the reference state's energy error and
`threshold`, so early episodes can reach it and earn the bonus. After every `curriculum_successes`
episodes that reach it, it is multiplied by `curriculum_shrink`, down to `threshold`.
`info["threshold"]` is the threshold in force.

`reset(options={"actions": [i, ...]})` starts from a circuit instead of an empty one (a warm
start, as `qnas scan` uses): the actions are placed in order, every angle is optimized once, and
each counts as a step; `info["warm_started"]` says how many. `render_mode="ansi"` makes `render()`
return the circuit as text.

The episode terminates at the threshold or on stop, and truncates after `max_gates` steps.
`info` holds "score", "n_gates" (gates placed, a block's or a Pauli rotation's each counted; or
layers and re-upload), "n_two_qubit" (two-qubit gates: all of a rotation's CNOT ladder; an
entangling layer counts one), "action" (its label), "invalid_action", and the task's metrics
("fidelity"; "energy", "energy_error" in Ha; "val_accuracy"); on the last step also "spec" (the
built CandidateSpec as a dict, ready for `qnas.evaluation.evaluate`; absent when nothing was
placed) and, for gate tasks, "angles" (the optimized trainable angles, in gate order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import gymnasium as gym
import numpy as np
import pennylane as qml
from gymnasium import spaces

from qnas.circuits import GATE_OPS
from qnas.envs.actions import SELF_INVERSE, Action, field_values, gate_actions, layer_actions, rotation_actions
from qnas.envs.scoring import ANGLE_OPTIMIZERS, DEFAULT_THRESHOLDS, CircuitScorer, ClassifierScorer
from qnas.envs.screening import RotationScreen
from qnas.errors import QnasError, not_allowed
from qnas.evaluation import check_compatible
from qnas.pauli_rotations import make_pool
from qnas.search_spaces import DEFAULT_SPACES, SearchSpace, load_space
from qnas.spec import MAX_GATES, CandidateSpec, EncodingSpec, LayerSpec, TrainingSpec
from qnas.tasks import Task, make_task

DEFAULT_MAX_GATES = 20
DEFAULT_MAX_LAYERS = 5
"""Classification's default limit: every step trains a model, and deep stacks train slowly."""
GATE_SPEC_EPOCHS = 200
"""Optimizer steps the built gate-level spec asks `qnas.evaluation` for (angles restart there)."""


def _check_number(name: str, value: Any, low: float, low_open: bool = False) -> float:
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if not ok or value < low or (low_open and value == low):
        bound = f"> {low}" if low_open else f">= {low}"
        raise QnasError(f"{name} = {value!r} must be a finite number {bound}.")
    return float(value)


def _check_count(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise QnasError(f"{name} = {value!r} must be an integer in [{low}, {high}].")
    return value


class CircuitDesignEnv(gym.Env[np.ndarray, np.int64]):
    """Design a circuit for `task` action by action; see the module docstring for the spaces."""

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        task: str | dict[str, Any] | Task = "bell",
        space: str | SearchSpace | None = None,
        *,
        gate_set: str = "space",
        connectivity: str | Sequence[Sequence[int]] = "all",
        max_gates: int | None = None,
        gate_cost: float = 0.01,
        two_qubit_cost: float = 0.02,
        invalid_cost: float = 0.05,
        bonus: float = 1.0,
        threshold: float | None = None,
        angle_steps: int = 50,
        angle_lr: float = 0.1,
        angle_optimizer: str = "lbfgs",
        angle_restarts: int = 1,
        train_epochs: int = 2,
        pool: str | None = None,
        screen_observation: bool = False,
        curriculum: bool = False,
        curriculum_successes: int = 5,
        curriculum_shrink: float = 0.5,
        base_spec: CandidateSpec | dict[str, Any] | None = None,
        render_mode: str | None = None,
    ) -> None:
        """`task`: a task name, config dict or Task. `space`: a search-space name, path or
        SearchSpace (default: the shipped one for the task kind). `base_spec`: the fields of the
        built spec the agent does not choose (training, calibration; for classification also
        split, qubits, encoding and classical layers)."""
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise QnasError(not_allowed("render_mode", render_mode, self.metadata["render_modes"], "Or leave it None."))
        self.render_mode = render_mode
        self.task = task if isinstance(task, Task) else make_task(task)
        kind = self.task.kind
        self.space = space if isinstance(space, SearchSpace) else load_space(space or DEFAULT_SPACES[kind])
        self.space.check_task_kind(kind, self.task.name)
        self.gate_cost = _check_number("gate_cost", gate_cost, 0.0)
        self.two_qubit_cost = _check_number("two_qubit_cost", two_qubit_cost, 0.0)
        self.invalid_cost = _check_number("invalid_cost", invalid_cost, 0.0)
        self.bonus = _check_number("bonus", bonus, 0.0)
        default_limit = DEFAULT_MAX_LAYERS if kind == "classification" else DEFAULT_MAX_GATES
        self.max_gates = _check_count("max_gates", default_limit if max_gates is None else max_gates, 1, MAX_GATES)
        self.threshold = DEFAULT_THRESHOLDS[kind] if threshold is None else _check_number("threshold", threshold, 0.0)

        if kind == "classification":
            if gate_set != "space":
                raise QnasError(
                    f"gate_set = {gate_set!r} applies to gate-level tasks (state_prep, vqe); classification "
                    "actions add layers. Leave gate_set at 'space'."
                )
            self.base_spec = _base_spec(base_spec, CandidateSpec())
            encoding = self.base_spec.encoding.kind
            reupload = True in field_values(self.space, "reupload", False) and encoding not in ("none", "amplitude")
            self.actions: tuple[Action, ...] = layer_actions(self.space, reupload)
            self._classifier = ClassifierScorer(self.task, _check_count("train_epochs", train_epochs, 1, 10_000))
        else:
            angle_lr = _check_number("angle_lr", angle_lr, 0.0, low_open=True)
            training = TrainingSpec(optimizer="adam", learning_rate=angle_lr, epochs=GATE_SPEC_EPOCHS, batch_size=1)
            n_qubits = self.task.required_qubits
            default = CandidateSpec(split="quantum_only", n_qubits=n_qubits, encoding=EncodingSpec("none"), training=training)
            self.base_spec = _base_spec(base_spec, default)
            self.actions = _gate_level_actions(self.space, self.task, gate_set, connectivity, pool)
            steps = _check_count("angle_steps", angle_steps, 0, 100_000)
            if angle_optimizer not in ANGLE_OPTIMIZERS:
                raise QnasError(not_allowed("angle_optimizer", angle_optimizer, ANGLE_OPTIMIZERS))
            restarts = _check_count("angle_restarts", angle_restarts, 0, 1_000)
            self._circuit = CircuitScorer(self.task, steps, angle_lr, angle_optimizer, restarts)
        check_compatible(self.base_spec, self.task)
        self.target = self.threshold
        """The threshold the curriculum moves down to (the threshold itself without one)."""
        self._curriculum: tuple[int, float] | None = None
        if curriculum:
            if kind != "vqe":
                raise QnasError(f"curriculum = True moves an energy threshold; task {self.task.name!r} is {kind}. Leave it off.")
            successes = _check_count("curriculum_successes", curriculum_successes, 1, 1_000_000)
            shrink = _check_number("curriculum_shrink", curriculum_shrink, 0.0, low_open=True)
            if shrink >= 1:
                raise QnasError(f"curriculum_shrink = {curriculum_shrink!r} must be in (0, 1): the threshold moves down.")
            self._curriculum = (successes, shrink)
            start = self._circuit.reset()["energy_error"]
            self.threshold = max(self.target, math.sqrt(max(start, self.target) * self.target))
            self._successes = 0
        self._screen: RotationScreen | None = None
        if screen_observation:
            if gate_set != "pauli":
                raise QnasError(
                    f"screen_observation = True screens Pauli rotations; gate_set = {gate_set!r} has none. "
                    "Set gate_set='pauli', or leave screen_observation off."
                )
            self._screen = RotationScreen([action.rotation for action in self.actions[:-1]])
        self._features = np.zeros(len(self.actions), dtype=np.float32)
        self._probes = 0

        n = len(self.actions)
        self.action_space = spaces.Discrete(n)
        low = np.zeros(self.max_gates * n + 2 + (n if self._screen else 0), dtype=np.float32)
        low[self.max_gates * n] = -1.0
        self.observation_space = spaces.Box(low=low, high=np.ones_like(low), dtype=np.float32)
        self._slots: list[int] = []
        self._placed_gates = 0
        self._steps = 0
        self._metrics: dict[str, float] = {}
        self._layers: list[LayerSpec] = []
        self._reupload = False
        self._done = True

    # --- gymnasium API -------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an empty circuit; `options={"actions": [i, ...]}` starts from those actions instead
        (a warm start: placed in order, every angle optimized once, each counted as a step)."""
        super().reset(seed=seed)
        self._slots, self._steps, self._layers, self._placed_gates = [], 0, [], 0
        self._reupload = self._done = False
        if self.task.kind == "classification":
            self._metrics = self._classifier.baseline()
        else:
            self._metrics = self._circuit.reset()
        warm = list((options or {}).get("actions", ()))
        if warm:
            self._warm_start(warm)
        self._screen_now()
        info = self._info(None, invalid=False, final=False)
        info["warm_started"] = len(warm)
        return self._observation(), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._done:
            raise QnasError("step() was called on a finished (or never started) episode; call reset() first.")
        if not self.action_space.contains(action):
            raise QnasError(f"action = {action!r} is not an integer in [0, {self.action_space.n - 1}].")
        index = int(action)
        chosen = self.actions[index]
        invalid = not self.action_masks()[index]  # the mask the agent saw, before this step counts
        self._steps += 1
        previous = self._metrics["score"]
        reward, terminated = 0.0, False
        if invalid:
            reward = -self.invalid_cost
        elif chosen.kind == "stop":
            terminated = True
        else:
            self._slots.append(index)
            self._placed_gates += len(chosen.gates)
            self._metrics = self._apply(chosen)
            reward = self._metrics["score"] - previous - (self.two_qubit_cost if chosen.two_qubit else self.gate_cost)
            if self.reached_threshold():
                terminated = True
                reward += self.bonus
                self._advance_curriculum()
        truncated = not terminated and self._steps >= self.max_gates
        self._done = terminated or truncated
        self._probes = 0
        if not self._done:  # nothing follows the last step: no screen
            self._screen_now()
        info = self._info(chosen, invalid=invalid, final=self._done)
        return self._observation(), float(reward), terminated, truncated, info

    def _warm_start(self, actions: list[int]) -> None:
        if self.task.kind == "classification":
            raise QnasError("a warm start places gates; a classification env builds layer stacks. Reset without actions.")
        stop = len(self.actions) - 1
        bad = [a for a in actions if isinstance(a, bool) or not isinstance(a, (int, np.integer)) or not 0 <= a < stop]
        if bad or len(actions) >= self.max_gates:
            raise QnasError(
                f"reset options actions = {actions!r} must be fewer than max_gates = {self.max_gates} action "
                f"indices in [0, {stop - 1}] (gates, not stop)."
            )
        for index in actions:
            action = self.actions[index]
            self._slots.append(int(index))
            self._placed_gates += len(action.gates)
            if action.rotation is not None:
                self._circuit.add_pauli_rotation(action.rotation, self.np_random, optimize=False)
            else:
                self._circuit.add(action.gates, self.np_random, optimize=False)
        self._steps = len(actions)
        self._metrics = self._circuit.optimize(self.np_random)

    def action_masks(self) -> np.ndarray:
        """Legal actions (sb3-contrib MaskablePPO reads this): see the module docstring."""
        stop = len(self.actions) - 1
        mask = np.zeros(len(self.actions), dtype=bool)
        mask[stop] = bool(self._slots)
        if self._steps >= self.max_gates:
            return mask
        last = self.actions[self._slots[-1]] if self._slots else None
        for index, action in enumerate(self.actions[:stop]):
            if action.kind == "reupload":
                mask[index] = bool(self._layers) and not self._reupload
            elif action.kind == "gate" and last is not None and last.gates == action.gates:
                mask[index] = action.gate.name not in SELF_INVERSE
            elif action.kind == "rotation":
                mask[index] = action is not last and len(action.gates) <= MAX_GATES - self._placed_gates
            else:
                mask[index] = len(action.gates) <= MAX_GATES - self._placed_gates
        return mask

    def render(self) -> str | None:
        """`render_mode="ansi"`: the circuit so far as text (PennyLane's drawing, trained angles
        shown) under a line with the step, the score and the task's metric; else nothing."""
        if self.render_mode != "ansi":
            return None
        metric = {k: v for k, v in self._metrics.items() if k != "score"}
        status = ", ".join(f"{k} {v:.6g}" for k, v in metric.items())
        header = f"step {self._steps}/{self.max_gates}, score {self._metrics.get('score', 0.0):.4f}, {status}"
        if self.task.kind == "classification":
            placed = [self.actions[index].label for index in self._slots]
            return "\n".join([header, *(placed or ["(no layer yet)"])])
        if not self._slots:
            return header + "\n(no gate yet)"
        angles = iter(self._circuit.angles)
        ops = [
            GATE_OPS[g.name](next(angles) if g.trainable else g.angle, wires=list(g.wires))
            if g.trainable or g.angle is not None else GATE_OPS[g.name](wires=list(g.wires))
            for g in self.built_spec().gates
        ]
        tape = qml.tape.QuantumScript(ops)
        return header + "\n" + qml.drawer.tape_text(tape, wire_order=range(self.task.required_qubits), show_all_wires=True, decimals=2)

    # --- the circuit being built ---------------------------------------------------------------

    def built_spec(self) -> CandidateSpec:
        """The spec of the circuit built so far (gate-level, or a layer stack for classification)."""
        if self.task.kind == "classification":
            encoding = replace(self.base_spec.encoding, reupload=self._reupload)
            return replace(self.base_spec, encoding=encoding, layers=tuple(self._layers), gates=())
        gates = tuple(gate for i in self._slots for gate in self.actions[i].gates)
        return replace(self.base_spec, layers=(), gates=gates)

    def _apply(self, action: Action) -> dict[str, float]:
        """Add the action's block and return the new metrics."""
        if action.rotation is not None:
            return self._circuit.add_pauli_rotation(action.rotation, self.np_random)
        if action.gate is not None:
            return self._circuit.add(action.gates, self.np_random)
        if action.kind == "reupload":
            self._reupload = True
        else:
            self._layers.append(action.layer)
        seed = int(self.np_random.integers(2**31))
        return self._classifier.score(self.built_spec(), seed)

    @property
    def scorer(self) -> CircuitScorer:
        """The circuit being built, with its optimized angles (gate-level tasks): what a screening
        proposer (`qnas.agents.adapt`) probes between steps."""
        if self.task.kind == "classification":
            raise QnasError("a classification env builds layer stacks, not circuits a screen can probe; use a gate-level task.")
        return self._circuit

    @property
    def placed_actions(self) -> tuple[int, ...]:
        """The indices (into `actions`) of the blocks placed so far, in order."""
        return tuple(self._slots)

    def reached_threshold(self) -> bool:
        """Whether the circuit built so far reaches the task's threshold (never without one)."""
        if self.threshold is None:
            return False
        if self.task.kind == "classification":
            return self._metrics["val_accuracy"] >= self.threshold
        return self._circuit.reached(self._metrics, self.threshold)

    def _advance_curriculum(self) -> None:
        """Count a success at the threshold in force; move it down after enough of them."""
        if self._curriculum is None:
            return
        successes, shrink = self._curriculum
        self._successes += 1
        if self._successes >= successes:
            self.threshold, self._successes = max(self.target, self.threshold * shrink), 0

    def _screen_now(self) -> None:
        """With `screen_observation`, screen every rotation for the observation (cheap probes)."""
        self._probes = 0
        if self._screen is not None:
            strength = np.abs(self._screen.gradients(self._circuit))
            top = strength.max()
            self._features[:-1] = strength / top if top > 0 else 0.0
            self._probes = len(self._screen)

    def _observation(self) -> np.ndarray:
        n = len(self.actions)
        observation = np.zeros(self.observation_space.shape, dtype=np.float32)
        for slot, index in enumerate(self._slots):
            observation[slot * n + index] = 1.0
        base = self.max_gates * n
        observation[base] = np.clip(self._metrics["score"], -1.0, 1.0)
        observation[base + 1] = self._steps / self.max_gates
        if self._screen is not None:
            observation[base + 2 :] = self._features
        return observation

    def _info(self, action: Action | None, invalid: bool, final: bool) -> dict[str, Any]:
        blocks = [self.actions[i] for i in self._slots]
        info: dict[str, Any] = {
            **self._metrics,
            "n_gates": sum(len(block.gates) or 1 for block in blocks),
            "n_two_qubit": sum(block.n_two_qubit for block in blocks),
            "action": None if action is None else action.label,
            "invalid_action": invalid,
            "probes": self._probes,
        }
        if self._curriculum is not None:
            info["threshold"] = self.threshold
        if final and blocks:
            info["spec"] = self.built_spec().to_dict()
            if self.task.kind != "classification":
                info["angles"] = [float(a) for a in self._circuit.angles]
        return info


def _gate_level_actions(
    space: SearchSpace, task: Task, gate_set: str, connectivity: str | Sequence[Sequence[int]], pool: str | None
) -> tuple[Action, ...]:
    """The actions of a gate-level task: the space's gates (`gate_actions`), or a pool's Pauli rotations."""
    if gate_set != "pauli":
        if pool is not None:
            raise QnasError(f"pool = {pool!r} applies to gate_set='pauli' only (Pauli rotations); drop pool, or set gate_set='pauli'.")
        return gate_actions(space, task.required_qubits, gate_set, connectivity)
    if connectivity != "all":
        raise QnasError(
            f"connectivity = {connectivity!r}: gate_set='pauli' compiles each rotation to a CNOT ladder over any "
            "wires (all-to-all); leave connectivity at 'all', or use gate_set='blocks' on a coupling map."
        )
    name = pool or space.pool or "all"
    return rotation_actions(
        make_pool(name, task.required_qubits, getattr(task, "reference_state", None), getattr(task, "target_state", None))
    )


def _base_spec(base_spec: CandidateSpec | dict[str, Any] | None, default: CandidateSpec) -> CandidateSpec:
    if base_spec is None:
        return default
    return base_spec if isinstance(base_spec, CandidateSpec) else CandidateSpec.from_dict(base_spec)

