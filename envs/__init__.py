"""Gymnasium environments for circuit design (registered under the `qnas/` namespace)."""
