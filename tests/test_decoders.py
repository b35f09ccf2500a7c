"""Learned syndrome decoders: training beats a trivial decoder, save/load, corruption, bad input, CLI."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pytest

from qnas.cli import main
from qnas.decoders import DecoderError, LearnedDecoder, MemoryExperiment, NetworkConfig, TrainingConfig
from qnas.decoders.evaluation import compare
from qnas.decoders.search import load_decoder_space, parse_decoder_space
from qnas.decoders.store import CHECKSUMS, CONFIG, WEIGHTS, load_decoder, save_decoder
from qnas.decoders.training import train_decoder
from qnas.errors import QnasError, SearchSpaceError

D3 = MemoryExperiment(distance=3, rounds=3, p=0.01)


@pytest.fixture(scope="module")
def trained() -> LearnedDecoder:
    config = TrainingConfig(
        experiment=D3, network=NetworkConfig(arch="mlp", width=128, depth=2), minutes=1.0, max_steps=400,
        batch_size=8192, learning_rate=3e-3, validation_shots=20_000, seed=1,
    )
    result = train_decoder(config)
    result.decoder.info = {"training": config.to_dict()}
    return result.decoder


def test_tiny_training_beats_never_flip_on_held_out_shots(trained: LearnedDecoder) -> None:
    detectors, observables = D3.sampler(seed=12345).sample(50_000)
    never_flip = np.any(observables != 0, axis=1).mean()
    learned = np.any(trained.decode_batch(detectors) != observables, axis=1).mean()
    assert learned < 0.6 * never_flip, (learned, never_flip)


def test_compare_scores_both_decoders_on_the_same_shots(trained: LearnedDecoder) -> None:
    result = compare(trained, shots=30_000, seed=7)
    assert result.learned.shots == result.matching.shots == 30_000
    # PyMatching at d=3, p=0.01 sits near 5.9e-2 (DESIGN.md); a broken circuit or DEM would be far off.
    assert 0.045 < result.matching.logical_error_rate < 0.075
    assert result.learned.errors - result.matching.errors == result.only_matching_right - result.only_learned_right
    assert result.learned.shots_per_s > 0 and "pymatching" in result.summary()
    with pytest.raises(DecoderError, match="trained with"):
        compare(trained, shots=1000, seed=1)


def test_save_load_round_trip_gives_identical_outputs(trained: LearnedDecoder, tmp_path) -> None:
    save_decoder(trained, tmp_path / "dec", {"note": "x"})
    loaded = load_decoder(tmp_path / "dec")
    detectors, _ = D3.sampler(seed=5).sample(5_000)
    assert np.array_equal(loaded.logits(detectors), trained.logits(detectors))
    assert np.array_equal(loaded.decode_batch(detectors.astype(bool)), trained.decode_batch(detectors))
    assert loaded.experiment == D3 and loaded.info["note"] == "x"


@pytest.mark.parametrize("name", [WEIGHTS, CONFIG])
def test_corrupted_decoder_file_is_rejected(trained: LearnedDecoder, tmp_path, name: str) -> None:
    folder = save_decoder(trained, tmp_path / "dec")
    data = bytearray((folder / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / name).write_bytes(bytes(data))
    with pytest.raises(DecoderError, match=f"checksum mismatch for .*{name}"):
        load_decoder(folder)


def test_missing_checksums_or_folder_is_a_clear_error(trained: LearnedDecoder, tmp_path) -> None:
    folder = save_decoder(trained, tmp_path / "dec")
    (folder / CHECKSUMS).unlink()
    with pytest.raises(DecoderError, match="not a saved decoder"):
        load_decoder(folder)
    with pytest.raises(DecoderError, match="not a saved decoder"):
        load_decoder(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"distance": 4}, "distance = 4 .*odd integer >= 3"),
        ({"distance": 1}, "distance = 1 "),
        ({"p": 0.0}, r"p = 0.0 .*between 0 and 0.5"),
        ({"p": 0.5}, r"p = 0.5 "),
        ({"p": -0.1}, r"p = -0.1 "),
        ({"rounds": 0}, "rounds = 0"),
        ({"code": "color"}, "code = 'color' is not allowed"),
    ],
)
def test_bad_experiment_settings_are_rejected(kwargs: dict, match: str) -> None:
    with pytest.raises(DecoderError, match=match):
        MemoryExperiment(**kwargs)


def test_decode_batch_rejects_wrong_shapes_and_dtypes(trained: LearnedDecoder) -> None:
    with pytest.raises(DecoderError, match=r"shape \(10, 23\).*\(shots, 24\)"):
        trained.decode_batch(np.zeros((10, 23), dtype=np.uint8))
    with pytest.raises(DecoderError, match="dtype float64"):
        trained.decode_batch(np.zeros((10, 24)))
    assert trained.decode_batch(np.zeros((0, 24), dtype=np.uint8)).shape == (0, 1)


def test_conv_decoder_places_every_detector_on_its_own_grid_cell() -> None:
    experiment = MemoryExperiment(distance=5, rounds=2, p=0.005)
    grid = experiment.detector_grid()
    assert len(set(grid.cells)) == experiment.num_detectors
    decoder = LearnedDecoder(experiment, NetworkConfig(arch="conv", width=16, depth=1, channels=4))
    detectors, _ = experiment.sampler(seed=0).sample(64)
    assert decoder.decode_batch(detectors).shape == (64, 1)
    with pytest.raises(DecoderError, match=r"arch = 'cnn' is not allowed; allowed values: \['conv', 'mlp'\]"):
        NetworkConfig(arch="cnn")


def test_cli_train_then_eval(tmp_path, capsys) -> None:
    out = tmp_path / "dec"
    assert main(["decoders", "train", "--p", "0.01", "--out", str(out), "--max-steps", "40", "--width", "32",
                 "--batch-size", "512", "--validation-shots", "5000", "--threads", "1"]) == 0
    assert (out / WEIGHTS).is_file()
    report = tmp_path / "eval.json"
    assert main(["decoders", "eval", str(out), "--shots", "20000", "--seed", "3", "--json", str(report)]) == 0
    printed = capsys.readouterr().out
    assert "learned" in printed and "pymatching" in printed and "shots/s" in printed
    assert json.loads(report.read_text())["pymatching"]["shots"] == 20_000
    assert main(["decoders", "train", "--distance", "4", "--out", str(tmp_path / "x")]) == 2
    assert "distance = 4" in capsys.readouterr().err


def test_search_records_trials_that_studies_show_reads(tmp_path, capsys) -> None:
    space = tmp_path / "tiny.yaml"
    space.write_text(
        "name: tiny\nfixed: {batch_size: 512, minutes: 0.04, depth: 1}\n"
        "params:\n  arch: {choices: [mlp, conv]}\n  width: {int: [16, 32], step: 16}\n"
        "  channels: {choices: [4], when: {arch: [conv]}}\n"
    )
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    argv = ["decoders", "search", "--trials", "2", "--storage", storage, "--study", "dec", "--space", str(space),
            "--validation-shots", "2000", "--threads", "1", "--artifacts", str(tmp_path / "art")]
    assert main(argv) == 0
    study = optuna.load_study(study_name="dec", storage=storage)
    trials = study.get_trials()
    assert len(trials) == 2 and all(0 < t.value < 0.5 for t in trials)
    assert trials[0].user_attrs["config"]["network"]["width"] in (16, 32)
    assert load_decoder(trials[0].user_attrs["decoder_path"]).experiment.distance == 3
    capsys.readouterr()
    assert main(["studies", "show", "dec", "--storage", storage]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "val logical error rate" in shown and "network" in shown and "arch " in shown  # the decoder's own columns
    assert "2q gates" not in shown and "candidate" not in shown.split("failed trials")[0]
    best = min(trials, key=lambda t: t.value)
    assert main(["export", "--study", "dec", "--storage", storage, "--out", str(tmp_path / "exported")]) == 0
    assert load_decoder(tmp_path / "exported").experiment.distance == 3
    assert f"exported decoder of trial {best.number}" in capsys.readouterr().out


def test_decoder_space_loads_and_rejects_unknown_fields() -> None:
    assert {p.name for p in load_decoder_space().params} >= {"arch", "width", "learning_rate"}
    with pytest.raises(SearchSpaceError, match="field = 'widht' is not allowed.*Did you mean 'width'"):
        parse_decoder_space("name: x\nparams:\n  widht: {int: [1, 4]}\n")
    with pytest.raises(SearchSpaceError, match="both fixed and drawn"):
        parse_decoder_space("name: x\nfixed: {width: 8}\nparams:\n  width: {int: [1, 4]}\n")
    with pytest.raises(QnasError, match="decoder search space"):
        load_decoder_space("nope")
