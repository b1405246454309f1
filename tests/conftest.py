"""Shared test setup: every test session writes kit's state into its own folder.

Set KIT_TEST_HOME to reuse one folder across runs (datasets and trained models stay cached),
which makes local iterations fast; CI always starts empty.

KIT_FAIL_ON_SKIP=1 (set by .ci/run) turns every skip into a failure: setup installs every
tool the suite needs, so a skip in CI is a missing install step. Skips stay for developers'
partial machines.
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


FAIL_ON_SKIP = os.environ.get("KIT_FAIL_ON_SKIP") == "1"


def _skip_as_failure(report) -> None:
    """Turn a skipped report into a failure that says why (KIT_FAIL_ON_SKIP=1)."""
    if FAIL_ON_SKIP and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped with KIT_FAIL_ON_SKIP=1 (a missing install step?): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _skip_as_failure(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _skip_as_failure(outcome.get_result())
