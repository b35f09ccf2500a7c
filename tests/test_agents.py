"""The RL agent: MaskablePPO trained on qnas/CircuitDesign-v0, saved safely, proposing into a study
through the same proposer interface as the samplers (alone, or taking turns with TPE)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import optuna
import pytest

from qnas.agents.rl_agent import AgentConfig, load_agent, rollout, train_agent
from qnas.cli import main
from qnas.errors import QnasError
from qnas.evaluation import EvalResult
from qnas.search import SearchConfig, run_search

BELL = {"name": "bell"}


@pytest.fixture(scope="module")
def bell_agent(tmp_path_factory) -> Path:
    """A briefly trained agent on Bell preparation with the qas-gym gate set, two envs in parallel."""
    folder = tmp_path_factory.mktemp("agent")
    config = AgentConfig(task=BELL, env={"gate_set": "qas-gym"}, seed=1, n_envs=2, timesteps=512,
                         ppo={"n_steps": 128, "batch_size": 64, "learning_rate": 3e-4, "gamma": 0.99, "ent_coef": 0.01})
    train_agent(config, folder)
    return folder


def test_training_writes_the_agent_folder(bell_agent: Path) -> None:
    assert AgentConfig.read(bell_agent).timesteps == 512
    assert (bell_agent / "learning_curve.png").stat().st_size > 1000
    assert list((bell_agent / "checkpoints").glob("agent_*_steps.zip"))
    assert list((bell_agent / "tensorboard").rglob("events.out.tfevents.*"))
    assert len(list((bell_agent / "monitor").glob("*.monitor.csv"))) == 2  # one per parallel env


def test_a_loaded_agent_rolls_out_a_valid_circuit(bell_agent: Path) -> None:
    model, config = load_agent(bell_agent)
    from qnas.agents.rl_agent import make_env

    env = make_env(config)
    first = rollout(model, env, seed=3)
    again = rollout(model, env, seed=3)
    assert first[1] == again[1]  # same seed, same episode
    info, actions, _ = first
    assert 1 <= len(actions) <= 20 and "spec" in info
    assert info["spec"]["split"] == "quantum_only"


def test_rl_proposals_go_into_the_study_with_proposer_rl(bell_agent: Path, storage: str) -> None:
    run_search(SearchConfig(task=BELL, trials=3, workers=0, storage=storage, study="rl", agent="rl", policy=str(bell_agent)))
    trials = optuna.load_study(study_name="rl", storage=storage).trials
    assert len(trials) == 3 and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert {t.user_attrs["proposer"] for t in trials} == {"rl"}
    assert all(t.user_attrs["rl_actions"] and 0.0 <= t.value <= 1.0 + 1e-9 for t in trials)


def test_hybrid_alternates_rl_and_tpe_on_one_study(bell_agent: Path, storage: str) -> None:
    run_search(SearchConfig(task=BELL, trials=4, workers=0, storage=storage, study="hy", agent="hybrid",
                            policy=str(bell_agent)))
    proposers = [t.user_attrs["proposer"] for t in optuna.load_study(study_name="hy", storage=storage).trials]
    assert proposers == ["rl", "optuna:tpe", "rl", "optuna:tpe"]


def test_agent_cli_propose_fills_a_study(bell_agent: Path, storage: str) -> None:
    assert main(["agent", "propose", "--policy", str(bell_agent), "--study", "cli", "--storage", storage,
                 "--trials", "2", "--workers", "0"]) == 0
    assert len(optuna.load_study(study_name="cli", storage=storage).trials) == 2


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--agent", "hybird"], "Did you mean 'hybrid'"),
        (["--agent", "optuna", "--policy", "{agent}"], "needs --agent rl or hybrid"),
        (["--agent", "rl", "--policy", "{agent}", "--task", "ghz"], "was trained on task"),
        (["--agent", "rl", "--policy", "{empty}"], "agent train --out DIR"),
        (["--agent", "rl", "--agent-timesteps", "0"], "--agent-timesteps = 0 must be at least 1"),
    ],
)
def test_bad_agent_settings_are_clear_errors(bell_agent: Path, tmp_path: Path, storage: str, capsys, args, fragment) -> None:
    args = [a.format(agent=bell_agent, empty=tmp_path) for a in args]
    base = ["search", "--task", "bell", "--trials", "1", "--workers", "0", "--storage", storage]
    if "--task" in args:
        base = [b for b in base if b != "bell" and b != "--task"]
    assert main([*base, *args]) == 2
    assert fragment in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--env-arg", "gate_cots=0.1"], "Did you mean 'gate_cost'"),
        (["--gate-set", "qasgym"], "Did you mean 'qas-gym'"),
        (["--n-envs", "0"], "--n-envs = 0 must be at least 1"),
        (["--timesteps", "0"], "--timesteps = 0 must be at least 1"),
    ],
)
def test_bad_agent_training_settings_are_clear_errors(tmp_path: Path, capsys, args, fragment) -> None:
    out = tmp_path / "agent"
    assert main(["agent", "train", "--task", "bell", "--timesteps", "64", "--out", str(out), *args]) == 2
    assert fragment in capsys.readouterr().err
    assert not (out / "agent.zip").exists()


def test_a_corrupted_agent_is_refused_without_unpickling(bell_agent: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "agent.json").write_text((bell_agent / "agent.json").read_text())
    with zipfile.ZipFile(broken / "agent.zip", "w") as archive:
        archive.writestr("data", json.dumps({"policy_class": {":serialized:": "gASV"}}))
        archive.writestr("policy.pth", b"not a torch file")
    with pytest.raises(QnasError, match="could not be loaded"):
        load_agent(broken)
    (broken / "agent.json").write_text("{not json")
    with pytest.raises(QnasError, match="not valid JSON"):
        load_agent(broken)


def test_rl_proposals_take_the_spaces_calibration_settings_from_the_sampler(bell_agent: Path) -> None:
    """The policy designs the circuit; shots, mitigation, ZNE and layout are drawn on its trial."""
    from qnas.agents.rl_proposer import RLProposer
    from qnas.search_spaces import load_space
    from qnas.search_spaces.fields import ZNE_CHOICES

    model, config = load_agent(bell_agent)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    proposer = RLProposer(study, model, config, seed=0, space=load_space("noisy_vqe"))
    for proposal in [proposer.ask() for _ in range(6)]:
        params = study.trials[proposal.id].params
        assert {"shots", "readout_mitigation", "zne", "layout"} <= set(params) and "n_layers" not in params
        calibration = proposal.spec.calibration
        assert (calibration.shots, calibration.readout_mitigation, calibration.layout) == (
            params["shots"], params["readout_mitigation"], params["layout"]
        )
        assert calibration.zne_factors == ZNE_CHOICES[params["zne"]]
        assert proposal.spec.gates, "the circuit is the policy's gate list"


class ScriptedPolicy:
    """Plays a fixed list of action labels: isolates the proposer from what PPO happens to learn."""

    def __init__(self, env_actions: list[str], script: list[str]) -> None:
        self._indices = [env_actions.index(label) for label in script]
        self._step = 0

    def predict(self, obs, action_masks=None, deterministic=False):
        action = self._indices[self._step % len(self._indices)]
        self._step += 1
        return action, None


def test_rl_proposals_are_pruned_before_they_reach_the_study() -> None:
    """Z1 on |0> changes nothing, so the policy's H0 Z1 CNOT0,1 is proposed as H0 CNOT0,1."""
    from qnas.agents.rl_agent import make_env
    from qnas.agents.rl_proposer import RLProposer

    config = AgentConfig(task=BELL, env={"gate_set": "qas-gym"})
    labels = [action.label for action in make_env(config).unwrapped.actions]
    study = optuna.create_study(direction="maximize")
    proposer = RLProposer(study, ScriptedPolicy(labels, ["H0", "Z1", "CNOT0,1"]), config)
    proposal = proposer.ask()
    assert [(g.name, g.wires) for g in proposal.spec.gates] == [("H", (0,)), ("CNOT", (0, 1))]
    proposer.tell(proposal.id, EvalResult(status="failed", error="not trained in this test"))
    attrs = study.trials[0].user_attrs
    assert attrs["rl_actions"] == ["H0", "Z1", "CNOT0,1"] and attrs["rl_pruned_actions"] == ["H0", "CNOT0,1"]
    assert attrs["rl_env_score"] == pytest.approx(1.0)


def test_an_agent_trained_informed_reloads_its_prior_and_proposes_for_its_task(tmp_path: Path, storage: str) -> None:
    """Trained on {"name": "h2"}: the search's task gains its defaults (bond_length), and is still the same task."""
    from qnas.agents.screen_prior import ScreenPriorPolicy

    config = AgentConfig(task={"name": "h2"}, env={"gate_set": "pauli", "screen_observation": True, "curriculum": True},
                         timesteps=32, ppo={"n_steps": 16, "batch_size": 16})
    train_agent(config, tmp_path / "agent")
    model, _ = load_agent(tmp_path / "agent")
    assert isinstance(model.policy, ScreenPriorPolicy)
    run_search(SearchConfig(task={"name": "h2"}, trials=2, workers=0, storage=storage, study="informed", agent="rl",
                            policy=str(tmp_path / "agent")))
    trials = optuna.load_study(study_name="informed", storage=storage).trials
    assert [t.user_attrs["proposer"] for t in trials] == ["rl", "rl"]
    assert all(t.user_attrs["rl_actions"][0].startswith("R(") for t in trials)


def test_a_dqn_agent_trains_with_replay_reloads_and_proposes_legal_circuits(tmp_path: Path, storage: str) -> None:
    assert main(["agent", "train", "--task", "bell", "--gate-set", "qas-gym", "--algorithm", "dqn", "--timesteps", "96",
                 "--n-envs", "1", "--out", str(tmp_path / "dqn")]) == 0
    model, config = load_agent(tmp_path / "dqn")
    assert config.algorithm == "dqn" and model.replay_buffer is not None and hasattr(model, "q_net")
    run_search(SearchConfig(task=BELL, trials=3, workers=0, storage=storage, study="dqn", agent="rl",
                            policy=str(tmp_path / "dqn")))
    trials = optuna.load_study(study_name="dqn", storage=storage).trials
    assert len(trials) == 3 and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert all(t.user_attrs["proposer"] == "rl" and t.user_attrs["rl_actions"] for t in trials)


def test_an_unknown_algorithm_names_the_choices(tmp_path: Path, capsys) -> None:
    code = main(["agent", "train", "--task", "bell", "--algorithm", "a2c", "--timesteps", "8", "--out", str(tmp_path / "a")])
    assert code == 2 and "--algorithm = 'a2c' is not allowed; allowed values: ['ppo', 'dqn']" in capsys.readouterr().err


def test_a_search_that_trains_its_agent_says_so_and_where_it_saved_it(tmp_path: Path, capsys) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["search", "--task", "bell", "--agent", "rl", "--agent-timesteps", "64", "--trials", "1",
                 "--workers", "0", "--storage", storage, "--study", "trained"]) == 0
    err = capsys.readouterr().err
    folder = tmp_path / "s-artifacts" / "agents" / "trained"
    assert f"training the rl agent first: 64 steps on 1 environment(s), into {folder}" in " ".join(err.split())
    assert f"agent saved in {folder}" in err and (folder / "agent.zip").is_file()
