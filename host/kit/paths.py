"""Where kit finds its data (boards, labs, kits, models, firmware) and where it writes artifacts."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BOARDS_DIR = REPO_ROOT / "boards"
LABS_DIR = REPO_ROOT / "labs"
KITS_DIR = REPO_ROOT / "kits"
MODELS_DIR = REPO_ROOT / "models"
FIRMWARE_DIR = REPO_ROOT / "firmware"
TEST_DATA_DIR = REPO_ROOT / "tests" / "data"


def home_dir() -> Path:
    """kit's writable state: artifact cache, builds, results. `KIT_HOME` overrides (tests use it)."""
    root = Path(os.environ.get("KIT_HOME", REPO_ROOT / ".kit"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def cache_dir(kind: str) -> Path:
    """A cache folder for one kind of artifact (datasets, models, compiled, builds)."""
    path = home_dir() / "cache" / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def results_dir() -> Path:
    """Where bench/validate sessions are recorded as JSONL."""
    path = home_dir() / "results"
    path.mkdir(parents=True, exist_ok=True)
    return path
