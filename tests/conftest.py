"""Shared test setup: every test session writes kit's state into its own folder.

Set KIT_TEST_HOME to reuse one folder across runs (datasets and trained models stay cached),
which makes local iterations fast; CI always starts empty.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_home = os.environ.get("KIT_TEST_HOME") or tempfile.mkdtemp(prefix="kit-test-home-")
os.environ["KIT_HOME"] = _home
Path(_home).mkdir(parents=True, exist_ok=True)

REPO_ROOT = Path(__file__).resolve().parents[1]
MLPERF_DIR = REPO_ROOT / "tests" / "data" / "mlperf-tiny"


@pytest.fixture(scope="session")
def kit_home() -> Path:
    return Path(_home)


@pytest.fixture(scope="session")
def mlperf_models() -> dict[str, Path]:
    """The five MLPerf Tiny reference int8 models (Apache-2.0, copied with their license)."""
    return {path.stem: path for path in sorted(MLPERF_DIR.glob("*.tflite"))}
