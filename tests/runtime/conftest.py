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


@pytest.fixture(scope="session")
def zoo_model(tmp_path_factory):
    """`zoo_model(seed)`: the generated model for a seed, built once per session and shared by
    the host and the emulated-board bit-exactness tests (building one costs seconds of TF)."""
    from tests.runtime.model_zoo import build_model

    folder = tmp_path_factory.mktemp("zoo")
    built: dict = {}

    def get(seed: int):
        if seed not in built:
            built[seed] = build_model(seed, folder)
        return built[seed]

    return get


@pytest.fixture(scope="session")
def depthwise_stack(tmp_path_factory):
    """`depthwise_stack(name)`: one of model_zoo.DEPTHWISE_STACKS, built once per session."""
    from tests.runtime.model_zoo import build_depthwise_stack

    folder = tmp_path_factory.mktemp("dw_stacks")
    built: dict = {}

    def get(name: str):
        if name not in built:
            built[name] = build_depthwise_stack(name, folder)
        return built[name]

    return get


@pytest.fixture(scope="session")
def user_model(tmp_path_factory):
    """`user_model(name)`: a model of tests/runtime/user_models.py, built once per session and
    shared by the host and the emulated-board tests."""
    from tests.runtime.user_models import build_user_model

    folder = tmp_path_factory.mktemp("user-models")
    built: dict = {}

    def get(name: str):
        if name not in built:
            built[name] = build_user_model(name, folder)
        return built[name]

    return get
