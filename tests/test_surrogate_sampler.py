"""SurrogateSampler learns from every reported prefix score: on a toy design where only one action
raises the score, it picks that action once its random start-up is over."""

from __future__ import annotations

import optuna

from qnas.agents.surrogate_sampler import SurrogateSampler

GOOD = 2


def design(trial: optuna.Trial) -> float:
    """Five slots of 4 actions; the score after each step counts the GOOD actions so far."""
    score = 0.0
    for slot in range(5):
        score += trial.suggest_int(f"slot{slot}", 0, 3) == GOOD
        trial.report(score, slot)
    return score


def test_it_learns_the_action_that_raises_the_prefix_score() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=SurrogateSampler(n_startup_trials=10, seed=0))
    study.optimize(design, n_trials=40)
    learned = [t.params[f"slot{i}"] for t in study.trials[20:] for i in range(5)]
    startup = [t.params[f"slot{i}"] for t in study.trials[:10] for i in range(5)]
    assert learned.count(GOOD) / len(learned) > 0.8 > startup.count(GOOD) / len(startup)


def test_parameters_that_are_not_slots_are_drawn_at_random_in_their_range() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=SurrogateSampler(n_startup_trials=0, seed=1))
    study.optimize(lambda t: t.suggest_float("lr", 0.1, 0.2) + t.suggest_int("layers", 1, 3), n_trials=10)
    assert all(0.1 <= t.params["lr"] <= 0.2 and 1 <= t.params["layers"] <= 3 for t in study.trials)
