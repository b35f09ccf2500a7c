"""The `qnas` command: search, studies, dashboard, export, predict.

Heavy imports happen inside each command, so `qnas --help` answers at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qnas.errors import QnasError

if TYPE_CHECKING:
    from qnas.search import SearchConfig

DASHBOARD_HOST = "127.0.0.1"


def parse_task_args(pairs: list[str], flag: str = "--task-arg") -> dict[str, Any]:
    """KEY=VALUE pairs; values are read as JSON (numbers, booleans) and fall back to strings."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise QnasError(f"{flag} {pair!r} must look like KEY=VALUE, e.g. {flag} n=6.")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


def _task_config(args: argparse.Namespace) -> dict[str, Any]:
    config: dict[str, Any] = {"name": args.task or "moons", **parse_task_args(args.task_arg)}
    if args.task == "csv" or args.data or args.target:
        if args.task != "csv":
            given = f"not --task {args.task}" if args.task else "and no --task was given"
            raise QnasError(f"--data/--target are for --task csv, {given}; add --task csv.")
        if not (args.data and args.target):
            raise QnasError("--task csv needs both --data FILE and --target COLUMN.")
        config.update(data=str(Path(args.data).resolve()), target=args.target)
    return config


def _console() -> Any:
    """Tables are wide: when output is not a terminal (logs, pipes) do not wrap them at 80 columns."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=200)


def search_config(args: argparse.Namespace) -> SearchConfig:
    """The search that `qnas search ARGS` asks for, from its parsed arguments. A setting left out is
    None: the study's record on --resume, the default otherwise."""
    from qnas.search import DEFAULT_TRIALS, SearchConfig

    task_given = args.task is not None or args.task_arg or args.data or args.target
    return SearchConfig(
        space=args.space,
        task=_task_config(args) if task_given else None,
        trials=args.trials if args.trials is not None or args.resume else DEFAULT_TRIALS,
        workers=args.workers,
        storage=args.storage,
        study=args.study,
        sampler=args.sampler,
        pruner=args.pruner,
        seed=args.seed,
        device=_device_config(args),
        artifact_dir=args.artifacts,
        address=args.address,
        trial_timeout=args.trial_timeout,
        max_retries=args.max_retries,
        resume=args.resume,
        agent=args.agent,
        policy=str(Path(args.policy).resolve()) if args.policy else None,
        agent_timesteps=args.agent_timesteps,
        fast_path=args.fast_path,
        objectives=tuple(args.objectives.split(",")) if args.objectives else None,
        allow_new_data=args.allow_new_data,
    )


def _device_config(args: argparse.Namespace) -> dict[str, Any] | None:
    if args.device is None and not args.device_arg:
        return None
    return {"name": args.device or "default.qubit", "options": parse_task_args(args.device_arg, "--device-arg")}


def cmd_search(args: argparse.Namespace) -> int:
    return _run_and_summarize(search_config(args))


def _run_and_summarize(config: Any) -> int:
    """Run a search, then print its best trials, why attempts failed, and the next command. Exit 1
    when no trial finished ok: there is nothing to export, and a script must not go on as if there were."""
    import optuna

    from qnas.redaction import redact_url
    from qnas.search import run_search
    from qnas.study import load_study
    from qnas.study_tables import best_trials_table
    from qnas.wall_time import format_seconds, study_wall_time

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the live display reports each trial
    outcome = run_search(config)
    console = _console()
    study = load_study(outcome.storage, outcome.study_name)
    console.print(best_trials_table(study, top=5))
    c = outcome.counts
    wall = study_wall_time(study)
    took = format_seconds(outcome.wall_time_s)
    if wall.recorded_runs > 1 or wall.untimed_s:  # earlier searches on the study
        took += f"; the study's searches took {wall.describe()} in all"
    console.print(
        f"study {outcome.study_name!r}: {c.ok} ok, {c.pruned} pruned, {c.failed_attempts} failed, {c.duplicates} reused "
        f"in {took}."
    )
    if c.failed_attempts:
        console.print(c.failures_line(), highlight=False, soft_wrap=True)
    storage = redact_url(config.storage)
    if c.ok == 0 and c.done:
        if c.failure_reasons:
            reason, count = c.failure_reasons.most_common(1)[0]
            why = f"the commonest failure, {count} of {c.failed_attempts} attempts: {reason}"
        else:
            why = f"all {c.pruned} were pruned"
        print(
            f"qnas: error: no trial of this search finished ok ({why}). `qnas studies show {outcome.study_name} "
            f"--storage {storage}` lists every failed trial with its reason.",
            file=sys.stderr,
        )
        return 1
    pick = ""
    if len(study.directions) > 1:  # no single best trial: name a point of the Pareto front, as export needs
        front = sorted(t.number for t in study.best_trials)
        pick = f" --trial {front[0]}" if front else ""
        console.print(f"Pareto front: trials {front} (`qnas studies show {outcome.study_name} --storage {storage}`).")
    console.print(f"Next: qnas export --study {outcome.study_name} --storage {storage}{pick} --out DIR", soft_wrap=True)
    return 0


def cmd_scan(args: argparse.Namespace) -> int:
    """Search each point of the curve, then print its table; the plot and CSV go to --out."""
    import optuna
    from rich.table import Table

    from qnas.scan import run_scan

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    scanned = parse_task_args([args.scan_arg], "--scan-arg")
    key, values = next(iter(scanned.items()))
    config = search_config(args)
    prefix = args.study or f"scan-{(config.task or {}).get('name', 'moons')}"
    out = Path(args.out or f"{prefix}-scan")
    points = run_scan(config, key, values, prefix, out)
    table = Table(title=f"scan {prefix}: best of each point ({out / 'scan.png'})")
    for column in (key, "best energy", "exact", "error", "2q gates", "trials", "full evaluations", "warm start"):
        table.add_column(column)
    for point in points:
        error = "-" if point.energy_error is None else f"{point.energy_error:.2e}"
        energy = "-" if point.energy is None else f"{point.energy:.6f}"
        table.add_row(str(point.value), energy, f"{point.exact_energy:.6f}", error, str(point.two_qubit_gates or "-"),
                      str(point.trials), str(point.full_evaluations), point.warm_start or "-")
    _console().print(table)
    total = sum(point.full_evaluations for point in points)
    _console().print(f"{len(points)} studies {prefix}-{key}=...: {total} full evaluations in all; table {out / 'scan.csv'}")
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    """`agent train`: train MaskablePPO or DQN on the design env; `agent propose`: its proposals into a study."""
    from qnas.agents.rl_agent import AgentConfig

    if args.agent_command == "propose":
        from qnas.search import SearchConfig

        trained = AgentConfig.read(args.policy)
        config = SearchConfig(
            space=trained.space, task=trained.task, trials=args.trials, workers=args.workers, storage=args.storage,
            study=args.study, seed=args.seed, artifact_dir=args.artifacts, agent="rl", policy=str(Path(args.policy).resolve()),
        )
        return _run_and_summarize(config)

    from qnas.agents.rl_agent import DEFAULT_PPO, train_agent

    env = parse_task_args(args.env_arg)
    env.update({k: v for k, v in (("gate_set", args.gate_set), ("max_gates", args.max_gates)) if v is not None})
    config = AgentConfig(
        task=_task_config(args), space=args.space, env=env, ppo=dict(DEFAULT_PPO), algorithm=args.algorithm,
        seed=args.seed, n_envs=args.n_envs, timesteps=args.timesteps,
    )
    train_agent(config, args.out, progress_bar=sys.stderr.isatty())
    out = Path(args.out)
    print(
        f"agent saved in {out}: {out / 'agent.zip'}, learning curve {out / 'learning_curve.png'}, "
        f"TensorBoard logs: tensorboard --logdir {out / 'tensorboard'}\n"
        f"Next: qnas agent propose --policy {out} --study NAME --trials 20"
    )
    return 0


def cmd_studies(args: argparse.Namespace) -> int:
    from qnas.storage import check_storage_url
    from qnas.study import load_study
    from qnas.study_tables import best_trials_table, failed_trials_table, studies_table

    console = _console()
    if args.studies_command == "list":
        check_storage_url(args.storage, must_exist=True)
        console.print(studies_table(args.storage))
    elif args.studies_command == "compare":
        from qnas.study_compare import compare_table, load_studies

        check_storage_url(args.storage, must_exist=True)
        console.print(compare_table(load_studies(args.storage, args.names)))
    elif args.studies_command == "plot":
        from qnas.pareto import plot_pareto

        print(f"wrote the Pareto front of {args.name!r} to {plot_pareto(load_study(args.storage, args.name), args.out)}")
    else:
        study = load_study(args.storage, args.name)
        console.print(best_trials_table(study, top=args.top))
        console.print(failed_trials_table(study))
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    import optuna_dashboard

    from qnas.redaction import redact_url
    from qnas.storage import check_storage_url, open_storage
    from qnas.study import artifact_store, load_study

    check_storage_url(args.storage, must_exist=True)
    store = None
    url = f"http://{args.host}:{args.port}/dashboard/"
    if args.study:
        study = load_study(args.storage, args.study)
        store = artifact_store(study) if "artifact_dir" in study.user_attrs else None
        url += f"studies/{study._study_id}"
    print(f"optuna-dashboard serving {redact_url(args.storage)} at {url} (Ctrl-C to stop)", flush=True)
    if args.study and not args.no_notes:
        from qnas.dashboard_notes import annotate_study

        notes = annotate_study(study, store)
        if notes.best_trial is not None:
            print(f"notes: search summary on the study, circuit and baseline on best trial {notes.best_trial}", flush=True)
    optuna_dashboard.run_server(open_storage(args.storage), host=args.host, port=args.port, artifact_store=store)
    return 0


def cmd_export(args: argparse.Namespace) -> int:

    from qnas.export import export_model
    from qnas.redaction import redact_url
    from qnas.spec import CandidateSpec
    from qnas.study import load_study, pick_trial
    from qnas.trial_model import trial_weights

    study = load_study(args.storage, args.study)
    trial = pick_trial(study, args.trial)
    attrs = trial.user_attrs
    if "decoder_path" in attrs:  # a decoder study: its trials keep a decoder folder, not a circuit's weights
        return _export_decoder(study.study_name, trial, Path(args.out))
    weights_trial, weights = trial_weights(study, trial)  # a duplicate's weights live on the trial it reused
    out = export_model(
        args.out,
        spec=CandidateSpec.from_dict(attrs["spec"]),
        model_config=weights_trial.user_attrs["model_config"],
        weights=weights,
        metrics=attrs.get("metrics", {}),
        baseline=attrs.get("baseline"),
        task_config=study.user_attrs["task"],
        source={
            "study": study.study_name, "trial": trial.number, "storage": redact_url(args.storage),
            "device": study.user_attrs.get("device"),
        },
        format=args.format,
    )
    scores = ", ".join(f"{v:.4g}" for v in trial.values)
    names = study.user_attrs.get("objectives") or [study.user_attrs.get("metric")]
    print(f"exported trial {trial.number} ({', '.join(names)} = {scores}) to {out}")
    print(f"load it with: python -c \"import qnas; model = qnas.load('{out}')\"")
    return 0


def _export_decoder(study_name: str, trial: Any, out: Path) -> int:
    """Copy a decoder trial's folder to `out`, after checking that it loads (checksums, weights)."""
    import shutil

    from qnas.decoders import load_decoder

    source = Path(trial.user_attrs["decoder_path"])
    if not source.is_dir():
        raise QnasError(
            f"trial {trial.number} of study {study_name!r} kept its decoder in {source}, which is gone; "
            "rerun `qnas decoders search` or export from where the artifacts are."
        )
    load_decoder(source)  # a corrupted or edited folder fails here, before anything is copied
    if out.exists() and any(out.iterdir()):
        raise QnasError(f"--out {out} is not empty; give a new folder.")
    shutil.copytree(source, out, dirs_exist_ok=True)
    rate = trial.user_attrs.get("metrics", {}).get("validation_error_rate")
    print(f"exported decoder of trial {trial.number} (validation logical error rate {rate}) to {out}")
    print(f"load it with: python -c \"from qnas.decoders import load_decoder; decoder = load_decoder('{out}')\"")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from qnas.report import write_report
    from qnas.study import load_study

    path = write_report(load_study(args.storage, args.study), args.out)
    print(f"wrote {path} (figures as PNG beside it); open it in a browser: file://{path.resolve()}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from qnas.prediction import predict

    out = args.out or str(Path(args.data).with_suffix(".predictions.csv"))
    device = {"name": args.device, "options": parse_task_args(args.device_arg, "--device-arg")} if args.device else None
    mitigation = {"spec": None, "on": True, "off": False}[args.readout_mitigation]
    path = predict(args.export_dir, args.data, out, device, mitigation, args.remeasure_readout)
    print(f"wrote predictions to {path}")
    return 0


def _add_task_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--task",
        help="task name: moons (the default), iris, ..., csv, h2, lih, molecule, tfim, heisenberg, "
        "pauli (--task-arg path=H.json), npz (--task-arg path=H.npz), bell, ghz",
    )
    parser.add_argument("--task-arg", action="append", default=[], metavar="KEY=VALUE", help="task option, e.g. n=6")
    parser.add_argument("--data", help="CSV file (with --task csv)")
    parser.add_argument("--target", help="target column of the CSV (with --task csv)")


def _add_search_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `qnas search`, which `qnas scan` takes too."""
    from qnas.storage import DEFAULT_STORAGE

    parser.add_argument(
        "--space", help="search-space name or YAML path (default: classification, vqe_gates or state_prep by task)"
    )
    _add_task_arguments(parser)
    parser.add_argument("--trials", type=int, help="finished trials to add (default 20)")
    parser.add_argument("--workers", type=int, default=2, help="Ray workers; 0 evaluates in-process")
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help="Optuna storage URL")
    parser.add_argument("--study", help="study name (default: TASK-SPACE, with the --task-arg values given: ghz-n=5-state_prep)")
    parser.add_argument("--sampler", help="tpe, random or nsga2 (default: tpe; nsga2 with --objectives)")
    parser.add_argument(
        "--objectives",
        help="multi-objective search, e.g. noisy_score,two_qubit_gates,shots (also ideal_score, noise_gap, n_params, depth)",
    )
    parser.add_argument(
        "--pruner",
        help="percentile (bottom quarter), median or none (default: percentile for classifiers, none for VQE and "
        "state preparation, whose intermediate values do not rank candidates)",
    )
    parser.add_argument("--seed", type=int, help="seed of the sampler, the agent and training (default 0)")
    parser.add_argument(
        "--device",
        help="device candidates are scored on: a simulator (default: default.qubit), noisy (a real device's noise "
        "model), or hardware",
    )
    parser.add_argument(
        "--device-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="device option, e.g. calibration=ibm_manila (or a file), noise_aware=true (train on it too)",
    )
    parser.add_argument("--artifacts", help="folder for trained weights (default: beside the SQLite file)")
    parser.add_argument("--address", help="Ray cluster to run workers on: auto or HOST:PORT (default: a local Ray)")
    parser.add_argument("--trial-timeout", type=float, metavar="S", help="fail a trial after S seconds, free its worker")
    parser.add_argument("--max-retries", type=int, default=2, help="retries of a trial whose worker died (default 2)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue --study after its driver stopped, to the trial count its last search began with, with the "
        "settings the study recorded (task, space, device, sampler, pruner, seed, agent): no other flag is needed",
    )
    parser.add_argument(
        "--allow-new-data",
        action="store_true",
        help="add to a study whose data file changed since its last search (the trials that follow record the new hash)",
    )
    parser.add_argument(
        "--agent", help="proposer: optuna (--sampler), random, rl, hybrid (rl + sampler), adapt (gate-level "
        "tasks: circuits grown from the space's operator pool by a gradient screen), or beam (gate-level tasks: "
        "circuits grown block by block, fewest CNOTs first), or shared (classification: candidates scored with "
        "one SuperCircuit's weights, checked against training on 50, then the best trained). Default: adapt for a "
        "single-objective molecule (a Hartree-Fock reference state), optuna otherwise"
    )
    parser.add_argument("--policy", metavar="DIR", help="a trained agent (qnas agent train) for --agent rl/hybrid")
    parser.add_argument(
        "--agent-timesteps", type=int, help="without --policy: steps to train the agent first (default 4096)"
    )
    parser.add_argument(
        "--no-fast-path",
        dest="fast_path",
        action="store_false",
        help="train through PennyLane on the ideal simulator too, instead of the compiled torch path",
    )


class _DefaultsHelp(argparse.HelpFormatter):
    """Help that states each flag's default, where it has one and its text does not say it already
    (defaults that depend on the task, the None ones, are written in the text)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if not action.option_strings or action.default in (None, False, [], argparse.SUPPRESS) or "default" in text:
            return text
        return f"{text} (default: %(default)s)".strip()


def _state_defaults(parser: argparse.ArgumentParser) -> None:
    """Give `parser` and every sub-command's parser the help formatter that states defaults."""
    parser.formatter_class = _DefaultsHelp
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _state_defaults(sub)
        elif action.help is None and action.option_strings and action.default not in (None, False, []):
            action.help = "(default: %(default)s)"  # argparse prints no help line for a flag without help


def build_parser() -> argparse.ArgumentParser:
    from qnas.storage import DEFAULT_STORAGE

    parser = argparse.ArgumentParser(prog="qnas", description="Quantum architecture search for hybrid models.")
    sub = parser.add_subparsers(dest="command", required=True)

    search = sub.add_parser("search", help="run a search into an Optuna study")
    _add_search_arguments(search)
    search.set_defaults(func=cmd_search, fast_path=None)

    scan = sub.add_parser(
        "scan", help="one search per value of a task argument (a potential-energy curve), each from the one before"
    )
    _add_search_arguments(scan)
    scan.add_argument(
        "--scan-arg", required=True, metavar="KEY=[V1,V2,...]",
        help="the task argument to scan and its values, e.g. 'bond_length=[0.8,1.2,1.6]'; --study is the studies' prefix",
    )
    scan.add_argument("--out", help="folder for scan.csv and scan.png (default: PREFIX-scan)")
    scan.set_defaults(func=cmd_scan, fast_path=None)

    agent = sub.add_parser("agent", help="train the RL agent alone, or let a trained one propose into a study")
    agent_sub = agent.add_subparsers(dest="agent_command", required=True)
    train = agent_sub.add_parser("train", help="train MaskablePPO (or DQN) on qnas/CircuitDesign-v0")
    _add_task_arguments(train)
    train.add_argument("--space", help="search space the actions come from (default: by task kind)")
    train.add_argument("--timesteps", type=int, default=20_000)
    train.add_argument(
        "--algorithm", default="ppo", help="ppo (MaskablePPO, the default) or dqn (off-policy, with a replay buffer)"
    )
    train.add_argument("--n-envs", type=int, default=2, help="environments stepped in parallel processes")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--gate-set", help="space (default), blocks (each entangling gate with rotations on its wires) or qas-gym (X, Y, Z, H, RZ(pi/4), CNOT)")
    train.add_argument("--max-gates", type=int, help="gate (or layer) limit per episode")
    train.add_argument("--env-arg", action="append", default=[], metavar="KEY=VALUE", help="env option, e.g. gate_cost=0.02")
    train.add_argument("--out", required=True, help="agent folder to write")
    propose = agent_sub.add_parser("propose", help="evaluate a trained agent's proposals into a study")
    propose.add_argument("--policy", required=True, metavar="DIR", help="agent folder from qnas agent train")
    propose.add_argument("--study", help="study name (default: TASK-SPACE, with the --task-arg values given: ghz-n=5-state_prep)")
    propose.add_argument("--storage", default=DEFAULT_STORAGE)
    propose.add_argument("--trials", type=int, default=20)
    propose.add_argument("--workers", type=int, default=2)
    propose.add_argument("--seed", type=int, default=0)
    propose.add_argument("--artifacts", help="folder for trained weights (default: beside the SQLite file)")
    agent.set_defaults(func=cmd_agent)

    studies = sub.add_parser("studies", help="list studies or show one")
    studies_sub = studies.add_subparsers(dest="studies_command", required=True)
    listing = studies_sub.add_parser("list")
    listing.add_argument("--storage", default=DEFAULT_STORAGE)
    show = studies_sub.add_parser("show")
    show.add_argument("name")
    show.add_argument("--storage", default=DEFAULT_STORAGE)
    show.add_argument("--top", type=int, default=10)
    plot = studies_sub.add_parser("plot", help="write a multi-objective study's Pareto front as a PNG")
    plot.add_argument("name")
    plot.add_argument("--storage", default=DEFAULT_STORAGE)
    plot.add_argument("--out", required=True, help="PNG file to write")
    compare = studies_sub.add_parser("compare", help="best score, trials, failures, wall time and proposers per study")
    compare.add_argument("names", nargs="+", metavar="STUDY")
    compare.add_argument("--storage", default=DEFAULT_STORAGE)
    studies.set_defaults(func=cmd_studies)

    dashboard = sub.add_parser("dashboard", help="serve optuna-dashboard on the studies (127.0.0.1)")
    dashboard.add_argument("--study", help="open this study's page")
    dashboard.add_argument("--storage", default=DEFAULT_STORAGE)
    dashboard.add_argument("--host", default=DASHBOARD_HOST, help="bind address (default 127.0.0.1: this machine only)")
    dashboard.add_argument("--port", type=int, default=8080)
    dashboard.add_argument(
        "--no-notes", action="store_true", help="do not write the summary and best-circuit notes into --study"
    )
    dashboard.set_defaults(func=cmd_dashboard)

    export = sub.add_parser("export", help="export a trained trial (the best by default)")
    export.add_argument("--study", required=True)
    export.add_argument("--storage", default=DEFAULT_STORAGE)
    export.add_argument("--out", required=True)
    export.add_argument("--trial", type=int, help="trial number (default: the best trial)")
    export.add_argument(
        "--format", default="folder", help="folder (default) or archive: one OUT.tar.gz that qnas.load also reads"
    )
    export.set_defaults(func=cmd_export)

    report = sub.add_parser("report", help="write a study's HTML report with its figures")
    report.add_argument("--study", required=True)
    report.add_argument("--storage", default=DEFAULT_STORAGE)
    report.add_argument("--out", required=True, help="folder for report.html and the PNG figures")
    report.set_defaults(func=cmd_report)

    predict = sub.add_parser("predict", help="predict with an exported model on a CSV")
    predict.add_argument("export_dir")
    predict.add_argument("--data", required=True)
    predict.add_argument("--out", help="output CSV (default: DATA.predictions.csv)")
    predict.add_argument("--device", help="run the circuit on this device (default: the ideal simulator), e.g. noisy")
    predict.add_argument("--device-arg", action="append", default=[], metavar="KEY=VALUE", help="device option")
    predict.add_argument(
        "--readout-mitigation", choices=("spec", "on", "off"), default="spec",
        help="on a noisy device: as the model's spec says (default), or force readout mitigation on or off",
    )
    predict.add_argument(
        "--remeasure-readout", action="store_true", help="measure the readout calibration on the device again"
    )
    predict.set_defaults(func=cmd_predict)

    from qnas.decoders.cli import add_decoders_parser

    add_decoders_parser(sub, DEFAULT_STORAGE)
    _state_defaults(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except QnasError as exc:
        print(f"qnas: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("qnas: interrupted; finished trials are kept in the study.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
