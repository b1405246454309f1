"""Fixtures for the real-board tests (no real board here: see realboard_helpers)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from realboard_helpers import REAL_BOARDS


@pytest.fixture(scope="session")
def kws_model(mlperf_models: dict[str, Path]) -> Path:
    return mlperf_models["kws_ref_model"]


@pytest.fixture(scope="session")
def kws_converted(kws_model: Path):
    """The MLPerf Tiny kws reference model through `kit convert` with its TFLM arrays (cached)."""
    from kit.compile import convert

    return convert(kws_model, model_id="kws01", tflm=True)


@pytest.fixture(scope="session")
def projects(tmp_path_factory: pytest.TempPathFactory, kws_converted, kws_model: Path):
    """Every real board x engine project, written once per session."""
    from kit.build.realboard import write_project

    root = tmp_path_factory.mktemp("projects")
    return {
        (board, engine): write_project(board, kws_converted, root / f"{board}-{engine}", engine=engine,
                                       model_path=kws_model)
        for board in REAL_BOARDS for engine in ("kit", "tflm")
    }


@pytest.fixture(scope="session")
def host_compilers() -> None:
    if shutil.which("gcc") is None or shutil.which("g++") is None:
        pytest.skip("no host gcc/g++")
