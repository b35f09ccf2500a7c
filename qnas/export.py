"""The export folder: one trained candidate, self-checking, loadable without the search stack.

An export is a plain folder that a serving process can copy around and trust:

- ``weights.safetensors``: the model's ``state_dict`` (safetensors, so loading runs no pickle);
- ``spec.json``, ``model.json``: the CandidateSpec and the config `qnas.models.build_model` reads,
  plus (``interface``) how raw features become circuit inputs and the wire, bit and Pauli-string
  orders (`qnas.export_interface`);
- ``metrics.json``: scores, the classical baseline, the task config and where the model came from;
- ``circuit.qasm3``: the ideal circuit as OpenQASM 3.0, trained angles baked in and the encoded
  features as ``input float[64]`` parameters (`qnas.circuit_inputs`); ``circuit.qasm`` (OpenQASM
  2.0, which has no inputs) and ``circuit.png``: the same circuit for the first reference input;
- ``MODEL_CARD.md``: task, data, metrics, baseline, noise results and how to load it, for people;
- ``reference.json``: reference inputs and what the model answered at export time, so a reload can
  be checked against it;
- ``readout_calibration.json`` (only for a model scored on a noisy device): the device's readout
  assignment matrices (`qnas.mitigation.readout_calibration`), which `load` applies when the model
  runs on that device with readout mitigation on, instead of measuring them again;
- ``manifest.json``: format version plus sha256 and size of every other file, written last.

`pack_archive` turns the folder into one ``.tar.gz`` file; `load` and `verify_export` accept either,
and unpack an archive only after checking that every member is a plain file inside one folder.

`load` checks the manifest before it trusts a byte, and never imports Ray or Optuna: a serving
process pays only for torch and PennyLane. Credentials never enter an export: URLs in the
provenance lose their user, password and secret query parameters.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import shutil
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qnas.errors import DeviceError, ExportError, QnasError, not_allowed
from qnas.redaction import redact
from qnas.spec import CandidateSpec

if TYPE_CHECKING:
    import numpy as np
    import torch

    from qnas.mitigation.readout_calibration import ReadoutCalibration

FORMAT_NAME = "qnas-export"
FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = (1,)

MANIFEST = "manifest.json"
WEIGHTS = "weights.safetensors"
SPEC = "spec.json"
MODEL = "model.json"
METRICS = "metrics.json"
QASM = "circuit.qasm"
QASM3 = "circuit.qasm3"
DRAWING = "circuit.png"
REFERENCE = "reference.json"
MODEL_CARD = "MODEL_CARD.md"
READOUT = "readout_calibration.json"
EXPORT_FILES = (WEIGHTS, SPEC, MODEL, METRICS, QASM, QASM3, DRAWING, REFERENCE, MODEL_CARD)
"""Files every export has; `READOUT` is added when the model was scored on a noisy device."""
LOAD_FILES = (WEIGHTS, SPEC, MODEL, METRICS)
"""What `load` reads; the rest documents the model and is checked only through the manifest."""

EXPORT_FORMATS = ("folder", "archive")
ARCHIVE_SUFFIX = ".tar.gz"
MAX_ARCHIVE_BYTES = 1 << 30
"""An archive that unpacks to more than this is refused (a quantum model's export is a few MB)."""

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
    format: str = "folder",
    readout_calibration: Any = None,
) -> Path:
    """Write one trained model to `out_dir` and return the folder, or the archive file.

    `format="archive"` writes a single ``.tar.gz`` at `out_dir` (the suffix is added when missing)
    holding the same files as the folder. `weights` is the model's state_dict (numpy arrays or
    tensors); `source` records provenance (study, trial, storage URL, scoring device; credentials
    are stripped). `task` may pass the already-built task so a classifier's reference rows need not
    be rebuilt from `task_config`. When `source["device"]` is a noisy device, the export carries its
    readout calibration: `readout_calibration` (a `ReadoutCalibration` or its dict, e.g. one measured
    on hardware) or, by default, one measured on that device now, blocks as its `readout_method` says.

    The model is rebuilt from `model_config` and the weights before anything is written, so an
    export whose weights do not fit its config fails here rather than at load time. Files are
    written to a staging folder beside the export folder and moved in with the manifest last.
    """
    if format not in EXPORT_FORMATS:
        raise ExportError(not_allowed("export format", format, EXPORT_FORMATS, "Use --format folder or archive."))
    target = Path(out_dir)
    if format == "archive" and not target.name.endswith(ARCHIVE_SUFFIX):
        target = target.with_name(target.name + ARCHIVE_SUFFIX)
    import safetensors.torch

    from qnas import __version__
    from qnas.circuits import circuit_openqasm, circuit_openqasm3, draw_circuit
    from qnas.export_interface import interface
    from qnas.model_card import model_card

    with ExitStack() as cleanup:
        out = target
        if format == "archive":  # the folder is written to a temporary place, then packed at `target`
            out = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="qnas-archive-"))) / _archive_top(target)
        _check_target(out)
        spec = spec if isinstance(spec, CandidateSpec) else CandidateSpec.from_dict(dict(spec))
        model_config = {key: value for key, value in model_config.items() if key != "interface"}
        if not isinstance(model_config.get("spec"), Mapping):
            raise ExportError("model_config has no 'spec' object; pass the model_config the evaluator produced.")
        config_spec = CandidateSpec.from_dict(dict(model_config["spec"]))
        if config_spec != spec:
            raise ExportError(
                f"model_config['spec'] (hash {config_spec.hash}) is not the spec being exported (hash {spec.hash}); "
                "pass the model_config produced for that spec."
            )
        tensors = _as_tensors(weights)
        model = rebuild_model(model_config, tensors, where="export_model(weights=...)")
        model_config["interface"] = interface(model_config, model)
        reference, first_input = _reference(model, model_config, task_config, task)
        readout = _export_readout(spec, source, readout_calibration)
        files = EXPORT_FILES + ((READOUT,) if readout is not None else ())

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
            (staging / QASM3).write_text(circuit_openqasm3(model))
            draw_circuit(model, first_input, staging / DRAWING)
            _write_json(staging / REFERENCE, reference)
            card = model_card(
                spec=spec,
                model_config=model_config,
                metrics=metrics,
                baseline=baseline,
                task_config=redact(dict(task_config)),
                source=redact(dict(source)),
                export_name=target.name,
                readout=readout,
            )
            (staging / MODEL_CARD).write_text(card)
            if readout is not None:
                _write_json(staging / READOUT, readout.to_dict())
            manifest = {
                "format": FORMAT_NAME,
                "format_version": FORMAT_VERSION,
                "qnas_version": __version__,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "kind": model_config["kind"],
                "spec_hash": spec.hash,
                "files": {name: _file_entry(staging / name) for name in files},
            }
            _write_json(staging / MANIFEST, manifest)
            _install(staging, out, files)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return pack_archive(out, target) if format == "archive" else out


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


def _install(staging: Path, out: Path, files: tuple[str, ...]) -> None:
    """Move staged files into `out`; the manifest goes last so a half-done move fails verification."""
    if not out.exists():
        staging.rename(out)
        return
    old = _previous_manifest(out) or {}
    for name in files:
        os.replace(staging / name, out / name)
    os.replace(staging / MANIFEST, out / MANIFEST)
    stale = set(old.get("files", {})) - set(files)
    for name in stale:
        if _is_plain_name(name):
            (out / name).unlink(missing_ok=True)


def _export_readout(spec: CandidateSpec, source: Mapping[str, Any], given: Any) -> ReadoutCalibration | None:
    """The readout calibration of the noisy device in `source` (None for other devices), checked against it."""
    from qnas.devices import DeviceConfig

    scored_on = source.get("device")
    device = None if scored_on is None else DeviceConfig.from_dict(scored_on)
    if device is None or device.name != "noisy":
        if given is not None:
            raise ExportError(
                f"readout_calibration was given, but the model was scored on {scored_on!r}, not on a noisy device; "
                "pass source={'device': {'name': 'noisy', 'options': {'calibration': ...}}} or leave it out."
            )
        return None
    from qnas.mitigation.readout_calibration import ReadoutCalibration
    from qnas.noise_model import spec_readout

    if given is not None:
        stored = given.to_dict() if isinstance(given, ReadoutCalibration) else given
        device = DeviceConfig("noisy", {**device.options, "readout_calibration": stored})
    return spec_readout(spec, device)


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


def pack_archive(folder: str | os.PathLike[str], archive: str | os.PathLike[str]) -> Path:
    """Write the export `folder` as one gzipped tar at `archive` and return its path.

    The folder is verified first, so an archive never carries a damaged export. Members are the
    manifest's files under one top folder named after the archive (`tar xzf best.tar.gz` gives
    `best/`), in a fixed order; the archive is written beside its target and renamed into place.
    """
    target = Path(archive)
    if not target.name.endswith(ARCHIVE_SUFFIX):
        raise ExportError(f"archive path {target} must end with {ARCHIVE_SUFFIX}, e.g. {target.name}{ARCHIVE_SUFFIX}.")
    if target.is_dir():
        raise ExportError(f"archive path {target} is a folder; give a file name ending with {ARCHIVE_SUFFIX}.")
    source = Path(folder)
    manifest = verify_export(source)
    top = _archive_top(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with tarfile.open(partial, "w:gz") as tar:
            for name in sorted([*manifest["files"], MANIFEST]):
                data = (source / name).read_bytes()
                info = tarfile.TarInfo(f"{top}/{name}")
                info.size, info.mode, info.mtime = len(data), 0o644, int(datetime.now(UTC).timestamp())
                tar.addfile(info, io.BytesIO(data))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _archive_top(archive: Path) -> str:
    """The folder an archive unpacks to: its name without the suffix (`best.tar.gz` -> `best`)."""
    return archive.name.removesuffix(ARCHIVE_SUFFIX) or "export"


@contextmanager
def _export_folder(path: str | os.PathLike[str]) -> Iterator[Path]:
    """The export folder at `path`, or a temporary folder holding the checked contents of an archive."""
    given = Path(path)
    if not given.is_file():
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="qnas-export-") as tmp:
        _unpack_archive(given, Path(tmp))
        try:
            yield Path(tmp)
        except ExportError as exc:  # name the archive, not the temporary folder it was unpacked to
            raise ExportError(f"in archive {given}: {str(exc).replace(tmp, given.name)}") from exc


def _unpack_archive(archive: Path, dest: Path) -> None:
    """Extract plain files from one top folder into `dest`; refuse anything else (links, `..`, absolute paths).

    Members are read and written by their checked base name, never by the path the archive gives,
    so no member can land outside `dest`.
    """
    fix = f"Pass a {ARCHIVE_SUFFIX} written by `qnas export --format archive`, or re-export the model."
    try:
        tar = tarfile.open(archive, "r:gz")
    except (tarfile.TarError, OSError) as exc:
        raise ExportError(f"{archive} is not a readable {ARCHIVE_SUFFIX} archive ({exc}). {fix}") from exc
    with tar:
        try:
            members = tar.getmembers()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ExportError(f"{archive} is truncated or damaged ({exc}). {fix}") from exc
        tops, total = set(), 0
        for member in members:
            parts = member.name.split("/")
            if not member.isfile() or len(parts) != 2 or not _is_plain_name(parts[0]) or not _is_plain_name(parts[1]):
                kind = "file" if member.isfile() else "link or special entry" if not member.isdir() else "folder"
                raise ExportError(
                    f"{archive} holds {member.name!r} ({kind}); an export archive holds only plain files inside one "
                    f"top folder, so it was refused unopened. {fix}"
                )
            tops.add(parts[0])
            total += member.size
        if len(tops) != 1 or total > MAX_ARCHIVE_BYTES:
            what = f"{len(tops)} top folders {sorted(tops)}" if len(tops) != 1 else f"{total} bytes unpacked"
            raise ExportError(f"{archive} is not an export archive: it has {what}. {fix}")
        for member in members:
            name = member.name.split("/")[1]
            if (dest / name).exists():
                raise ExportError(f"{archive} holds {name!r} twice. {fix}")
            try:
                (dest / name).write_bytes(tar.extractfile(member).read())
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise ExportError(f"{archive} is truncated or damaged at {member.name!r} ({exc}). {fix}") from exc


# --- checking and loading -----------------------------------------------------------------------


def verify_export(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Check the manifest and every file it lists (in a folder or an archive); return the manifest.

    Raises ExportError."""
    with _export_folder(path) as folder:
        manifest = _read_manifest(folder)
        _check_present(folder, list(manifest["files"]))
        _check_checksums(folder, manifest, (folder / WEIGHTS).read_bytes())
    return manifest


def load(
    path: str | os.PathLike[str],
    device: Any = None,
    verify: bool = True,
    readout_mitigation: bool | None = None,
    remeasure_readout: bool = False,
) -> torch.nn.Module:
    """Rebuild an exported model (a folder or its archive) in eval mode, after checking its checksums.

    `device` (a `qnas.devices.DeviceConfig`, a device name or its dict) rebuilds the quantum block on that
    device. The module carries what a caller needs: `spec`, `kind`, `class_names`,
    `feature_names`, `metrics`, `baseline`, `task_config`, `source`, `export_path`, and
    `readout_calibration` (the stored one, or None) with `readout_mitigation` (what runs: "stored",
    "measured", "given" (in the device's options), "off", or None on a device without readout errors).
    `verify=False` skips the checksums (for a folder edited on purpose), not the format checks.
    The circuit runs analytically (shots=None) whatever the spec's calibration says.

    On a noisy device, readout mitigation follows the spec's calibration settings unless
    `readout_mitigation` turns it on or off (to compare); it uses the export's stored calibration,
    checked against the device, unless `remeasure_readout=True` (or the export has none) measures
    it on the device again.
    """
    if readout_mitigation not in (None, True, False):
        raise ExportError(f"readout_mitigation = {readout_mitigation!r} must be None (as the spec says), True or False.")
    if not isinstance(remeasure_readout, bool):
        raise ExportError(f"remeasure_readout = {remeasure_readout!r} must be True or False.")
    with _export_folder(path) as folder:
        model = _load_folder(folder, device, verify, readout_mitigation, remeasure_readout)
    model.export_path = Path(path)
    return model


def _load_folder(
    folder: Path, device: Any, verify: bool, readout_mitigation: bool | None, remeasure_readout: bool
) -> torch.nn.Module:
    import safetensors
    import safetensors.torch

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
    stored = _read_readout(folder, manifest)
    device = _device_config(device)
    model_config, device, readout_used = _readout_setup(
        model_config, spec, device, stored, readout_mitigation, remeasure_readout
    )
    model = rebuild_model(model_config, tensors, where=str(folder / WEIGHTS), device=device)
    model.eval()
    model.readout_calibration = stored
    model.readout_mitigation = readout_used

    model.spec = spec
    model.kind = model_config["kind"]
    model.class_names = list(model_config.get("class_names") or [])
    model.feature_names = list(model_config.get("feature_names") or [])
    model.metrics = dict(info.get("metrics") or {})
    model.baseline = info.get("baseline")
    model.task_config = info.get("task")
    model.source = info.get("source")
    return model


def _read_readout(folder: Path, manifest: Mapping[str, Any]) -> ReadoutCalibration | None:
    """The export's readout calibration, validated; None when the export has none."""
    if READOUT not in manifest["files"]:
        return None
    from qnas.mitigation.readout_calibration import ReadoutCalibration

    _check_present(folder, [READOUT])
    try:
        return ReadoutCalibration.from_dict(_read_json(folder, READOUT), where=str(folder / READOUT))
    except DeviceError as exc:
        raise ExportError(f"{exc} {_REEXPORT_FIX}") from exc


def _readout_setup(
    model_config: dict[str, Any], spec: CandidateSpec, device: Any, stored: ReadoutCalibration | None,
    readout_mitigation: bool | None, remeasure_readout: bool,
) -> tuple[dict[str, Any], Any, str | None]:
    """The config and device that run readout mitigation as asked, and which calibration it uses."""
    if device is None or device.name != "noisy":
        return model_config, device, None
    on = spec.calibration.readout_mitigation if readout_mitigation is None else readout_mitigation
    if on != spec.calibration.readout_mitigation:
        calibration = replace(spec.calibration, readout_mitigation=on)
        model_config = {**model_config, "spec": replace(spec, calibration=calibration).to_dict()}
    if not on:
        return model_config, device, "off"
    if "readout_calibration" in device.options:
        return model_config, device, "given"
    if stored is None or remeasure_readout:
        return model_config, device, "measured"
    from qnas.devices import DeviceConfig

    return model_config, DeviceConfig("noisy", {**device.options, "readout_calibration": stored.to_dict()}), "stored"


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


def rebuild_model(
    model_config: Mapping[str, Any], tensors: Mapping[str, torch.Tensor], *, where: str, device: Any = None
) -> torch.nn.Module:
    """The model `model_config` describes, holding `tensors` (checked key by key and shape by shape).

    `where` names the weights' origin in errors; `device` is as for `load`.
    """
    model = _build(model_config, device=device)
    _load_state(model, tensors, where=where)
    return model


def _device_config(device: Any) -> Any:
    """A `DeviceConfig` from a config, a name or its dict (None stays None: the ideal simulator)."""
    if device is not None and not hasattr(device, "name"):
        from qnas.devices import DeviceConfig

        device = DeviceConfig.from_dict(device)
    return device


def _build(model_config: Mapping[str, Any], device: Any) -> torch.nn.Module:
    from qnas.models import build_model

    try:
        return build_model(dict(model_config), device=_device_config(device))
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
