"""Error mitigation applied when a candidate is scored on a noisy device: readout and ZNE."""
