"""`--agent shared` (qnas.agents.shared_proposer): the space's ansatz family scored with one
SuperCircuit's weights, a check against training from scratch, then the family best inherited
score first where the check passes, or the sampler where it does not."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

import qnas.agents.shared_proposer as shared
from qnas.agents.shared_proposer import SharedProposer, family_members
from qnas.cli import main
from qnas.errors import QnasError
from qnas.evaluation import EvalResult, evaluate
from qnas.search_spaces import load_space, parse_space
from qnas.study import open_study
from qnas.tasks import make_task
from tests.conftest import SMALL_MOONS

QUICK = load_space("classification").yaml.replace("epochs: {choices: [15, 25, 40]}", "epochs: {choices: [2]}")
"""The classification space with 2 training epochs: every member trains in a fraction of a second."""


def new_study(tmp_path: Path, pruner: optuna.pruners.BasePruner | None = None) -> optuna.Study:
    """A study as a search opens it (its weights folder included)."""
    return open_study(f"sqlite:///{tmp_path / 's.db'}", "shared", direction="maximize",
                      pruner=pruner or optuna.pruners.NopPruner(), attrs={"artifact_dir": str(tmp_path / "artifacts")})


def run(proposer: SharedProposer, task, trials: int) -> list[optuna.trial.FrozenTrial]:
    """The search loop in miniature: ask, train the candidate here, tell."""
    for _ in range(trials):
        proposal = proposer.ask()
        proposer.tell(proposal.id, evaluate(proposal.spec, task))
    return proposer.study.trials


def test_the_family_is_the_spaces_ansatz_over_one_base() -> None:
    space = load_space("classification")
    members = family_members(space, 4)
    assert len(members) == 3 * 4 * (1 + 3 * 3)  # layers x rotations x (none, or 3 entanglers x 3 gates)
    assert len({spec.hash for _, spec in members}) == len(members)
    bases = {tuple((k, v) for k, v in params.items() if k not in ("n_layers", "rotations", "entangler", "entangling_gate"))
             for params, _ in members}
    assert len(bases) == 1
    base = dict(next(iter(bases)))
    assert base["split"] == "quantum_first" and base["n_qubits"] == 4 and base["epochs"] == 15 and base["shots"] is None
    wide = dict(family_members(space, 13)[0][0])
    assert wide["split"] == "quantum_middle" and wide["n_qubits"] == 4 and wide["pre_width"] == 8


@pytest.mark.parametrize(("threshold", "sharing"), [(-1.0, True), (1.01, False)])
def test_the_check_trains_members_then_sharing_orders_the_rest_or_the_sampler_takes_over(
    threshold: float, sharing: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(shared, "SHARING_MIN_SPEARMAN", threshold)  # force the verdict; the check itself is real
    task = make_task(SMALL_MOONS)
    study = new_study(tmp_path, optuna.pruners.ThresholdPruner(lower=2.0))  # prunes every trial that reports
    proposer = SharedProposer(study, parse_space(QUICK, "quick.yaml"), task, "tpe", seed=0, steps=60, check_trials=6)
    first = proposer.ask()
    assert proposer.report(first.id, 1, 0.5) is False  # a check trial runs to the end
    proposer.tell(first.id, evaluate(first.spec, task))
    trials = run(proposer, task, 9)
    checks, after = trials[:6], trials[6:]
    assert all(t.user_attrs["weight_sharing"] == "check" for t in checks)
    assert len({t.params["rotations"] + t.params.get("entangler", "") + str(t.params["n_layers"]) for t in checks}) > 1
    assert study.user_attrs["weight_sharing"] == ("on" if sharing else "off")
    assert study.user_attrs["weight_sharing_checked"] == 6 and -1 <= study.user_attrs["weight_sharing_spearman"] <= 1
    if sharing:
        scores = [t.user_attrs["inherited_score"] for t in after]
        assert all(t.user_attrs["weight_sharing"] == "ranked" for t in after)
        assert scores == sorted(scores, reverse=True) and scores[0] == max(proposer.inherited.values())
    else:
        assert all("weight_sharing" not in t.user_attrs and t.user_attrs["proposer"] == "optuna:tpe" for t in after)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)


def test_a_resumed_search_keeps_the_check_and_proposes_no_member_twice(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(shared, "SHARING_MIN_SPEARMAN", -1.0)
    task = make_task(SMALL_MOONS)
    study = new_study(tmp_path)
    space = parse_space(QUICK, "quick.yaml")
    first = SharedProposer(study, space, task, "tpe", seed=0, steps=60, check_trials=4)
    run(first, task, 6)
    again = SharedProposer(study, space, task, "tpe", seed=0, steps=60, check_trials=4)
    assert again.sharing is True and again.inherited == first.inherited
    trials = run(again, task, 3)
    keys = [repr(sorted(t.params.items())) for t in trials]
    assert len(set(keys)) == len(keys) == 9 and all(t.user_attrs["weight_sharing"] == "ranked" for t in trials[6:])


def test_spaces_it_cannot_share_are_clear_errors() -> None:
    task = make_task(SMALL_MOONS)
    per_layer = load_space("classification").yaml.replace("per_layer: false", "per_layer: true")
    with pytest.raises(QnasError, match="per_layer: false.*per_layer True.*Use --space classification"):
        SharedProposer(optuna.create_study(), parse_space(per_layer, "p.yaml"), task, "tpe")
    narrow = QUICK.replace("rotations: {choices: [RY, RX+RZ, RY+RZ, RX+RY+RZ]}", "rotations: {choices: [RY]}")
    with pytest.raises(QnasError, match=r"gives 30 ansatz members, but the check alone trains 50; widen"):
        SharedProposer(optuna.create_study(), parse_space(narrow, "n.yaml"), task, "tpe")
    with pytest.raises(QnasError, match="--agent shared shares weights between classifiers; task 'h2' is vqe"):
        SharedProposer(optuna.create_study(), load_space("vqe_gates"), make_task("h2"), "tpe")


@pytest.mark.slow
def test_qnas_search_with_shared_weights_on_ray_workers(tmp_path: Path, capsys) -> None:
    space = tmp_path / "quick.yaml"
    space.write_text(QUICK)
    storage = f"sqlite:///{tmp_path / 's.db'}"
    code = main(["search", "--task", "iris", "--agent", "shared", "--space", str(space), "--trials", "55",
                 "--workers", "2", "--storage", storage, "--study", "iris-shared", "--seed", "0"])
    assert code == 0
    err = capsys.readouterr().err
    assert "training the SuperCircuit: 2000 steps over 120 members" in err and "Spearman" in err
    study = optuna.load_study(study_name="iris-shared", storage=storage)
    assert study.user_attrs["weight_sharing_checked"] >= 50 and study.user_attrs["weight_sharing"] in ("on", "off")
    assert sum(t.user_attrs.get("weight_sharing") == "check" for t in study.trials) >= 50
    assert all(t.user_attrs["proposer"] == ("shared" if "weight_sharing" in t.user_attrs else "optuna:tpe")
               for t in study.trials)


def test_a_check_member_whose_worker_died_is_retried_as_a_check_member(tmp_path: Path) -> None:
    task = make_task(SMALL_MOONS)
    proposer = SharedProposer(new_study(tmp_path), parse_space(QUICK, "quick.yaml"), task, "tpe", seed=0, steps=20,
                              check_trials=3)
    first = proposer.ask()
    proposer.tell(first.id, EvalResult(status="failed", error="worker died: node lost"), attrs={"retried": True})
    again = proposer.retry(first)
    assert again.params == first.params and again.id != first.id
    proposer.tell(again.id, evaluate(again.spec, task))
    retried = proposer.study.trials[again.id]
    assert retried.user_attrs["retry_of"] == first.id and retried.user_attrs["weight_sharing"] == "check"
    assert retried.user_attrs["proposer"] == "shared"
    run(proposer, task, 3)  # two more check members, then the verdict counts the retried one
    assert proposer.study.user_attrs["weight_sharing_checked"] == 3
