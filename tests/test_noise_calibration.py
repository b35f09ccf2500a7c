"""Calibration files: the shipped devices, a user's own file in JSON or YAML, and every validation rule."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
import yaml

from qnas.calibration import SCHEMA, SHIPPED_CALIBRATIONS, DeviceCalibration, load_calibration
from qnas.errors import DeviceError
from qnas.ibm_calibration import from_ibm_properties


def _tiny() -> dict:
    """A valid 3-qubit line device in the documented schema."""
    qubit = {"t1_ns": 100_000.0, "t2_ns": 80_000.0, "readout_error": 0.02, "gate_error_1q": 0.001, "gate_time_1q_ns": 35.0}
    coupler = {"gate_error_2q": 0.01, "gate_time_2q_ns": 300.0}
    return {
        "schema": SCHEMA,
        "name": "tiny_line",
        "technology": "superconducting transmon",
        "source": "made up for a test",
        "qubits": [dict(qubit) for _ in range(3)],
        "couplers": [{"qubits": [0, 1], **coupler}, {"qubits": [1, 2], **coupler}],
    }


def test_shipped_devices_differ_in_size_technology_and_connectivity():
    devices = {name: load_calibration(name) for name in SHIPPED_CALIBRATIONS}
    assert {name: d.n_qubits for name, d in devices.items()} == {"ibm_manila": 5, "ibm_perth": 7, "iqm_garnet": 20, "ionq_harmony": 11}
    assert len({d.technology.split(" (")[0] for d in devices.values()}) == 2  # superconducting and trapped ion
    assert len(devices["ibm_manila"].couplers) == 4  # a line
    assert len(devices["ibm_perth"].couplers) == 6  # an H: a tree on 7 qubits
    assert len(devices["iqm_garnet"].couplers) == 30  # a square lattice
    assert len(devices["ionq_harmony"].couplers) == 11 * 10 // 2  # all to all
    for name, device in devices.items():
        assert device.name == name and "qiskit" in device.source or "Azure" in device.source
        for q in device.qubits:
            assert 0 < q.t2_ns <= 2 * q.t1_ns and 0 <= q.readout_error < 0.5


def test_manila_numbers_are_the_published_calibration():
    manila = load_calibration("ibm_manila")
    assert manila.qubits[0].t1_ns == pytest.approx(131528.6)  # props_manila.json: T1 = 131.5286 us
    assert manila.qubits[0].readout_error == pytest.approx(0.0353)
    assert manila.coupler(1, 0).gate_error_2q == pytest.approx(0.008828, abs=1e-6)
    assert manila.neighbors()[1] == [0, 2]


def test_perth_numbers_are_the_published_calibration():
    perth = load_calibration("ibm_perth")
    assert perth.qubits[5].readout_error == pytest.approx(0.0431)  # props_perth.json, the worst qubit
    assert perth.coupler(5, 4).gate_error_2q == pytest.approx(0.016971, abs=1e-6)  # cx4_5 and cx5_4 averaged
    mean_readout = sum(q.readout_error for q in perth.qubits) / perth.n_qubits
    assert mean_readout == pytest.approx(0.03, abs=0.001)  # the 3% device of the readout-mitigation target
    assert perth.neighbors()[1] == [0, 2, 3] and perth.neighbors()[5] == [3, 4, 6]


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_user_file_in_json_or_yaml_loads(tmp_path, suffix):
    path = tmp_path / f"device{suffix}"
    data = _tiny()
    path.write_text(json.dumps(data) if suffix == ".json" else yaml.safe_dump(data))
    device = load_calibration(str(path))
    assert device == DeviceCalibration.from_dict(data)
    assert device.n_qubits == 3 and device.coupler(2, 1).gate_time_2q_ns == 300.0


def _error_for(mutate) -> str:
    data = _tiny()
    mutate(data)
    with pytest.raises(DeviceError) as info:
        DeviceCalibration.from_dict(data, where="calibration file x.json")
    return str(info.value)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(schema="v2"), "schema = 'v2' is not supported; write schema: qnas.calibration/1"),
        (lambda d: d.update(name="IBM Manila"), "name = 'IBM Manila' must be lower-case"),
        (lambda d: d.update(source=""), "source must be a non-empty text"),
        (lambda d: d.update(qubits=[]), "qubits must be a non-empty list"),
        (lambda d: d.pop("couplers"), "missing 'couplers'"),
        (lambda d: d["qubits"][1].update(t2_ns=300_000.0), r"qubits\[1\]: t2_ns = 300000 exceeds 2 \* t1_ns = 200000"),
        (lambda d: d["qubits"][2].update(readout_error=0.7), r"qubits\[2\]: readout_error = 0.7 must be a number in \[0, 0.5\)"),
        (lambda d: d["qubits"][0].update(t1_ns=-1), r"t1_ns = -1 must be a number in \(0, inf\)"),
        (lambda d: d["qubits"][0].update(gate_eror_1q=0.1), "key = 'gate_eror_1q' is not allowed.*Did you mean 'gate_error_1q'"),
        (lambda d: d["couplers"][0].update(qubits=[0, 3]), r"couplers\[0\]: qubits = \[0, 3\] must be two different qubit indices in \[0, 2\]"),
        (lambda d: d["couplers"].append(dict(d["couplers"][0], qubits=[1, 0])), r"couplers\[2\] repeats the pair \[1, 0\]"),
    ],
)
def test_invalid_files_name_the_field_value_and_rule(mutate, message):
    import re

    text = _error_for(mutate)
    assert text.startswith("calibration file x.json: ")
    assert re.search(message, text), text


def test_unknown_names_missing_files_and_bad_syntax(tmp_path):
    with pytest.raises(DeviceError, match="Did you mean 'ibm_manila'"):
        load_calibration("ibm_manilla")
    with pytest.raises(DeviceError, match="does not exist"):
        load_calibration(str(tmp_path / "nope.json"))
    broken = tmp_path / "broken.yaml"
    broken.write_text("qubits: [unclosed")
    with pytest.raises(DeviceError, match="is not valid YAML"):
        load_calibration(str(broken))


@pytest.mark.parametrize("backend", ["manila", "perth"])
def test_shipped_ibm_files_are_reproduced_from_ibms_published_properties(backend):
    reason = (
        "the qiskit extra is not installed (its qiskit_ibm_runtime holds IBM's published snapshots): "
        "pip install 'qnas[qiskit]'"
    )
    runtime = pytest.importorskip("qiskit_ibm_runtime", reason=reason)
    folder = Path(runtime.__file__).parent / "fake_provider" / "backends" / backend
    shipped = json.loads((resources.files("qnas") / "calibration_data" / f"ibm_{backend}.json").read_text())
    made = from_ibm_properties(
        json.loads((folder / f"props_{backend}.json").read_text()),
        json.loads((folder / f"conf_{backend}.json").read_text()),
        name=shipped["name"], technology=shipped["technology"], source=shipped["source"],
    )
    assert made == shipped


def test_incomplete_ibm_properties_are_refused_with_the_reason():
    qubit = [{"name": "T1", "unit": "us", "value": 100.0}, {"name": "readout_error", "unit": "", "value": 0.02}]
    with pytest.raises(DeviceError, match="qubit 0 has no T2"):
        from_ibm_properties({"qubits": [qubit], "gates": []}, {"coupling_map": []}, name="x", technology="t", source="s")
    qubit.append({"name": "T2", "unit": "us", "value": 80.0})
    sx = {"gate": "sx", "qubits": [0], "parameters": [{"name": "gate_error", "value": 1e-4}, {"name": "gate_length", "unit": "ns", "value": 35.5}]}
    with pytest.raises(DeviceError, match=r"coupling map \[\(0, 1\)\] and the cx/ecr/cz gates \[\] differ"):
        from_ibm_properties({"qubits": [qubit, qubit], "gates": [sx]}, {"coupling_map": [[0, 1]]}, name="x", technology="t", source="s")
