"""`kit doctor`: is this machine ready for kit? Each check says what is wrong and the fix.

Checks are cheap (no heavy imports, no network): Python packages against the pins in
pyproject.toml, compilers, QEMU, speech tools, PlatformIO and its offline SCons package,
ssh, serial-port permissions and free disk. `run_checks(path=...)` takes a PATH so tests can
simulate a machine where a tool is missing.
"""

from __future__ import annotations

import grp
import importlib.metadata
import importlib.util
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from kit import paths

Status = Literal["ok", "warn", "missing"]

APT_INSTALL = "sudo apt-get install -y --no-install-recommends"
SETUP = "run `scripts/setup.sh` (installs the apt packages and the pinned Python packages)"

# distribution name -> module name where they differ
MODULE_OF = {
    "tensorflow-cpu": "tensorflow",
    "tflite-micro": "tflite_micro",
    "ai-edge-litert": "ai_edge_litert",
    "pyserial": "serial",
    "scons": "SCons",
    "pytest-timeout": "pytest_timeout",
    "pillow": "PIL",
}

# (program, apt package(s), required, what it is for). The compilers and emulators come from
# the board files (board_tools); these are the other programs kit runs.
TOOLS: list[tuple[str, str, bool, str]] = [
    ("espeak-ng", "espeak-ng", True, "the offline keyword-spotting dataset"),
    ("sox", "sox", True, "audio resampling for the keyword-spotting dataset"),
    ("ssh", "openssh-client", False, "Raspberry Pi deployment"),
    ("fuser", "psmisc", False, "naming the program that holds a busy serial port"),
]

MIN_FREE_BYTES = 2 * 1024**3
CRITICAL_FREE_BYTES = 500 * 1024**2


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    category: str
    name: str
    status: Status
    required: bool
    detail: str
    fix: str | None = None


# --------------------------------------------------------------------------- python packages


def pinned_requirements(pyproject: Path | None = None) -> dict[str, str | None]:
    """Distribution -> pinned version (None when not pinned with ==), from pyproject.toml."""
    path = pyproject or paths.REPO_ROOT / "pyproject.toml"
    try:
        with path.open("rb") as handle:
            project = tomllib.load(handle)["project"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return {}
    requirements = list(project.get("dependencies", []))
    requirements += project.get("optional-dependencies", {}).get("test", [])
    pins: dict[str, str | None] = {}
    for requirement in requirements:
        match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(?:==\s*([^;\s]+))?", requirement)
        if match:
            pins[match.group(1)] = match.group(2)
    return pins


def check_python_packages(pins: dict[str, str | None] | None = None, import_modules: bool = False) -> list[Check]:
    """Each pinned package: installed, findable on the path (or really imported in a child
    process when `import_modules`: catches broken binary wheels), at the pinned version."""
    pins = pinned_requirements() if pins is None else pins
    modules = {dist: MODULE_OF.get(dist, dist.replace("-", "_")) for dist in pins}
    import_errors = _import_in_child(sorted(set(modules.values()))) if import_modules else {}
    checks = []
    for dist, pin in pins.items():
        module = modules[dist]
        fix = f"{sys.executable} -m pip install '{dist}{'==' + pin if pin else ''}'  (or {SETUP})"
        try:
            installed = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            checks.append(Check("python", dist, "missing", True, "not installed", fix))
            continue
        if importlib.util.find_spec(module) is None:
            checks.append(Check("python", dist, "missing", True, f"{installed} installed but `import {module}` fails", fix))
        elif import_errors.get(module):
            checks.append(Check("python", dist, "missing", True,
                                f"{installed} installed but `import {module}` fails: {import_errors[module]}",
                                fix.replace("pip install", "pip install --force-reinstall")))
        elif pin and installed != pin:
            checks.append(Check("python", dist, "warn", False, f"{installed} (kit is tested with {pin})", fix))
        else:
            checks.append(Check("python", dist, "ok", True, installed + (" (imported)" if import_modules else "")))
    return checks


_IMPORT_PROBE = """
import importlib, json, sys
errors = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        errors[name] = None
    except BaseException as error:  # a broken wheel can raise anything
        errors[name] = f"{type(error).__name__}: {error}"[:200]
print("KIT-IMPORTS " + json.dumps(errors))
"""


def _import_in_child(modules: list[str]) -> dict[str, str | None]:
    """Import each module in a separate Python process, so a crash (a wheel built against
    another numpy can segfault) is reported instead of killing the doctor."""
    try:
        result = subprocess.run([sys.executable, "-c", _IMPORT_PROBE, *modules], capture_output=True,
                                text=True, timeout=600, check=False)
    except (OSError, subprocess.SubprocessError) as error:
        return {module: f"could not start Python: {error}" for module in modules}
    for line in result.stdout.splitlines():
        if line.startswith("KIT-IMPORTS "):
            return json.loads(line.removeprefix("KIT-IMPORTS "))
    crash = f"the import process died (exit {result.returncode})"
    return {module: crash for module in modules}


# --------------------------------------------------------------------------- external tools


VERSION_FLAG = {"ssh": "-V", "fuser": "-V"}


def _version_line(program: str) -> str:
    """`<version> (<path>)` for a program, e.g. `12.2.1 (/usr/bin/arm-none-eabi-gcc)`."""
    flag = VERSION_FLAG.get(Path(program).name, "--version")
    try:
        result = subprocess.run([program, flag], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return f"found ({program})"
    text = (result.stdout + "\n" + result.stderr).strip()
    first_line = text.splitlines()[0] if text else ""
    match = re.search(r"(?<![0-9.:])\d+\.\d+(?:\.\d+)?(?:p\d+)?(?![\w.])", first_line)
    return f"{match.group(0) if match else 'found'} ({program})"


def board_tools() -> list[tuple[str, str, bool, str]]:
    """Each compiler and emulator a board file names with its apt packages, and the boards
    that need it: adding a board adds its tools here with no code change."""
    from kit.catalog import list_boards

    needs: dict[str, tuple[str, list[str]]] = {}
    for board in list_boards():
        parts = []
        if board.toolchain is not None and board.toolchain.apt:
            parts.append((board.toolchain.compiler, board.toolchain.apt))
        if board.emulator is not None and board.emulator.apt:
            parts.append((board.emulator.qemu, board.emulator.apt))
        for program, apt in parts:
            packages, boards = needs.get(program, (" ".join(apt), []))
            needs[program] = (packages, [*boards, board.name])
    return [(program, packages, True, "the board(s) " + ", ".join(boards)) for program, (packages, boards) in needs.items()]


def check_tools(path: str | None = None) -> list[Check]:
    """Compilers, emulators and helper programs on PATH."""
    checks = []
    for program, packages, required, purpose in board_tools() + TOOLS:
        found = shutil.which(program, path=path)
        if found:
            checks.append(Check("tools", program, "ok", required, _version_line(found)))
        else:
            checks.append(Check(
                "tools", program, "missing" if required else "warn", required,
                f"not found on PATH (needed for {purpose})", f"{APT_INSTALL} {packages}",
            ))
    return checks


def platformio_core_dirs() -> list[Path]:
    """PlatformIO core folders to look in: kit's own (KIT_HOME/platformio, which kit's builds
    use), then the user's ($PLATFORMIO_CORE_DIR or ~/.platformio)."""
    user = Path(os.environ.get("PLATFORMIO_CORE_DIR") or Path.home() / ".platformio")
    return [kit_home_root() / "platformio", user]


def check_platformio(path: str | None = None) -> list[Check]:
    """The `pio` command and the local SCons package that lets it build offline."""
    pio = shutil.which("pio", path=path) or shutil.which("pio", path=str(Path(sys.executable).parent))
    checks = []
    if pio is None:
        pin = pinned_requirements().get("platformio")
        requirement = f"platformio=={pin}" if pin else "platformio"
        checks.append(Check("platformio", "pio", "missing", True, "PlatformIO is not installed",
                            f"{sys.executable} -m pip install {requirement}  (or {SETUP})"))
    else:
        checks.append(Check("platformio", "pio", "ok", True, _version_line(pio)))
    folders = platformio_core_dirs()
    ready = [folder / "packages" / "tool-scons" for folder in folders
             if (folder / "packages" / "tool-scons" / "package.json").is_file()
             and (folder / "packages" / "tool-scons" / ".piopm").is_file()]
    if ready:
        checks.append(Check("platformio", "offline tool-scons", "ok", False, str(ready[0])))
    else:
        checks.append(Check(
            "platformio", "offline tool-scons", "warn", False,
            f"no tool-scons package in {folders[0]} (kit's) or {folders[1]}: "
            "`pio run` will try to download SCons and fail without internet",
            "run `kit setup-offline` (or scripts/setup.sh), which installs the local SCons package",
        ))
    return checks


# --------------------------------------------------------------------------- serial, disk


def serial_groups() -> list[str]:
    """The groups that own serial ports here: those of existing /dev/ttyACM*/ttyUSB*, else
    the distribution's usual one (dialout on Debian/Ubuntu, uucp on Arch)."""
    owners = set()
    for device in list(Path("/dev").glob("ttyACM*")) + list(Path("/dev").glob("ttyUSB*")):
        try:
            owners.add(grp.getgrgid(device.stat().st_gid).gr_name)
        except (KeyError, OSError):
            continue
    if owners:
        return sorted(owners)
    for name in ("dialout", "uucp"):
        try:
            grp.getgrnam(name)
            return [name]
        except KeyError:
            continue
    return ["dialout"]


def check_serial_permissions(uid: int | None = None, groups: list[int] | None = None) -> Check:
    """Can this user open serial ports? Root can; others need the port's group, active in
    this login session (a freshly added group only applies after logging in again)."""
    uid = os.getuid() if uid is None else uid
    if uid == 0:
        return Check("serial", "serial-port access", "ok", False, "running as root")
    active = {grp.getgrgid(gid).gr_name for gid in (os.getgroups() if groups is None else groups) if _gid_exists(gid)}
    needed = serial_groups()
    if active & set(needed):
        return Check("serial", "serial-port access", "ok", False, f"member of {', '.join(sorted(active & set(needed)))}")
    user = pwd.getpwuid(uid).pw_name
    listed = [name for name in needed if _listed_member(user, name)]
    if listed:
        return Check("serial", "serial-port access", "warn", False,
                     f"{user} was added to {listed[0]} but this login session does not have it yet",
                     "log out and back in (or reboot), or run `newgrp " + listed[0] + "` in this shell")
    return Check("serial", "serial-port access", "warn", False,
                 f"{user} is not in the {needed[0]} group: opening a board's port will fail with permission denied",
                 f"sudo usermod -aG {needed[0]} $USER, then log out and back in")


def _gid_exists(gid: int) -> bool:
    try:
        grp.getgrgid(gid)
        return True
    except KeyError:
        return False


def _listed_member(user: str, group: str) -> bool:
    try:
        return user in grp.getgrnam(group).gr_mem
    except KeyError:
        return False


def kit_home_root() -> Path:
    """Where kit keeps its state (KIT_HOME, else <repo>/.kit), without creating it."""
    return Path(os.environ.get("KIT_HOME", paths.REPO_ROOT / ".kit"))


def nearest_existing(folder: Path) -> Path:
    """The folder itself, or the closest parent that exists (where it would be created)."""
    folder = folder.absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def check_kit_home(folder: Path | None = None) -> Check:
    """kit writes caches, builds and results under KIT_HOME: it must be writable (a real
    write, since permission bits do not tell on read-only mounts or for root)."""
    target = folder or kit_home_root()
    fix = f"make {target} writable, or set KIT_HOME to a folder you can write to (e.g. `export KIT_HOME=$HOME/.kit`)"
    existing = nearest_existing(target)
    if not existing.is_dir():
        return Check("disk", "kit state folder", "missing", True, f"{existing} is not a folder", fix)
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".kit-doctor-"):
            pass
    except OSError as error:
        return Check("disk", "kit state folder", "missing", True,
                     f"cannot write in {existing}: {error.strerror or error}", fix)
    state = "writable" if existing == target.absolute() else f"will be created in {existing}"
    return Check("disk", "kit state folder", "ok", True, f"{target} ({state})")


def check_disk(folder: Path | None = None) -> Check:
    """Free space where kit writes datasets, models and builds."""
    target = nearest_existing(folder or kit_home_root())
    free = shutil.disk_usage(target).free
    detail = f"{free / 1024**3:.1f} GB free at {target}"
    if free < CRITICAL_FREE_BYTES:
        return Check("disk", "free space", "missing", True, detail, "free some disk space (datasets and builds need ~2 GB), or set KIT_HOME to a bigger disk")
    if free < MIN_FREE_BYTES:
        return Check("disk", "free space", "warn", False, detail, "free some disk space or set KIT_HOME to a bigger disk (2 GB recommended)")
    return Check("disk", "free space", "ok", True, detail)


# --------------------------------------------------------------------------- all


def run_checks(path: str | None = None, import_modules: bool = False) -> list[Check]:
    """Every check, in report order. `path` overrides PATH for the program lookups;
    `import_modules` really imports every Python package (slower: TensorFlow takes seconds)."""
    return [
        *check_python_packages(import_modules=import_modules),
        *check_tools(path),
        *check_platformio(path),
        check_serial_permissions(),
        check_kit_home(),
        check_disk(),
    ]


def verdict(checks: list[Check]) -> str:
    """One line: ready or not, and how many of each kind of problem (named when few)."""
    failures = [check.name for check in checks if check.status == "missing" and check.required]
    warnings = [check.name for check in checks if check.status != "ok" and check.name not in failures]

    def counted(names: list[str], word: str, verb: str = "") -> str:
        listed = f" ({', '.join(names)})" if len(names) <= 3 else ""
        return f"{len(names)} {word}{'' if len(names) == 1 else 's'}{verb}{listed}"

    if failures:
        extra = f"; {counted(warnings, 'warning')}" if warnings else ""
        return f"not ready: {counted(failures, 'required check', ' failed')}{extra}; each row says the fix"
    if warnings:
        return f"ready, with {counted(warnings, 'warning')} about optional parts; each row says the fix"
    return "ready: every check passed"


def has_failures(checks: list[Check]) -> bool:
    """True if something required is missing (the doctor then exits with 1)."""
    return any(check.status == "missing" and check.required for check in checks)


def as_json(checks: list[Check]) -> dict[str, object]:
    return {"ok": not has_failures(checks), "checks": [asdict(check) for check in checks]}
