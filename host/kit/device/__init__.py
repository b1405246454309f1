"""Orchestration of real and emulated boards: flash, bench, validate, invoke, stop."""
