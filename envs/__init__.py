"""Gymnasium environments for circuit design; importing this package registers them under `qnas/`.

The entry point is a string, so registering imports nothing heavy: torch and PennyLane load
when `gymnasium.make` builds the first environment.
"""

import gymnasium

CIRCUIT_DESIGN_ID = "qnas/CircuitDesign-v0"

if CIRCUIT_DESIGN_ID not in gymnasium.registry:  # re-importing must not warn "Overriding environment"
    gymnasium.register(id=CIRCUIT_DESIGN_ID, entry_point="qnas.envs.circuit_design:CircuitDesignEnv")

__all__ = ["CIRCUIT_DESIGN_ID"]
