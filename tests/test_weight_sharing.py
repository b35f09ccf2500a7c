"""qnas.weight_sharing: members inherit their slices of the SuperCircuit's bank, training moves only
the slices drawn, and the ranking check compares inherited scores with training from scratch."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from qnas.errors import QnasError
from qnas.spec import CandidateSpec, EncodingSpec, LayerSpec, TrainingSpec
from qnas.tasks import make_task
from qnas.weight_sharing import AXES, Family, RankingCheck, SuperCircuit, ranking_check
from tests.conftest import SMALL_MOONS

BASE = CandidateSpec(split="quantum_first", n_qubits=2, encoding=EncodingSpec("angle_y"), post_layers=(4,),
                     training=TrainingSpec(optimizer="adam", learning_rate=0.05, epochs=2, batch_size=16))


def family(rotations=(("RY",), ("RX", "RZ")), entanglers=("none", "ring"), gates=("CNOT", "CRZ")) -> Family:
    """Every member of 1-2 layers of one layer built from these choices."""
    layers = [LayerSpec(r, e, None if e == "none" else g) for r in rotations for e in entanglers
              for g in (gates if e != "none" else (None,))]
    return Family(tuple(replace(BASE, layers=(layer,) * n) for n in (1, 2) for layer in layers))


def test_a_member_inherits_its_slices_and_the_shared_classical_layers() -> None:
    supercircuit = SuperCircuit(make_task(SMALL_MOONS), family(), seed=0)
    spec = replace(BASE, layers=(LayerSpec(("RX", "RZ"), "ring", "CRZ"),) * 2)
    model = supercircuit.model(spec)
    weights = model.circuit_weights()
    for layer in range(2):
        assert torch.equal(weights[f"rot{layer}"], supercircuit.rotations[layer, [AXES.index("RX"), AXES.index("RZ")]])
        assert weights[f"crz{layer}"].shape == (1,)  # 2 qubits: the ring is one pair
    assert model.pre is supercircuit.pre and model.post is supercircuit.post


def test_training_moves_only_the_slices_its_members_use_and_lowers_the_loss() -> None:
    supercircuit = SuperCircuit(make_task(SMALL_MOONS), family(rotations=(("RY",),), entanglers=("none",)), seed=0)
    before = supercircuit.rotations.detach().clone()
    losses = supercircuit.train(120, seed=0)
    after = supercircuit.rotations.detach()
    ry = AXES.index("RY")
    assert not torch.equal(after[:, ry], before[:, ry])
    assert torch.equal(after[:, [AXES.index("RX"), AXES.index("RZ")]], before[:, [AXES.index("RX"), AXES.index("RZ")]])
    assert np.mean(losses[-20:]) < np.mean(losses[:20])


def test_the_ranking_check_scores_each_candidate_both_ways() -> None:
    task = make_task(SMALL_MOONS)
    members = family()
    supercircuit = SuperCircuit(task, members, seed=0)
    supercircuit.train(40, seed=0)
    rng = np.random.default_rng(0)
    candidates = list({s.hash: s for s in (members.sample(rng) for _ in range(40))}.values())[:4]
    check = ranking_check(supercircuit, candidates)
    assert len(check.inherited) == len(check.scratch) == 4 and -1.0 <= check.spearman <= 1.0
    assert check.sharing_on == (check.spearman >= 0.7)
    with pytest.raises(QnasError, match="at least 3 candidates, got 2"):
        ranking_check(supercircuit, candidates[:2])
    with pytest.raises(QnasError, match="weight sharing is for classification searches; task 'h2' is vqe"):
        SuperCircuit(make_task("h2"), members)


def test_the_ceiling_is_what_seed_noise_leaves_of_any_ranking() -> None:
    rng = np.random.default_rng(0)
    quality = np.linspace(0.5, 1.0, 50)
    steady = RankingCheck(tuple(quality), tuple((q,) * 4 for q in quality))
    assert steady.ceiling() == pytest.approx(1.0) and steady.ceiling(1) == pytest.approx(1.0)
    noise = RankingCheck(tuple(quality), tuple(tuple(rng.random(10)) for _ in quality))
    assert noise.ceiling() < 0.5 and noise.ceiling(1) <= noise.ceiling()
    some = RankingCheck(tuple(quality), tuple(tuple(q + rng.normal(0, 0.15, 10)) for q in quality))
    assert 0.5 < some.ceiling(1) < some.ceiling() < 1.0  # averaging trainings makes the reference steadier
    assert RankingCheck((1.0, 2.0, 3.0), ((1.0,), (2.0,), (3.0,))).ceiling() is None


def test_a_family_differs_only_in_its_ansatz() -> None:
    other = replace(BASE, training=replace(BASE.training, epochs=3), layers=(LayerSpec(("RY",), "none", None),))
    with pytest.raises(QnasError, match=r"may differ only in their ansatz layers; these also differ in \['training'\]"):
        Family((replace(BASE, layers=(LayerSpec(("RY",), "none", None),)), other))
