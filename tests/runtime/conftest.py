"""Shared fixtures for the runtime tests: TFLM references and compiled models, built once."""

from __future__ import annotations

import numpy as np
import pytest


def random_inputs(shape: tuple[int, ...], count: int, seed: int) -> np.ndarray:
    """`count` int8 inputs of a model's input shape (batch axis replaced by `count`)."""
    return np.random.default_rng(seed).integers(-128, 128, size=(count, *shape[1:]), dtype=np.int8)


@pytest.fixture(scope="session")
def kws_model(mlperf_models):
    """The MLPerf Tiny keyword-spotting model compiled by kit (the smallest full CNN)."""
    from kit.runtime_host import compile_model

    return compile_model(mlperf_models["kws_ref_model"])
