"""The model card says one thing per field: every mitigation setting of the spec appears, once, and
the summary line agrees with the fields (issue 22, point 2)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from qnas.model_card import model_card
from qnas.spec import CalibrationSpec, CandidateSpec


def card(calibration: CalibrationSpec) -> str:
    spec = replace(CandidateSpec(), calibration=calibration)
    return model_card(spec=spec, model_config={"kind": "classifier"}, metrics={"accuracy": 0.9, "epochs_run": 12},
                      baseline=None, task_config={"name": "moons"}, source={"study": "s", "trial": 0}, export_name="m")


@pytest.mark.parametrize(
    ("calibration", "expected"),
    [(CalibrationSpec(), "- error mitigation: none\n"),
     (CalibrationSpec(readout_mitigation=True), "- error mitigation: readout (assignment matrices"),
     (CalibrationSpec(shots=1000, zne_factors=(1, 3), zne_method="linear"),
      "- error mitigation: zero-noise extrapolation (fold factors 1, 3, linear)"),
     (CalibrationSpec(shots=1000, readout_mitigation=True, zne_factors=(1, 3, 5), layout="low_noise"),
      "- error mitigation: readout (assignment matrices of the device's qubits) and zero-noise extrapolation "
      "(fold factors 1, 3, 5, richardson)")],
)
def test_every_mitigation_setting_appears_once_and_nothing_contradicts_it(calibration, expected) -> None:
    text = card(calibration)
    section = text.split("## Error mitigation and calibration")[1].split("## How to load it")[0]
    assert expected in section
    assert section.count("error mitigation:") == 1 and "readout_mitigation:" not in section and "zne_" not in section
    assert f"- qubit layout on a device with a coupling map: {calibration.layout}" in section
    shots = calibration.shots or "analytic"
    assert f"- shots when scored: {shots}" in section
    assert "| epochs_run | 12 | training epochs actually run" in text  # every metric says what it means
