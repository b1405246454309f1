"""Measurements: the append-only results store and the statistics derived from it."""
