"""`kit deploy BOARD LAB --host USER@HOST`: model + labels + runner onto a Linux board, then one run.

Order matters for good errors: validate names locally, probe the board (architecture,
Python, disk) in one round trip, and only then copy and install.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kit.deploy import remote, state, wheelhouse
from kit.deploy.ssh import SshTarget, push_files, quote_command, raise_for_remote_failure, run
from kit.errors import DeviceError, KitError
from kit.paths import MODELS_DIR

RUNNER_SOURCE = Path(__file__).with_name("pi_runner.py")
RUNNER_NAME = "pi_runner.py"
MODEL_NAME = "model.tflite"
LABELS_NAME = "labels.txt"
NOT_DEPLOYED_EXIT = 97  # the remote wrapper's status when the lab folder has no runner/model
_SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class RemotePython:
    """Which interpreter runs the runner on the board.

    `use_venv=False` runs `interpreter` directly: for boards managed by hand, and for the tests,
    where the "board" is this machine and `interpreter` is the laptop's own .venv python
    (which already has ai-edge-litert for x86_64)."""

    interpreter: str = "python3"
    use_venv: bool = True
    system_site_packages: bool = False

    def runner_python(self, layout: remote.RemoteLayout) -> str:
        return f"{layout.venv}/bin/python" if self.use_venv else self.interpreter


@dataclass
class DeployResult:
    """What was deployed where, and what the first run on the board printed."""

    board: str
    lab: str
    host: str
    remote_dir: str
    model_sha256: str
    machine: str
    python_version: str | None
    installed: bool  # True when this deploy installed LiteRT into the board's venv
    smoke: dict[str, Any] = field(default_factory=dict)

    @property
    def runtime(self) -> str:
        return str(self.smoke.get("runtime"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "board": self.board, "lab": self.lab, "host": self.host, "remote_dir": self.remote_dir,
            "model_sha256": self.model_sha256, "machine": self.machine, "python_version": self.python_version,
            "installed": self.installed, "smoke": self.smoke,
        }


def linux_board(name: str):
    """The catalog board, refused unless its board file says it is reached over SSH (the
    commands ask the board's target first: kit.targets says what to use instead)."""
    from kit.catalog import get_board, list_boards

    board = get_board(name)
    if board.upload.method != "ssh":
        ssh_boards = ", ".join(b.name for b in list_boards() if b.upload.method == "ssh")
        raise KitError(
            f"{name} is not a Linux board deployed over SSH (its board file's upload method is {board.upload.method!r})",
            hint=f"use `kit flash {name} LAB` for microcontroller and emulated boards; `kit deploy` is for {ssh_boards}",
        )
    return board


def lab_entry(name: str):
    """The catalog lab; its name becomes a remote folder, so it must also be a plain word."""
    from kit.catalog import get_lab

    lab = get_lab(name)
    if not _SAFE_NAME.match(lab.name):
        raise KitError(f"lab name {lab.name!r} is not a plain folder name", hint="lab names use a-z, 0-9, '-' and '_'")
    return lab


def lab_model(lab: str, model: Path | None) -> Path:
    """`--model PATH`, or the lab's committed reference model in models/<lab>/model.tflite."""
    path = Path(model) if model is not None else MODELS_DIR / lab / MODEL_NAME
    if not path.is_file():
        if model is not None:
            raise KitError(f"model file {path} does not exist", hint="check the path given to --model")
        raise KitError(
            f"no reference model for lab {lab} at {path}",
            hint=f"train it with `kit train {lab}` and pass --model PATH/TO/model.tflite, or restore models/{lab}/",
        )
    data = path.read_bytes()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise KitError(f"{path} is not a .tflite model (no TFL3 identifier)", hint="pass the int8 .tflite file written by `kit train`")
    return path


def parse_record(line: str) -> dict[str, Any] | None:
    """A runner JSON record, or None for anything else the board printed (library banners, noise)."""
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None


def runner_error(target: SshTarget, stdout: str, stderr: str, what: str) -> KitError:
    """Turn the runner's `error` line (or its silence) into advice."""
    for line in stdout.splitlines():
        record = parse_record(line)
        if record is not None:
            if record.get("type") == "error":
                hints = {
                    "no-runtime": "run `kit deploy` again (it installs ai-edge-litert into the board's venv), or on the board: pip install ai-edge-litert",
                    "no-numpy": "run `kit deploy` again (it installs numpy with LiteRT), or on the board: pip install numpy",
                    "bad-model": "check the model with `kit models` / retrain it with `kit train LAB`, then deploy again",
                }
                return DeviceError(
                    f"{what} on {target.host}: {record.get('message')}",
                    hint=hints.get(str(record.get("code")), "run the runner by hand on the board to investigate"),
                )
    try:
        raise_for_remote_failure(target, what, stderr)
    except KitError as error:
        return error
    return DeviceError(f"{what} on {target.host} printed nothing", hint="run the runner by hand on the board to investigate")


def remote_runner_command(layout: remote.RemoteLayout, lab: str, python: str, arguments: list[str]) -> str:
    """`cd <lab dir> && <python> pi_runner.py ...`, refusing politely if nothing was deployed."""
    lab_dir = shlex.quote(layout.lab_dir(lab))
    return (
        f"cd {lab_dir} 2>/dev/null && test -f {RUNNER_NAME} && test -f {MODEL_NAME} "
        f"|| {{ echo 'kit: nothing deployed here' >&2; exit {NOT_DEPLOYED_EXIT}; }}; "
        f"exec {python_from_login_folder(python)} {quote_command([RUNNER_NAME, *arguments])}"
    )


def python_from_login_folder(python: str) -> str:
    """The interpreter as a shell word that still names it after `cd <lab dir>`.

    Layout paths such as the default `kit/venv/bin/python` are relative to the login's home
    folder, where ssh starts the command; a bare name (`python3`) is looked up on PATH."""
    if "/" in python and not python.startswith(("/", "~")):
        return f'"$HOME"/{shlex.quote(python)}'
    return shlex.quote(python)


def run_smoke(target: SshTarget, layout: remote.RemoteLayout, lab: str, python: str, threads: int, with_labels: bool) -> dict[str, Any]:
    """One inference on the board with the runner's fixed input; returns its `smoke` record."""
    arguments = ["smoke", "--model", MODEL_NAME, "--threads", str(threads), *(["--labels", LABELS_NAME] if with_labels else [])]
    result = run(target, remote_runner_command(layout, lab, python, arguments), timeout_s=300)
    stdout = result.stdout.decode(errors="replace")
    if result.returncode == 0:
        for line in stdout.splitlines():
            record = parse_record(line)
            if record is not None and record.get("type") == "smoke":
                return record
    raise runner_error(target, stdout, result.stderr.decode(errors="replace"), "the smoke inference")


def deploy_lab(
    board_name: str,
    lab_name: str,
    target: SshTarget,
    *,
    model: Path | None = None,
    layout: remote.RemoteLayout | None = None,
    python: RemotePython | None = None,
    wheelhouse_dir: Path | None = None,
    offline: bool = False,
    threads: int = 1,
    log=lambda message: None,
) -> DeployResult:
    """Copy the lab's int8 model, labels and the runner to the board, get LiteRT there, run once."""
    board = linux_board(board_name)
    lab = lab_entry(lab_name)
    model_path = lab_model(lab.name, model)
    layout = layout or remote.RemoteLayout()
    python = python or RemotePython()
    model_bytes = model_path.read_bytes()

    log(f"probing {target.host}")
    info = remote.probe(target, layout, python.interpreter)
    remote.check_board(info, target, python.interpreter, need_venv=python.use_venv)
    wheels = local_wheels(info, wheelhouse_dir, offline, log, host=target.host) if python.use_venv else None
    files = {RUNNER_NAME: RUNNER_SOURCE.read_bytes(), MODEL_NAME: model_bytes, LABELS_NAME: ("\n".join(lab.labels) + "\n").encode()}
    needed = sum(len(data) for data in files.values()) + sum(wheel.stat().st_size for wheel in wheels or [])
    if python.use_venv and not info.venv_exists:
        needed += remote.VENV_BYTES
    remote.check_free_space(info, target, layout, needed)

    log(f"copying {model_path.name} ({len(model_bytes):,} bytes), labels and runner to {layout.lab_dir(lab.name)}")
    push_files(target, layout.lab_dir(lab.name), files)
    installed = ensure_runtime(target, layout, lab.name, python, wheels, log)
    log("running one inference on the board")
    smoke = run_smoke(target, layout, lab.name, python.runner_python(layout), threads, with_labels=lab.task == "classification")
    model_sha256 = hashlib.sha256(model_bytes).hexdigest()
    state.remember(board.name, target.host, target.port, state.DeployedLab(lab.name, layout.root, python.interpreter, python.use_venv, model_sha256))
    return DeployResult(
        board=board.name, lab=lab.name, host=target.host, remote_dir=layout.lab_dir(lab.name),
        model_sha256=model_sha256, machine=info.machine,
        python_version=info.python_version, installed=installed, smoke=smoke,
    )


def local_wheels(info: remote.RemoteInfo, wheelhouse_dir: Path | None, offline: bool, log,
                 host: str = "the board") -> list[Path] | None:
    """Wheels to push: a given wheelhouse, or (--offline) ones downloaded for this board now."""
    if wheelhouse_dir is not None:
        return wheelhouse.wheels_in(wheelhouse_dir)
    if not offline:
        return None
    if info.python_tag is None:
        raise DeviceError(
            f"could not tell which Python {info.python or '(none found)'} on {host} is "
            "(no version tag), so kit cannot pick LiteRT wheels for it",
            hint="pass a working Python 3 interpreter with --remote-python (e.g. --remote-python python3.11)",
        )
    log(f"downloading LiteRT wheels for {info.machine} / {info.python_tag} on this laptop")
    return wheelhouse.download_wheels(info.machine, info.python_tag)


def ensure_runtime(target: SshTarget, layout: remote.RemoteLayout, lab: str, python: RemotePython, wheels: list[Path] | None, log) -> bool:
    """Create the board's venv if needed and install LiteRT unless a runtime already imports."""
    runner = f"{layout.lab_dir(lab)}/{RUNNER_NAME}"
    if not python.use_venv:
        return False
    log(f"preparing the venv {layout.venv}")
    venv_python = remote.create_venv(target, layout, python.interpreter, python.system_site_packages)
    info = remote.runner_info(target, venv_python, runner)
    if info.get("runtimes") and info.get("numpy"):
        return False
    log("installing ai-edge-litert into the venv" + (" from the pushed wheels" if wheels is not None else " from PyPI"))
    remote.install_runtime(target, layout, venv_python, wheelhouse.runtime_requirements(), wheels)
    return True
