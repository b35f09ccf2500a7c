"""`qnas decoders train | eval | search`: argument parsing and the three commands.

Only `argparse` is imported at module level: `qnas --help` builds this parser, and torch, Stim
and Optuna are imported inside the commands that need them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_decoders_parser(sub: Any, default_storage: str) -> None:
    """Add `decoders` and its subcommands to the top-level `qnas` subparsers."""
    decoders = sub.add_parser("decoders", help="learned syndrome decoders: train, evaluate against PyMatching, search")
    decoders_sub = decoders.add_subparsers(dest="decoders_command", required=True)

    train = decoders_sub.add_parser("train", help="train a decoder on fresh Stim shots and save it")
    _add_experiment_arguments(train)
    train.add_argument("--out", required=True, help="folder to write the decoder to")
    train.add_argument("--minutes", type=float, default=10.0, help="training budget in minutes (default 10)")
    train.add_argument("--max-steps", type=int, help="stop after this many optimizer steps, if earlier")
    train.add_argument("--arch", default="mlp", help="mlp (dense) or conv (3D convolutions over the detector grid)")
    train.add_argument("--width", type=int, default=512, help="units per dense layer (default 512)")
    train.add_argument("--depth", type=int, default=3, help="hidden dense layers (mlp) or conv layers (conv)")
    train.add_argument("--channels", type=int, default=32, help="conv channels (conv only, default 32)")
    train.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (default 2e-3)")
    train.add_argument(
        "--batch-size", type=int, default=65_536, help="shots per step; repeated syndromes are collapsed (default 65,536)"
    )
    train.add_argument("--validation-shots", type=int, default=200_000)
    _add_run_arguments(train, threads=2)
    train.set_defaults(func=cmd_train)

    evaluate = decoders_sub.add_parser("eval", help="score a decoder and PyMatching on the same test shots")
    evaluate.add_argument("decoder_dir", metavar="DIR", help="folder written by `qnas decoders train`")
    evaluate.add_argument("--shots", type=int, default=1_000_000, help="test shots (default 1,000,000)")
    evaluate.add_argument("--p", type=float, help="evaluate at another physical error rate (default: the trained one)")
    evaluate.add_argument("--json", metavar="FILE", help="also write the figures to this JSON file")
    _add_run_arguments(evaluate, threads=1, seed=2026)  # apart from the training default 0
    evaluate.set_defaults(func=cmd_eval)

    search = decoders_sub.add_parser("search", help="search decoder hyperparameters into an Optuna study")
    _add_experiment_arguments(search)
    search.add_argument("--trials", type=int, default=8)
    search.add_argument("--storage", default=default_storage, help="Optuna storage URL")
    search.add_argument("--study", help="study name (default: decoder-d{D}-r{R}-p{P})")
    search.add_argument("--space", default="default", help="decoder search space: a shipped name or a YAML path")
    search.add_argument("--artifacts", help="folder for each trial's decoder (default: beside the SQLite file)")
    search.add_argument("--validation-shots", type=int, default=200_000)
    _add_run_arguments(search, threads=2)
    search.set_defaults(func=cmd_search)


def _add_experiment_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--code", default="surface", help="code family (surface: rotated surface code, Z memory)")
    parser.add_argument("--distance", type=int, default=3, help="code distance, odd >= 3 (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="syndrome rounds (default 3)")
    parser.add_argument("--p", type=float, default=0.005, help="circuit-level noise on every noise parameter")


def _add_run_arguments(parser: argparse.ArgumentParser, threads: int, seed: int = 0) -> None:
    parser.add_argument("--seed", type=int, default=seed, help=f"random seed (default {seed})")
    parser.add_argument("--threads", type=int, default=threads, help=f"torch CPU threads (default {threads})")


def _experiment(args: argparse.Namespace) -> Any:
    from qnas.decoders.sampling import MemoryExperiment

    return MemoryExperiment(code=args.code, distance=args.distance, rounds=args.rounds, p=args.p)


def _set_threads(threads: int) -> None:
    import torch

    from qnas.decoders.sampling import DecoderError

    if threads < 1:
        raise DecoderError(f"--threads {threads} is not allowed: use 1 or more.")
    torch.set_num_threads(threads)


def cmd_train(args: argparse.Namespace) -> int:
    from qnas.decoders.model import NetworkConfig
    from qnas.decoders.progress import TrainingProgress
    from qnas.decoders.search import training_info
    from qnas.decoders.store import save_decoder
    from qnas.decoders.training import TrainingConfig, train_decoder

    _set_threads(args.threads)
    config = TrainingConfig(
        experiment=_experiment(args),
        network=NetworkConfig(arch=args.arch, width=args.width, depth=args.depth, channels=args.channels),
        minutes=args.minutes,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        validation_shots=args.validation_shots,
        seed=args.seed,
    )
    with TrainingProgress() as progress:
        result = train_decoder(config, progress=progress.update)
    out = save_decoder(result.decoder, args.out, training_info(result))
    print(
        f"decoder ({result.decoder.describe()}) saved in {out}: validation logical error rate "
        f"{result.validation_error_rate:.4e} on {config.validation_shots:,} shots after {result.steps:,} steps "
        f"({result.shots_seen:,} training shots, {result.wall_time_s:.0f} s).\n"
        f"Next: qnas decoders eval {out} --shots 1000000 --seed {args.seed + 1}"
    )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from qnas.decoders.evaluation import compare
    from qnas.decoders.store import load_decoder

    _set_threads(args.threads)
    decoder = load_decoder(args.decoder_dir)
    experiment = decoder.experiment if args.p is None else decoder.experiment.with_p(args.p)
    comparison = compare(decoder, shots=args.shots, seed=args.seed, experiment=experiment)
    print(comparison.summary())
    print(f"  (learned decoder on {args.threads} torch thread(s); PyMatching is single-threaded)")
    if args.json:
        Path(args.json).write_text(json.dumps({**comparison.to_dict(), "threads": args.threads}, indent=2) + "\n")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    import optuna

    from qnas.cli import _console
    from qnas.decoders.search import METRIC, load_decoder_space, run_decoder_search
    from qnas.decoders.training import TrainingConfig
    from qnas.redaction import redact_url
    from qnas.storage import default_artifact_dir
    from qnas.study_tables import best_trials_table

    _set_threads(args.threads)
    experiment = _experiment(args)
    space = load_decoder_space(args.space)
    name = args.study or f"decoder-d{experiment.distance}-r{experiment.rounds}-p{experiment.p}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def report(trial: optuna.trial.FrozenTrial) -> None:
        print(f"trial {trial.number}: {METRIC} {trial.value:.4e} with {trial.params}", file=sys.stderr, flush=True)

    study = run_decoder_search(
        experiment,
        trials=args.trials,
        storage=args.storage,
        study_name=name,
        space=space,
        base=TrainingConfig(validation_shots=args.validation_shots),
        artifact_dir=Path(args.artifacts) if args.artifacts else default_artifact_dir(args.storage),
        seed=args.seed,
        on_trial=report,
    )
    _console().print(best_trials_table(study, top=5))
    best = study.best_trial
    print(
        f"study {name!r}: best {METRIC} {best.value:.4e} (trial {best.number}), decoder in "
        f"{best.user_attrs['decoder_path']}.\n"
        f"Next: qnas decoders eval {best.user_attrs['decoder_path']} --seed {args.seed + 10_000}; "
        f"qnas studies show {name} --storage {redact_url(args.storage)}"
    )
    return 0
