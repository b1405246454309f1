"""What the board is (CPU, Python, free disk) and getting a LiteRT venv onto it.

The probe is one small POSIX shell script run over SSH before anything is copied, so the
problems a student can fix (32-bit OS, no Python, no venv module, full disk) are reported
with their fix instead of as a failed pip or tar half-way through.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from kit.errors import DeviceError, KitError
from kit.deploy.ssh import RemoteDiskFullError, SshTarget, push_files, quote_command, raise_for_remote_failure, run

THIRTY_TWO_BIT_ARM = ("armv6l", "armv7l", "armv8l", "armhf", "arm")
PYTHON_PROBE = (
    "import sys, platform\n"
    "def has(name):\n"
    "    import importlib\n"
    "    try:\n"
    "        return importlib.import_module(name) is not None\n"
    "    except Exception:\n"
    "        return False\n"
    "print('python_version=' + platform.python_version())\n"
    "print('python_tag=cp%d%d' % sys.version_info[:2])\n"
    "print('has_venv=%d' % (has('venv') and has('ensurepip')))\n"
    "print('has_pip=%d' % has('pip'))\n"
)
# Free space needed beyond the copied files when a venv with LiteRT + numpy is installed.
VENV_BYTES = 250 * 1024 * 1024
MARGIN_BYTES = 1024 * 1024


@dataclass(frozen=True)
class RemoteLayout:
    """Folders on the board. Relative paths are relative to the login's home folder."""

    root: str = "kit"

    def lab_dir(self, lab: str) -> str:
        return f"{self.root}/{lab}"

    @property
    def venv(self) -> str:
        return f"{self.root}/venv"

    @property
    def wheels(self) -> str:
        return f"{self.root}/wheels"


@dataclass(frozen=True)
class RemoteInfo:
    """The board as the probe saw it."""

    machine: str
    python: str | None  # the interpreter asked for, None when it is missing
    python_version: str | None
    python_tag: str | None
    has_venv: bool
    has_pip: bool
    free_bytes: int | None
    venv_exists: bool = False


def probe(target: SshTarget, layout: RemoteLayout, remote_python: str) -> RemoteInfo:
    """One SSH round trip: CPU architecture, Python, venv/pip presence, free space under the root."""
    python = shlex.quote(remote_python)
    root = shlex.quote(layout.root)
    script = (
        'echo "machine=$(uname -m)"; '
        f"if command -v {python} >/dev/null 2>&1; then echo python=$(command -v {python}); "
        f"{python} -c {shlex.quote(PYTHON_PROBE)}; fi; "
        f"mkdir -p {root} 2>/dev/null; "
        f"test -x {shlex.quote(layout.venv + '/bin/python')} && echo venv_exists=1; "
        f"df -Pk {root} 2>/dev/null | tail -n 1 | awk '{{print \"avail_kb=\" $4}}'"
    )
    result = run(target, script, timeout_s=60)
    fields = dict(line.split("=", 1) for line in result.stdout.decode(errors="replace").splitlines() if "=" in line)
    free_kb = fields.get("avail_kb", "")
    return RemoteInfo(
        machine=fields.get("machine", "unknown").strip(),
        python=fields.get("python"),
        python_version=fields.get("python_version"),
        python_tag=fields.get("python_tag"),
        has_venv=fields.get("has_venv") == "1",
        has_pip=fields.get("has_pip") == "1",
        free_bytes=int(free_kb) * 1024 if free_kb.isdigit() else None,
        venv_exists=fields.get("venv_exists") == "1",
    )


def check_board(info: RemoteInfo, target: SshTarget, remote_python: str, need_venv: bool) -> None:
    """Refuse boards LiteRT cannot run on, or cannot be installed on, with the fix."""
    if info.machine in THIRTY_TWO_BIT_ARM:
        raise DeviceError(
            f"{target.host} runs a 32-bit operating system ({info.machine}); LiteRT (ai-edge-litert) has no wheels for 32-bit Arm",
            hint="flash the 64-bit Raspberry Pi OS with Raspberry Pi Imager (Raspberry Pi OS (64-bit)); check with `uname -m`, which must print aarch64",
        )
    if info.python is None:
        raise DeviceError(
            f"no Python 3 interpreter {remote_python!r} on {target.host}",
            hint="install it on the board: sudo apt-get install -y python3 python3-venv python3-pip (or pass --remote-python PATH)",
        )
    if need_venv and not info.has_venv:
        raise DeviceError(
            f"Python {info.python_version} on {target.host} cannot create virtual environments (the venv/ensurepip module is missing)",
            hint="install it on the board: sudo apt-get install -y python3-venv python3-pip",
        )


def check_free_space(info: RemoteInfo, target: SshTarget, layout: RemoteLayout, needed_bytes: int) -> None:
    """Compare `df` on the board with what we are about to copy and install."""
    if info.free_bytes is None or info.free_bytes >= needed_bytes + MARGIN_BYTES:
        return
    raise RemoteDiskFullError(
        f"not enough disk space on {target.host} under {layout.root}: {info.free_bytes / 1e6:.1f} MB free, "
        f"{(needed_bytes + MARGIN_BYTES) / 1e6:.1f} MB needed",
        hint="free some space on the board (`sudo apt-get clean`, remove old files; check with `df -h ~`) or pick another --remote-dir",
    )


def runner_info(target: SshTarget, python: str, runner_path: str) -> dict:
    """The runner's `info` line: which runtimes this interpreter can import."""
    result = run(target, quote_command([python, runner_path, "info"]), timeout_s=120)
    for line in result.stdout.decode(errors="replace").splitlines():
        try:
            record = json.loads(line) if line.startswith("{") else None
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict) and record.get("type") == "info":
            return record
    raise_for_remote_failure(target, f"{python} {runner_path} info", result.stderr.decode(errors="replace"))
    raise AssertionError("unreachable")


def create_venv(target: SshTarget, layout: RemoteLayout, remote_python: str, system_site_packages: bool) -> str:
    """`python3 -m venv` on the board (kept between deploys); returns the venv's python."""
    venv_python = f"{layout.venv}/bin/python"
    argv = [remote_python, "-m", "venv", *(["--system-site-packages"] if system_site_packages else []), layout.venv]
    remote = f"test -x {shlex.quote(venv_python)} || {quote_command(argv)}"
    result = run(target, remote, timeout_s=300)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).decode(errors="replace")
        if "ensurepip is not available" in output or "No module named venv" in output or "No module named ensurepip" in output:
            raise DeviceError(
                f"{remote_python} on {target.host} cannot create virtual environments (venv/ensurepip missing)",
                hint="install it on the board: sudo apt-get install -y python3-venv python3-pip",
            )
        raise_for_remote_failure(target, "creating the venv", output)
    return venv_python


def install_runtime(target: SshTarget, layout: RemoteLayout, venv_python: str, requirements: list[str], wheels: list[Path] | None) -> None:
    """pip install LiteRT into the board's venv, from PyPI or from pushed wheels (offline)."""
    pip = [venv_python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    if wheels is not None:
        push_files(target, layout.wheels, {wheel.name: wheel.read_bytes() for wheel in wheels})
        pip += ["--no-index", "--find-links", layout.wheels]
    result = run(target, quote_command([*pip, *requirements]), timeout_s=1800)
    if result.returncode == 0:
        return
    stderr = result.stderr.decode(errors="replace")
    if "No matching distribution" in stderr or "Could not find a version" in stderr or "Failed to establish" in stderr:
        where = "the pushed wheelhouse" if wheels is not None else "PyPI (from the board)"
        raise KitError(
            f"pip on {target.host} found no installable {' '.join(requirements)} in {where}",
            hint=(
                "if the board has no internet, rerun with --offline (kit downloads the wheels for the board on this laptop "
                "and pushes them) or --wheelhouse DIR; check that the board is a 64-bit OS with a Python that LiteRT supports"
            ),
        )
    raise_for_remote_failure(target, "installing LiteRT with pip", stderr)
