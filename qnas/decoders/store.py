"""Save and load a learned decoder: a folder with safetensors weights, a JSON config and checksums.

- ``weights.safetensors``: the network's ``state_dict`` (no pickle is run when loading);
- ``decoder.json``: format, the memory experiment, the network and training configs, metrics;
- ``checksums.json``: SHA-256 of the two files above, written last.

`load_decoder` verifies the checksums before it trusts a byte, so a truncated copy or an edited
file is a clear error rather than a decoder that silently predicts garbage.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch

from qnas.decoders.decoder import LearnedDecoder
from qnas.decoders.model import NetworkConfig
from qnas.decoders.sampling import DecoderError, MemoryExperiment
from qnas.errors import QnasError

FORMAT_NAME = "qnas-decoder"
FORMAT_VERSION = 1
WEIGHTS = "weights.safetensors"
CONFIG = "decoder.json"
CHECKSUMS = "checksums.json"
_RETRAIN_FIX = "Copy the whole folder again, or retrain it with `qnas decoders train`."


def save_decoder(decoder: LearnedDecoder, path: str | os.PathLike[str], info: dict[str, Any] | None = None) -> Path:
    """Write `decoder` to folder `path` (created if needed); `info` holds training config and metrics."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise DecoderError(f"decoder target {folder} is a file, not a folder. Choose another --out.")
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in decoder.network.state_dict().items()}
    safetensors.torch.save_file(state, str(folder / WEIGHTS))
    config = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "experiment": decoder.experiment.to_dict(),
        "network": decoder.network_config.to_dict(),
        **(info or {}),
    }
    (folder / CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True, allow_nan=False) + "\n")
    checksums = {name: _sha256((folder / name).read_bytes()) for name in (WEIGHTS, CONFIG)}
    (folder / CHECKSUMS).write_text(json.dumps(checksums, indent=2, sort_keys=True) + "\n")
    return folder


def load_decoder(path: str | os.PathLike[str]) -> LearnedDecoder:
    """Rebuild a saved decoder after checking its checksums; `.decode_batch(detectors)` decodes."""
    folder = Path(path)
    if not (folder / CHECKSUMS).is_file():
        raise DecoderError(
            f"{folder} is not a saved decoder: {CHECKSUMS} is missing. Pass the folder `qnas decoders train --out` wrote."
        )
    checksums = _read_json(folder / CHECKSUMS)
    contents = {}
    for name in (WEIGHTS, CONFIG):
        if not (folder / name).is_file():
            raise DecoderError(f"decoder {folder} is missing {name}. {_RETRAIN_FIX}")
        data = (folder / name).read_bytes()  # read once: the bytes checked are the bytes loaded
        expected = checksums.get(name) if isinstance(checksums, dict) else None
        if _sha256(data) != expected:
            raise DecoderError(
                f"checksum mismatch for {folder / name}: {CHECKSUMS} expects sha256 {expected}, the file has "
                f"{_sha256(data)} ({len(data)} bytes); it was changed or damaged after saving. {_RETRAIN_FIX}"
            )
        contents[name] = data
    config = _parse_json(contents[CONFIG], folder / CONFIG)
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME or config.get("format_version") != FORMAT_VERSION:
        raise DecoderError(f"{folder / CONFIG} is not a {FORMAT_NAME} v{FORMAT_VERSION} config. {_RETRAIN_FIX}")
    try:
        decoder = LearnedDecoder(MemoryExperiment.from_dict(config["experiment"]), NetworkConfig(**config["network"]))
        decoder.network.load_state_dict(safetensors.torch.load(contents[WEIGHTS]), strict=True)
    except (QnasError, KeyError, TypeError, RuntimeError, safetensors.SafetensorError) as exc:
        raise DecoderError(f"{folder} does not hold a decoder this qnas can rebuild: {exc}. {_RETRAIN_FIX}") from exc
    decoder.network.eval()
    decoder.info = {k: v for k, v in config.items() if k not in ("experiment", "network")}
    return decoder


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_json(path: Path) -> Any:
    return _parse_json(path.read_bytes(), path)


def _parse_json(data: bytes, path: Path) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise DecoderError(f"{path} is not valid JSON ({exc}). {_RETRAIN_FIX}") from exc
