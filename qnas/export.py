"""The export folder: one trained candidate, self-checking, loadable without the search stack.

An export is a plain folder that a serving process can copy around and trust:

- ``weights.safetensors``: the model's ``state_dict`` (safetensors, so loading runs no pickle);
- ``spec.json``, ``model.json``: the CandidateSpec and the config `qnas.models.build_model` reads;
- ``metrics.json``: scores, the classical baseline, the task config and where the model came from;
- ``circuit.qasm`` / ``circuit.png``: the ideal circuit for the first reference input;
- ``reference.json``: reference inputs and what the model answered at export time, so a reload can
  be checked against it;
- ``manifest.json``: format version plus sha256 and size of every other file, written last.

`load` checks the manifest before it trusts a byte, and never imports Ray or Optuna: a serving
process pays only for torch and PennyLane. Credentials never enter an export: URLs in the
provenance lose their user, password and secret query parameters.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qnas.errors import ExportError, QnasError
from qnas.redaction import redact
from qnas.spec import CandidateSpec

if TYPE_CHECKING:
    import numpy as np
    import torch

FORMAT_NAME = "qnas-export"
FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = (1,)

MANIFEST = "manifest.json"
WEIGHTS = "weights.safetensors"
SPEC = "spec.json"
MODEL = "model.json"
METRICS = "metrics.json"
QASM = "circuit.qasm"
DRAWING = "circuit.png"
REFERENCE = "reference.json"
EXPORT_FILES = (WEIGHTS, SPEC, MODEL, METRICS, QASM, DRAWING, REFERENCE)
LOAD_FILES = (WEIGHTS, SPEC, MODEL, METRICS)
"""What `load` reads; the rest documents the model and is checked only through the manifest."""

REFERENCE_ROWS = 32
_REEXPORT_FIX = "Re-export it from the study (qnas export) to get a consistent folder."


# --- writing ------------------------------------------------------------------------------------


def export_model(
    out_dir: str | os.PathLike[str],
    *,
    spec: CandidateSpec | Mapping[str, Any],
    model_config: Mapping[str, Any],
    weights: Mapping[str, Any],
    metrics: Mapping[str, Any],
    baseline: Mapping[str, Any] | None,
    task_config: Mapping[str, Any],
    source: Mapping[str, Any],
    task: Any = None,
) -> Path:
    """Write one trained model to `out_dir` and return the folder.

    `weights` is the model's state_dict (numpy arrays or tensors); `source` records provenance
    (study, trial, storage URL; credentials are stripped). `task` may pass the already-built task
    so a classifier's reference rows need not be rebuilt from `task_config`.

    The model is rebuilt from `model_config` and the weights before anything is written, so an
    export whose weights do not fit its config fails here rather than at load time. Files are
    written to a staging folder beside `out_dir` and moved in with the manifest last.
    """
    import safetensors.torch

    from qnas import __version__
    from qnas.circuits import circuit_openqasm, draw_circuit

    out = Path(out_dir)
    _check_target(out)
    spec = spec if isinstance(spec, CandidateSpec) else CandidateSpec.from_dict(dict(spec))
    model_config = dict(model_config)
    if not isinstance(model_config.get("spec"), Mapping):
        raise ExportError("model_config has no 'spec' object; pass the model_config the evaluator produced.")
    config_spec = CandidateSpec.from_dict(dict(model_config["spec"]))
    if config_spec != spec:
        raise ExportError(
            f"model_config['spec'] (hash {config_spec.hash}) is not the spec being exported (hash {spec.hash}); "
            "pass the model_config produced for that spec."
        )
    tensors = _as_tensors(weights)
    model = _build(model_config, device=None)
    _load_state(model, tensors, where="export_model(weights=...)")
    reference, first_input = _reference(model, model_config, task_config, task)

    out.parent.mkdir(parents=True, exist_ok=True)
    # Not tempfile.mkdtemp: its 0700 mode would stick to the export folder after the rename.
    staging = out.parent / f".{out.name}.staging-{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        safetensors.torch.save_file(tensors, str(staging / WEIGHTS), metadata={"format": FORMAT_NAME})
        (staging / SPEC).write_text(spec.to_json(indent=2) + "\n")
        _write_json(staging / MODEL, model_config)
        _write_json(
            staging / METRICS,
            {
                "metrics": dict(metrics),
                "baseline": None if baseline is None else dict(baseline),
                "task": redact(dict(task_config)),
                "source": redact(dict(source)),
            },
        )
        (staging / QASM).write_text(circuit_openqasm(model, first_input))
        draw_circuit(model, first_input, staging / DRAWING)
        _write_json(staging / REFERENCE, reference)
        manifest = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "qnas_version": __version__,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "kind": model_config["kind"],
            "spec_hash": spec.hash,
            "files": {name: _file_entry(staging / name) for name in EXPORT_FILES},
        }
        _write_json(staging / MANIFEST, manifest)
        _install(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def _check_target(out: Path) -> None:
    """Allow a new folder, an empty one or a previous export; refuse to mix files into anything else."""
    if out.exists() and not out.is_dir():
        raise ExportError(f"export target {out} is a file, not a folder. Choose another --out or delete {out}.")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if _previous_manifest(out) is None:
        raise ExportError(
            f"export target {out} is not empty and is not a previous qnas export (it has no valid {MANIFEST}); "
            f"refusing to write into it. Choose another --out or delete {out}."
        )


def _previous_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("format") == FORMAT_NAME else None


def _install(staging: Path, out: Path) -> None:
    """Move staged files into `out`; the manifest goes last so a half-done move fails verification."""
    if not out.exists():
        staging.rename(out)
        return
    old = _previous_manifest(out) or {}
    for name in EXPORT_FILES:
        os.replace(staging / name, out / name)
    os.replace(staging / MANIFEST, out / MANIFEST)
    stale = set(old.get("files", {})) - set(EXPORT_FILES)
    for name in stale:
        if _is_plain_name(name):
            (out / name).unlink(missing_ok=True)


def _as_tensors(weights: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """Contiguous CPU tensors, which is what safetensors stores."""
    import numpy as np
    import torch

    tensors = {}
    for name, value in weights.items():
        tensor = value.detach().cpu() if isinstance(value, torch.Tensor) else torch.from_numpy(np.array(value))
        tensors[name] = tensor.contiguous().clone()
    return tensors


def _reference(
    model: torch.nn.Module, model_config: Mapping[str, Any], task_config: Mapping[str, Any], task: Any
) -> tuple[dict[str, Any], np.ndarray | None]:
    """What the model answers at export time: test rows for a classifier, the output otherwise."""
    import torch

    kind = model_config["kind"]
    if kind != "classifier":
        with torch.no_grad():
            output = model()
        return {"kind": kind, **_encode_output(output)}, None

    if task is None:
        from qnas.tasks import make_task

        task = make_task(dict(task_config))
    if list(task.feature_names) != list(model_config["feature_names"]):
        raise ExportError(
            f"task features {list(task.feature_names)} differ from the model's {list(model_config['feature_names'])}; "
            "pass the task_config the model was trained on."
        )
    inputs = task.x_test[:REFERENCE_ROWS]
    logits = classifier_logits(model, inputs)
    predicted = logits.argmax(dim=1).tolist()
    class_names = list(model_config["class_names"])
    reference = {
        "kind": kind,
        "split": "test",
        "feature_names": list(model_config["feature_names"]),
        "class_names": class_names,
        "inputs": inputs.tolist(),
        "targets": [class_names[int(y)] for y in task.y_test[:REFERENCE_ROWS]],
        "logits": logits.tolist(),
        "predicted_class": predicted,
        "predicted_label": [class_names[i] for i in predicted],
    }
    return reference, inputs[:1]


def classifier_logits(model: torch.nn.Module, inputs: Any, batch_size: int = 1024) -> torch.Tensor:
    """Logits for raw feature rows, in batches, without autograd."""
    import torch

    x = torch.as_tensor(inputs, dtype=torch.float32)
    with torch.no_grad():
        return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def _encode_output(output: Any) -> dict[str, Any]:
    """JSON form of an energy or state output; complex values are split into real and imaginary parts."""
    import torch

    tensor = torch.as_tensor(output).detach().cpu()
    if tensor.is_complex():
        return {"output_real": tensor.real.tolist(), "output_imag": tensor.imag.tolist()}
    return {"output": tensor.tolist()}


def _write_json(path: Path, data: Any) -> None:
    """Standard JSON only (no NaN/Infinity), so any JSON reader can open an export."""
    try:
        text = json.dumps(data, indent=2, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ExportError(
            f"cannot write {path.name}: {exc}; give finite numbers, strings, lists and dicts only."
        ) from exc
    path.write_text(text + "\n")


def _file_entry(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


# --- checking and loading -----------------------------------------------------------------------


def verify_export(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Check the manifest and every file it lists; return the manifest. Raises ExportError."""
    folder = Path(path)
    manifest = _read_manifest(folder)
    _check_present(folder, list(manifest["files"]))
    _check_checksums(folder, manifest, (folder / WEIGHTS).read_bytes())
    return manifest


def load(path: str | os.PathLike[str], device: Any = None, verify: bool = True) -> torch.nn.Module:
    """Rebuild an exported model in eval mode, after checking the export's checksums.

    `device` (a `qnas.devices.DeviceConfig`, a device name or its dict) rebuilds the quantum block on that
    device. The module carries what a caller needs: `spec`, `kind`, `class_names`,
    `feature_names`, `metrics`, `baseline`, `task_config`, `source`, `export_path`.
    `verify=False` skips the checksums (for a folder edited on purpose), not the format checks.
    The circuit runs analytically (shots=None) whatever the spec's calibration says.
    """
    import safetensors
    import safetensors.torch

    folder = Path(path)
    manifest = _read_manifest(folder)
    _check_present(folder, list(manifest["files"]) if verify else list(LOAD_FILES))
    weights_bytes = (folder / WEIGHTS).read_bytes()  # read once: the bytes checked are the bytes loaded
    if verify:
        _check_checksums(folder, manifest, weights_bytes)

    model_config = _read_json(folder, MODEL)
    spec_data = _read_json(folder, SPEC)
    info = _read_json(folder, METRICS)
    try:
        spec = CandidateSpec.from_dict(spec_data)
        same = CandidateSpec.from_dict(model_config["spec"]) == spec
    except (QnasError, KeyError, TypeError) as exc:
        raise ExportError(f"{folder / SPEC} or {folder / MODEL} holds no valid spec: {exc}. {_REEXPORT_FIX}") from exc
    if not same:
        raise ExportError(f"{folder / SPEC} and the spec inside {folder / MODEL} differ. {_REEXPORT_FIX}")

    try:
        tensors = safetensors.torch.load(weights_bytes)
    except (safetensors.SafetensorError, ValueError, OSError) as exc:
        raise ExportError(f"{folder / WEIGHTS} is not a readable safetensors file ({exc}). {_REEXPORT_FIX}") from exc
    model = _build(model_config, device=device)
    _load_state(model, tensors, where=str(folder / WEIGHTS))
    model.eval()

    model.spec = spec
    model.kind = model_config["kind"]
    model.class_names = list(model_config.get("class_names") or [])
    model.feature_names = list(model_config.get("feature_names") or [])
    model.metrics = dict(info.get("metrics") or {})
    model.baseline = info.get("baseline")
    model.task_config = info.get("task")
    model.source = info.get("source")
    model.export_path = folder
    return model


def _read_manifest(folder: Path) -> dict[str, Any]:
    if not folder.is_dir():
        raise ExportError(f"export folder {folder} does not exist. Pass the folder `qnas export --out` wrote.")
    if not (folder / MANIFEST).is_file():
        raise ExportError(
            f"{folder} is not a qnas export: {MANIFEST} is missing. Pass the folder `qnas export --out` wrote, "
            "or re-export the model from the study."
        )
    manifest = _read_json(folder, MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        found = manifest.get("format") if isinstance(manifest, dict) else manifest
        raise ExportError(f"{folder / MANIFEST} is not a {FORMAT_NAME} manifest (format = {found!r}). {_REEXPORT_FIX}")
    version = manifest.get("format_version")
    if version not in SUPPORTED_FORMAT_VERSIONS:
        raise ExportError(
            f"{folder / MANIFEST} has format_version = {version!r}; this qnas reads format versions "
            f"{list(SUPPORTED_FORMAT_VERSIONS)}. Load it with the qnas version that wrote it "
            f"({manifest.get('qnas_version', 'unknown')}) or re-export it with this one."
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(isinstance(e, dict) for e in files.values()):
        raise ExportError(f"{folder / MANIFEST} has no valid 'files' table. {_REEXPORT_FIX}")
    bad = [name for name in files if not _is_plain_name(name)]
    if bad:
        raise ExportError(f"{folder / MANIFEST} lists files outside the export folder: {bad}. {_REEXPORT_FIX}")
    unlisted = [name for name in LOAD_FILES if name not in files]
    if unlisted:
        raise ExportError(f"{folder / MANIFEST} does not list {unlisted}. {_REEXPORT_FIX}")
    return manifest


def _check_present(folder: Path, names: list[str]) -> None:
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise ExportError(
            f"export {folder} is missing {missing}. Copy the whole export folder, or re-export it from the study "
            "(qnas export)."
        )


def _check_checksums(folder: Path, manifest: Mapping[str, Any], weights_bytes: bytes) -> None:
    for name, entry in manifest["files"].items():
        data = weights_bytes if name == WEIGHTS else (folder / name).read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        if actual != entry.get("sha256"):
            raise ExportError(
                f"checksum mismatch for {folder / name}: the manifest expects sha256 {entry.get('sha256')}, the file "
                f"has sha256 {actual} ({len(data)} bytes). The file was changed or damaged after export. "
                f"{_REEXPORT_FIX}"
            )


def _read_json(folder: Path, name: str) -> Any:
    try:
        return json.loads((folder / name).read_text())
    except ValueError as exc:
        raise ExportError(f"{folder / name} is not valid JSON ({exc}). {_REEXPORT_FIX}") from exc


def _is_plain_name(name: Any) -> bool:
    return isinstance(name, str) and name not in ("", ".", "..") and Path(name).name == name and "\\" not in name


def _build(model_config: Mapping[str, Any], device: Any) -> torch.nn.Module:
    from qnas.models import build_model

    if device is not None and not hasattr(device, "name"):
        from qnas.devices import DeviceConfig

        device = DeviceConfig.from_dict(device)
    try:
        return build_model(dict(model_config), device=device)
    except QnasError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ExportError(
            f"model.json does not describe a model this qnas can build ({exc!r}). {_REEXPORT_FIX}"
        ) from exc


def _load_state(model: torch.nn.Module, tensors: Mapping[str, torch.Tensor], where: str) -> None:
    """Strict load: every key and shape must match the rebuilt model."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise ExportError(
            f"the weights in {where} do not fit the model built from its config: missing keys {missing}, "
            f"unexpected keys {unexpected}. {_REEXPORT_FIX}"
        )
    wrong = [f"{k} is {tuple(t.shape)}, not {tuple(expected[k].shape)}" for k, t in tensors.items()
             if t.shape != expected[k].shape]
    if wrong:
        raise ExportError(f"the weights in {where} have the wrong shape: {'; '.join(wrong)}. {_REEXPORT_FIX}")
    model.load_state_dict(tensors, strict=True)
