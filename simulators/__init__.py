"""Simulators of external services Switchyard talks to (tests, demos, benchmarks)."""
