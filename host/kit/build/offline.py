"""PlatformIO without internet: give it the `tool-scons` package it would otherwise download.

`pio run` first asks PlatformIO's registry for `tool-scons` (unreachable on workshop and CI
machines). A package folder holding `package.json`, a `scons.py` that runs the pip-installed
SCons, and a `.piopm` naming owner `platformio` satisfies it (checked in PLATFORM-FACTS.md).
Everything lives in kit's own PlatformIO core folder, so nothing depends on ~/.platformio.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from kit.errors import ToolMissingError
from kit.paths import home_dir

# The version PlatformIO 6.2 requires ("~4.41101.0"): 4.11.1 encoded as 4.41101.0.
SCONS_PACKAGE_VERSION = "4.41101.0"

_SCONS_SCRIPT = '''"""Runs the SCons that kit found in its Python environment (written by kit setup-offline)."""
import sys

sys.path.insert(0, {scons_parent!r})
from SCons.Script import main

if __name__ == "__main__":
    main()
'''


def platformio_core_dir() -> Path:
    """kit's private PlatformIO core folder (packages, platforms cache)."""
    path = home_dir() / "platformio"
    path.mkdir(parents=True, exist_ok=True)
    return path


def platformio_env() -> dict[str, str]:
    """Environment for running `pio`: kit's core folder, no telemetry, no update checks."""
    env = dict(os.environ)
    env["PLATFORMIO_CORE_DIR"] = str(platformio_core_dir())
    env["PLATFORMIO_SETTING_ENABLE_TELEMETRY"] = "No"
    env["PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL"] = "3650"
    env["PLATFORMIO_SETTING_CHECK_PRUNE_SYSTEM_THRESHOLD"] = "0"
    env["PLATFORMIO_NO_ANSI"] = "true"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def scons_package_dir() -> Path:
    return platformio_core_dir() / "packages" / "tool-scons"


def _scons_parent() -> Path:
    try:
        import SCons  # noqa: PLC0415  (optional until PlatformIO needs it)
    except ImportError as error:
        raise ToolMissingError(
            "SCons is not installed in kit's Python environment (PlatformIO needs it offline)",
            hint="run `bash scripts/setup.sh` (or `.venv/bin/pip install scons==4.11.1`)",
        ) from error
    return Path(SCons.__file__).resolve().parent.parent


def _package_files(scons_parent: Path) -> dict[str, str]:
    manifest = {"name": "tool-scons", "version": SCONS_PACKAGE_VERSION, "system": "*",
                "description": "SCons from kit's Python environment (offline shim)"}
    meta = {"type": "tool", "name": "tool-scons", "version": SCONS_PACKAGE_VERSION,
            "spec": {"owner": "platformio", "id": None, "name": "tool-scons",
                     "requirements": None, "uri": None}}
    return {
        "package.json": json.dumps(manifest, indent=2) + "\n",
        ".piopm": json.dumps(meta) + "\n",
        "scons.py": _SCONS_SCRIPT.format(scons_parent=str(scons_parent)),
    }


def offline_ready() -> bool:
    """True when the shim is installed and points at an existing SCons."""
    package = scons_package_dir()
    try:
        expected = _package_files(_scons_parent())
    except ToolMissingError:
        return False
    return all((package / name).is_file() and (package / name).read_text() == text
               for name, text in expected.items())


def install_offline_scons() -> Path:
    """Write (or refresh) the tool-scons shim; idempotent. Returns the package folder."""
    package = scons_package_dir()
    package.mkdir(parents=True, exist_ok=True)
    for name, text in _package_files(_scons_parent()).items():
        target = package / name
        if not target.is_file() or target.read_text() != text:
            target.write_text(text)
    return package


def ensure_offline_platformio() -> None:
    """Install the shim if missing, so every build works offline without a setup step."""
    if not offline_ready():
        install_offline_scons()


def pio_executable() -> str:
    """`pio` beside kit's Python first (the venv kit runs from), then on PATH."""
    beside = Path(sys.executable).with_name("pio")
    if beside.is_file():
        return str(beside)
    found = shutil.which("pio")
    if found is None:
        raise ToolMissingError("PlatformIO (pio) is not installed",
                               hint="`pip install platformio` (kit's setup does: `bash scripts/setup.sh`)")
    return found
