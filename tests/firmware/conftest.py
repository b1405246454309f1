"""Fixtures for the firmware tests: the harness compiled natively (host HAL) and driven over
pipes, and the emulated-board firmware built once per session through PlatformIO."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from firmware_helpers import EMULATED_BOARDS, TEST_MODEL, HostHarness, compile_host_harness


@pytest.fixture(scope="session")
def host_harness_binary(tmp_path_factory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc")
    return compile_host_harness(tmp_path_factory.mktemp("host-harness") / "harness")


@pytest.fixture
def harness(host_harness_binary):
    device = HostHarness(host_harness_binary)
    yield device
    device.close()


@pytest.fixture(scope="session")
def test_model_builds():
    """The checksum test model built through PlatformIO for each emulated board (once)."""
    from kit.build import build_firmware

    return {board: build_firmware(board, TEST_MODEL) for board in EMULATED_BOARDS}
