"""Wheels for the board, downloaded on the laptop, for workshops where the Pis have no internet.

pip can fetch wheels for ANOTHER platform (`--platform/--python-version/--abi`) as long as
only binary wheels are accepted; kit asks for exactly the board's machine and Python (read
over SSH first), so what it pushes is what the board's pip will accept.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

from kit.errors import KitError
from kit.paths import cache_dir

# manylinux tags a 64-bit Raspberry Pi OS (glibc 2.36 on Bookworm) accepts, oldest first.
MANYLINUX_TAGS = ("manylinux2014", "manylinux_2_17", "manylinux_2_27", "manylinux_2_28", "manylinux_2_34")


def runtime_requirements() -> list[str]:
    """LiteRT pinned to the laptop's version (so both sides run the same runtime) and numpy."""
    try:
        version = metadata.version("ai-edge-litert")
        return [f"ai-edge-litert=={version}", "numpy"]
    except metadata.PackageNotFoundError:
        return ["ai-edge-litert", "numpy"]


def download_command(machine: str, python_tag: str, requirements: list[str], directory: Path) -> list[str]:
    """The `pip download` argument list for a board with this `uname -m` and CPython tag (cp311)."""
    digits = python_tag.removeprefix("cp")
    python_version = f"{digits[0]}.{digits[1:]}"
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--only-binary=:all:", "--dest", str(directory)]
    for tag in MANYLINUX_TAGS:
        command += ["--platform", f"{tag}_{machine}"]
    command += ["--implementation", "cp", "--abi", python_tag, "--python-version", python_version, *requirements]
    return command


def wheel_cache(machine: str, python_tag: str) -> Path:
    """One cache folder per board platform, reused by every later deploy."""
    return cache_dir("pi-wheels") / f"{python_tag}-{machine}"


def download_wheels(machine: str, python_tag: str, requirements: list[str] | None = None) -> list[Path]:
    """Fill (or reuse) the wheel cache for this board platform and return its wheels."""
    requirements = requirements or runtime_requirements()
    directory = wheel_cache(machine, python_tag)
    directory.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(download_command(machine, python_tag, requirements, directory), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise KitError(
            f"could not download {' '.join(requirements)} wheels for {machine} / {python_tag} on this laptop:\n{tail}",
            hint="this step needs internet on the laptop (PyPI); or download the wheels elsewhere and pass --wheelhouse DIR",
        )
    return wheels_in(directory)


def wheels_in(directory: Path) -> list[Path]:
    """The .whl files of a wheelhouse folder, refusing an empty or missing one."""
    wheels = sorted(Path(directory).glob("*.whl"))
    if not wheels:
        raise KitError(
            f"the wheelhouse {directory} holds no .whl files",
            hint="fill it with `kit deploy ... --offline` on a laptop with internet, or `pip download` the wheels for the board into it",
        )
    return wheels
