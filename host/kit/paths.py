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


def make_dir(path: Path, what: str, hint: str) -> Path:
    """Create `path` (and its parents) or raise a KitError naming `what` it is for (e.g. "--out
    folder") and the OS's reason, so a read-only or mistyped path is not a traceback."""
    from kit.errors import KitError

    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError as error:
        raise KitError(f"cannot create the {what} {path}: the file {error.filename} is in the way", hint) from error
    except OSError as error:
        reason = error.strerror or str(error)
        where = f" ({error.filename})" if error.filename and str(error.filename) != str(path) else ""
        raise KitError(f"cannot create the {what} {path}: {reason}{where}", hint) from error
    return path


_HOME_HINT = "set KIT_HOME to a folder you can write to (e.g. `export KIT_HOME=$HOME/.kit`), or unset it"


def home_dir() -> Path:
    """kit's writable state: artifact cache, builds, results. `KIT_HOME` overrides (tests use it)."""
    root = Path(os.environ.get("KIT_HOME", REPO_ROOT / ".kit"))
    what = "KIT_HOME folder" if "KIT_HOME" in os.environ else "kit state folder"
    return make_dir(root, what, _HOME_HINT)


def cache_dir(kind: str) -> Path:
    """A cache folder for one kind of artifact (datasets, models, compiled, builds)."""
    return make_dir(home_dir() / "cache" / kind, "cache folder", _HOME_HINT)


def results_dir() -> Path:
    """Where bench/validate sessions are recorded as JSONL."""
    return make_dir(home_dir() / "results", "results folder", _HOME_HINT)
