"""Search spaces: shipped declarations, sampling through real Optuna studies, decoding, and errors."""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from qnas.errors import SearchSpaceError
from qnas.search_spaces import SPACE_NAMES, SearchSpace, load_space
from qnas.spec import CandidateSpec

optuna.logging.set_verbosity(optuna.logging.WARNING)

# Each shipped space with the qubit count its tasks fix (None: the space chooses it).
SHIPPED = [
    ("aer_classification", None),
    ("classification", None),
    ("vqe_gates", 4),
    ("state_prep", 3),
    ("noisy_classification", None),
    ("noisy_vqe", 4),
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(textwrap.dedent(text))
    return path


VALID = """\
name: custom
task_kinds: [classification]
params:
  split: {choices: [quantum_first, quantum_middle]}
  n_qubits: {int: [2, 3]}
  pre_width: {choices: [4, 8], when: {split: [quantum_middle]}}
  post_width: {choices: [4, 8]}
layer:
  entangler: {choices: [none, ring]}
  entangling_gate: {choices: [CNOT, CZ], when: {entangler: [ring]}}
"""


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(SearchSpaceError) as info:
        load_space(path)
    message = str(info.value)
    assert str(path) in message
    return message


# --- shipped spaces --------------------------------------------------------------------------


def test_shipped_names_and_metadata():
    assert SPACE_NAMES == ("aer_classification", "classification", "noisy_classification", "noisy_vqe", "state_prep", "vqe_gates")
    kinds = {name: load_space(name).task_kinds for name in SPACE_NAMES}
    assert kinds == {
        "aer_classification": ("classification",),
        "classification": ("classification",),
        "noisy_classification": ("classification",),
        "noisy_vqe": ("vqe",),
        "state_prep": ("state_prep",),
        "vqe_gates": ("vqe",),
    }
    for name in SPACE_NAMES:
        space = load_space(name)
        assert space.name == name and space.description
        assert Path(space.source).name == f"{name}.yaml"


def test_distributions_list_every_parameter_with_its_kind():
    dists = load_space("classification").distributions()
    assert list(dists)[:3] == ["split", "n_qubits", "encoding"]
    assert dists["split"] == CategoricalDistribution(["quantum_first", "quantum_head", "quantum_middle"])
    assert dists["n_qubits"] == IntDistribution(2, 5)
    assert dists["learning_rate"] == FloatDistribution(0.005, 0.1, log=True)
    assert dists["shots"] == CategoricalDistribution([None, 1000])
    assert dists["entangling_gate"] == CategoricalDistribution(["CNOT", "CZ", "CRZ"])
    kinds = {p.name: p.kind for p in load_space("classification").params}
    assert (kinds["split"], kinds["n_qubits"], kinds["learning_rate"]) == ("choices", "int", "float")

    vqe = load_space("vqe_gates").distributions()
    assert "n_qubits" not in vqe  # the Hamiltonian fixes it
    assert [n for n in vqe if n.startswith("layer3_")] == [
        "layer3_rotations",
        "layer3_entangler",
        "layer3_entangling_gate",
    ]
    assert "layer4_rotations" not in vqe
    assert len([n for n in load_space("state_prep").distributions() if n.endswith("_entangler")]) == 3


@pytest.mark.parametrize("name,required", SHIPPED)
@pytest.mark.parametrize("sampler_name", ["tpe", "random"])
def test_sampling_through_a_real_study_gives_valid_specs(name, required, sampler_name):
    space = load_space(name)
    sampler = (
        optuna.samplers.TPESampler(seed=0, n_startup_trials=10)
        if sampler_name == "tpe"
        else optuna.samplers.RandomSampler(seed=0)
    )
    study = optuna.create_study(sampler=sampler)
    declared = space.distributions()
    seen_layers = set()
    for _ in range(50):
        trial = study.ask()
        spec = space.sample(trial, required_qubits=required)
        assert isinstance(spec, CandidateSpec)
        assert CandidateSpec.from_json(spec.to_json()) == spec
        assert space.decode(trial.params, required_qubits=required) == spec
        for param, dist in trial.distributions.items():
            assert declared[param] == dist
        assert len(spec.layers) == trial.params.get("n_layers", 1)
        seen_layers.add(len(spec.layers))
        if required is not None:
            assert spec.n_qubits == required and "n_qubits" not in trial.params
            assert spec.split == "quantum_only" and spec.encoding.kind == "none" and spec.training.batch_size == 1
        study.tell(trial, spec.n_qubits + len(spec.layers) + spec.training.learning_rate)
    assert len(seen_layers) > 1


def test_conditional_parameters_follow_the_split():
    space = load_space("classification")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    splits = set()
    for _ in range(60):
        trial = study.ask()
        spec = space.sample(trial)
        splits.add(spec.split)
        assert ("pre_width" in trial.params) == (spec.split != "quantum_first")
        assert ("post_width" in trial.params) == (spec.split != "quantum_head")
        assert ("reupload" in trial.params) == (spec.encoding.kind != "amplitude")
        assert ("entangling_gate" in trial.params) == (spec.layers[0].entangler != "none")
        assert len(set(spec.layers)) == 1  # per_layer: false shares one draw
        study.tell(trial, 0.0)
    assert splits == {"quantum_first", "quantum_head", "quantum_middle"}


def test_per_layer_draws_each_layer_separately():
    space = load_space("vqe_gates")
    params = {
        "n_layers": 2,
        "learning_rate": 0.1,
        "epochs": 100,
        "layer0_rotations": "RY",
        "layer0_entangler": "none",
        "layer1_rotations": "RX+RY+RZ",
        "layer1_entangler": "ring",
        "layer1_entangling_gate": "CZ",
    }
    spec = space.decode(params, required_qubits=3)
    assert [layer.rotations for layer in spec.layers] == [("RY",), ("RX", "RY", "RZ")]
    assert [(layer.entangler, layer.entangling_gate) for layer in spec.layers] == [("none", None), ("ring", "CZ")]
    assert spec.n_qubits == 3 and spec.training.epochs == 100 and spec.training.optimizer == "adam"


def test_required_qubits_replaces_a_declared_qubit_range():
    space = load_space("classification")
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    spec = space.sample(trial, required_qubits=7)  # outside the declared 2..5: the task wins
    assert spec.n_qubits == 7 and "n_qubits" not in trial.params
    assert space.decode(trial.params, required_qubits=7) == spec


def test_space_without_qubits_needs_the_task_count():
    with pytest.raises(SearchSpaceError, match="required_qubits"):
        load_space("vqe_gates").decode(
            {"n_layers": 1, "learning_rate": 0.1, "epochs": 100, "layer0_rotations": "RY", "layer0_entangler": "none"}
        )


def test_fixed_qubits_conflicting_with_the_task_is_an_error(tmp_path):
    space = load_space(write(tmp_path, VALID.replace("  n_qubits: {int: [2, 3]}\n", "") + "fixed: {n_qubits: 4}\n"))
    assert (
        space.decode({"split": "quantum_first", "post_width": 4, "entangler": "none"}, required_qubits=4).n_qubits == 4
    )
    with pytest.raises(
        SearchSpaceError, match=r"fixes n_qubits = 4, but the task needs 2 qubits; remove n_qubits from fixed"
    ):
        space.decode({"split": "quantum_first", "post_width": 4, "entangler": "none"}, required_qubits=2)


# --- property: every in-space draw decodes ---------------------------------------------------


def value_strategy(dist):
    if isinstance(dist, CategoricalDistribution):
        return st.sampled_from(dist.choices)
    if isinstance(dist, IntDistribution):
        return st.integers(0, (dist.high - dist.low) // dist.step).map(lambda k: dist.low + k * dist.step)
    return st.floats(dist.low, dist.high)


def draws(space: SearchSpace):
    """Any value in range for every parameter, active or not (decode ignores inactive ones)."""
    return st.fixed_dictionaries({name: value_strategy(d) for name, d in space.distributions().items()})


@pytest.mark.parametrize("name,required", SHIPPED)
def test_decode_never_raises_for_any_in_space_draw(name, required):
    space = load_space(name)
    qubits = st.just(required) if required else st.one_of(st.none(), st.integers(1, 8))

    @settings(max_examples=300, deadline=None, database=None)
    @given(params=draws(space), required_qubits=qubits)
    def check(params, required_qubits):
        spec = space.decode(params, required_qubits=required_qubits)
        assert isinstance(spec, CandidateSpec)
        assert spec.n_qubits == (required_qubits or params["n_qubits"])
        assert len(spec.layers) == params["n_layers"]

    check()


# --- decode errors ---------------------------------------------------------------------------


def sampled_params(name="classification"):
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3)).ask()
    load_space(name).sample(trial)
    return dict(trial.params)


def test_decode_names_a_missing_parameter():
    params = sampled_params()
    del params["encoding"]
    with pytest.raises(SearchSpaceError, match=r"missing 'encoding'.*one of \['angle_x'"):
        load_space("classification").decode(params)


def test_decode_names_an_out_of_range_value():
    space = load_space("classification")
    with pytest.raises(SearchSpaceError, match=r"'n_qubits' = 9 is outside the space; expected an integer in \[2, 5\]"):
        space.decode({**sampled_params(), "n_qubits": 9})
    with pytest.raises(
        SearchSpaceError, match=r"'batch_size' = 48 is outside the space; expected one of \[16, 32, 64\]"
    ):
        space.decode({**sampled_params(), "batch_size": 48})
    assert space.decode({**sampled_params(), "batch_size": 32.0}).training.batch_size == 32


def test_decode_rejects_an_unknown_parameter_name():
    with pytest.raises(SearchSpaceError, match=r"'n_qubit' is not allowed.*Did you mean 'n_qubits'"):
        load_space("classification").decode({**sampled_params(), "n_qubit": 3})


# --- loading errors --------------------------------------------------------------------------


def test_valid_custom_space_loads_from_a_path(tmp_path):
    space = load_space(str(write(tmp_path, VALID)))
    assert space.name == "custom" and list(space.distributions()) == [
        "split",
        "n_qubits",
        "pre_width",
        "post_width",
        "entangler",
        "entangling_gate",
    ]


def test_unknown_space_name_suggests_the_shipped_one():
    with pytest.raises(SearchSpaceError, match=r"'clasification' is not allowed.*Did you mean 'classification'"):
        load_space("clasification")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(SearchSpaceError, match=r"does not exist.*Shipped spaces"):
        load_space(tmp_path / "nope.yaml")
    with pytest.raises(SearchSpaceError, match=r"pass the bare name 'vqe_gates'"):
        load_space("vqe_gates.yaml")


def test_malformed_yaml_gives_line_and_column(tmp_path):
    message = load_error(tmp_path, "name: x\ntask_kinds: [classification\nparams: {}\n")
    assert "malformed YAML" in message
    assert ":3:" in message  # the line where the unclosed bracket is noticed


def test_duplicate_keys_are_rejected_with_their_line(tmp_path):
    message = load_error(tmp_path, VALID + "name: again\n")
    assert f":{VALID.count(chr(10)) + 1}:1: key 'name' appears twice" in message


@pytest.mark.parametrize(
    "text,expected",
    [
        ("", "must be a mapping"),
        ("- a\n- b\n", "must be a mapping with keys"),
        ("name: x\n", "missing required key 'task_kinds'"),
    ],
)
def test_top_level_shape(tmp_path, text, expected):
    assert expected in load_error(tmp_path, text)


def test_unknown_keys_name_the_allowed_ones(tmp_path):
    message = load_error(tmp_path, VALID.replace("params:", "parms:"))
    assert "'parms' is not allowed" in message and "'params'" in message and "Did you mean 'params'?" in message
    message = load_error(tmp_path, VALID.replace("split: {choices:", "split: {choice:"))
    assert "params.split: key = 'choice'" in message and "Did you mean 'choices'?" in message
    message = load_error(tmp_path, VALID.replace("n_qubits: {int", "n_qbits: {int"))
    assert "'n_qbits' is not allowed" in message and "Did you mean 'n_qubits'?" in message
    message = load_error(tmp_path, VALID.replace("layer:\n", "layer:\n  per_layr: true\n"))
    assert "'per_layr' is not allowed" in message and "Did you mean 'per_layer'?" in message
    message = load_error(tmp_path, VALID.replace("task_kinds: [classification]", "task_kinds: [vqa]"))
    assert "'vqa' is not allowed" in message and "Did you mean 'vqe'?" in message


def test_unknown_gate_names_the_gate_and_the_fix(tmp_path):
    message = load_error(tmp_path, VALID.replace("[CNOT, CZ]", "[CNTO, CZ]"))
    assert "layer.entangling_gate.choices[0]" in message
    assert "'CNTO' is not allowed; allowed values: ['CNOT', 'CZ', 'CRZ']. Did you mean 'CNOT'?" in message
    message = load_error(
        tmp_path,
        VALID.replace(
            "entangler: {choices: [none, ring]}", "rotations: {choices: [RY+RW]}\n  entangler: {choices: [none, ring]}"
        ),
    )
    assert "'RW' is not allowed" in message and "'RY'" in message


@pytest.mark.parametrize(
    "entry,expected",
    [
        ("{int: [5, 2]}", "low 5 > high 2; write [2, 5]"),
        ("{int: [0, 3]}", "n_qubits = 0 must be an integer in [1, 30]"),
        ("{int: [2, 5], step: 2}", "[2, 5] is not a whole number of steps of 2; use high = 4"),
        ("{int: [1, 4], log: true, step: 2}", "cannot be combined with log: true"),
        ("{choices: []}", "must be a non-empty list"),
        ("{choices: [2, 2]}", "2 is listed twice"),
        ("{choices: [2.5]}", "n_qubits = 2.5 must be an integer"),
        ("{float: [1.0, 2.0]}", "cannot be declared as a float: range; it takes int: [low, high] or choices:"),
        ("{int: [2, 3], choices: [2]}", "give exactly one of ['choices', 'int', 'float']"),
        ("4", "To pin one value, put `n_qubits: 4` under fixed: instead"),
    ],
)
def test_bad_distribution_shapes(tmp_path, entry, expected):
    message = load_error(tmp_path, VALID.replace("n_qubits: {int: [2, 3]}", f"n_qubits: {entry}"))
    assert "params.n_qubits" in message and expected in message


@pytest.mark.parametrize(
    "entry,expected",
    [
        ("{float: [0.0, 0.1], log: true}", "log: true needs low > 0, got low = 0.0; raise low or drop log"),
        ("{float: [1e-3, 0.1]}", "learning_rate = '1e-3' must be a number"),
        ("{float: [0.001, 0.1], step: 0.03}", "is not a whole number of steps of 0.03"),
        ("{float: [0.001, 11.0]}", "learning_rate = 11.0 must be in (0, 10]"),
    ],
)
def test_bad_float_ranges(tmp_path, entry, expected):
    message = load_error(tmp_path, VALID.replace("params:\n", f"params:\n  learning_rate: {entry}\n"))
    assert expected in message
    if "1e-3" in entry:
        assert "write 1.0e-3 or 0.001" in message


def test_when_naming_an_unknown_parameter(tmp_path):
    message = load_error(tmp_path, VALID.replace("when: {split: [quantum_middle]}", "when: {splt: [quantum_middle]}"))
    assert "params.pre_width.when.splt" in message
    assert "'splt' is not allowed" in message and "Did you mean 'split'?" in message
    assert "declared above it or a fixed field" in message


def test_when_naming_a_later_parameter(tmp_path):
    text = VALID.replace("  pre_width: {choices: [4, 8], when: {split: [quantum_middle]}}\n", "").replace(
        "params:\n", "params:\n  pre_width: {choices: [4, 8], when: {split: [quantum_middle]}}\n"
    )
    assert "'split' is declared after 'pre_width'; move it above" in load_error(tmp_path, text)


def test_when_value_that_never_holds(tmp_path):
    message = load_error(tmp_path, VALID.replace("when: {split: [quantum_middle]}", "when: {split: [quantum_head]}"))
    assert "split takes one of ['quantum_first', 'quantum_middle'], so ['quantum_head'] never holds" in message
    message = load_error(tmp_path, VALID.replace("when: {split: [quantum_middle]}", "when: {split: [quantum_midle]}"))
    assert "'quantum_midle' is not allowed" in message and "Did you mean 'quantum_middle'?" in message


def test_missing_when_is_caught_at_load(tmp_path):
    message = load_error(tmp_path, VALID.replace(", when: {split: [quantum_middle]}", ""))
    assert "split = 'quantum_first' reads raw features, so pre_layers must be []" in message
    assert "'pre_width': 4" in message and "Add a `when:` condition" in message


def test_field_both_fixed_and_drawn(tmp_path):
    message = load_error(tmp_path, VALID + "fixed: {n_qubits: 2}\n")
    assert "n_qubits is both fixed (= 2) and drawn; keep one of the two" in message


def test_layer_field_under_params(tmp_path):
    message = load_error(tmp_path, VALID.replace("params:\n", "params:\n  rotations: {choices: [RY]}\n"))
    assert "rotations is a layer field; declare it under layer:" in message


def test_wrong_task_kind_names_the_fitting_space():
    with pytest.raises(SearchSpaceError) as info:
        load_space("vqe_gates").check_task_kind("classification", "moons")
    assert str(info.value) == (
        "space 'vqe_gates' is for vqe tasks; task 'moons' is classification; use --space classification "
        "or --space aer_classification or --space noisy_classification."
    )
    with pytest.raises(SearchSpaceError, match="use --space state_prep"):
        load_space("classification").check_task_kind("state_prep", "bell")
    load_space("vqe_gates").check_task_kind("vqe", "h2")


def test_no_warnings_when_sampling():
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(5):
            trial = study.ask()
            load_space("classification").sample(trial)
            study.tell(trial, 0.5)


@pytest.mark.parametrize(
    ("fixed", "params", "analytic"),
    [
        ({"shots": 4000}, {}, False),
        ({"shots": None}, {}, True),
        ({}, {"shots": {"choices": [1000, 4000]}}, False),
        ({}, {"shots": {"choices": [None, 1000]}}, True),
        ({}, {"shots": {"int": [100, 1000]}}, False),
        # drawn only for some candidates: the others keep the default, analytic
        ({}, {"encoding": {"choices": ["angle_x", "iqp"]}, "shots": {"choices": [1000], "when": {"encoding": ["iqp"]}}}, True),
        # ... unless the condition holds for every candidate
        ({"encoding": "iqp"}, {"shots": {"choices": [1000], "when": {"encoding": ["iqp"]}}}, False),
        ({}, {}, True),  # never drawn
    ],
)
def test_allows_analytic_follows_fixed_choices_and_when(fixed, params, analytic):
    space = SearchSpace({"name": "s", "task_kinds": ["classification"], "fixed": {"n_qubits": 2, **fixed}, "params": params})
    assert space.allows_analytic() is analytic


def test_of_the_shipped_spaces_only_aer_classification_always_draws_shots():
    assert [name for name in SPACE_NAMES if not load_space(name).allows_analytic()] == ["aer_classification"]
