"""Boot firmware on an emulated board: QEMU in the background with its console on a TCP
port (`socket://127.0.0.1:PORT`), or a one-shot run with the console on pipes (tests,
`kit invoke`). This module only launches and ends processes; which emulator runs for which
board is recorded by its caller in the one running-board store (kit.targets.state).

QEMU always runs with -icount shift=0 (from the board catalog): one instruction per ns of
virtual time, so latencies are deterministic instruction counts. The serial server waits
for its client (wait=on) so no boot line is lost, and nodelay=on keeps round trips ~5 ms.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from kit import catalog
from kit.catalog.models import Board
from kit.errors import DeviceError, KitError, ToolMissingError
from kit.paths import home_dir
from kit.procs import die_with_parent, pid_alive

LOCALHOST = "127.0.0.1"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
PORT_ATTEMPTS = 3


@dataclass
class RunningEmulator:
    """One QEMU process kit started in the background."""

    board: str       # the emulated board (catalog name)
    pid: int
    tcp_port: int
    firmware: str
    log_path: str
    started: float

    @property
    def port(self) -> str:
        """The link URL for kit.link / pyserial."""
        return link_url(self.tcp_port)

    def is_alive(self) -> bool:
        return pid_alive(self.pid)

    def stop(self) -> None:
        terminate(self.pid)


@dataclass
class OneShotResult:
    exit_code: int
    output: str


def link_url(tcp_port: int) -> str:
    return f"socket://{LOCALHOST}:{tcp_port}"


# ----------------------------------------------------------------------------- command line

def emulated_board(board: str | Board) -> Board:
    """The catalog board QEMU runs (a real board's emulated twin)."""
    board_obj = catalog.get_board(board) if isinstance(board, str) else board
    target = catalog.twin_of(board_obj)
    if target.emulator is None:
        raise KitError(f"board '{target.name}' is not an emulated board", hint="`kit boards` lists the emulated ones")
    return target


def qemu_binary(target: Board) -> str:
    """The QEMU executable for `target`, or ToolMissingError with the apt-get fix."""
    import shutil

    assert target.emulator is not None
    name = target.emulator.qemu
    found = shutil.which(name)
    if found is None:
        package = " ".join(target.emulator.apt) or name
        raise ToolMissingError(
            f"QEMU ({name}) is not installed: it runs the emulated board {target.name}",
            hint=f"sudo apt-get install -y --no-install-recommends {package}",
        )
    return found


def qemu_command(target: Board, firmware: Path, serial: str) -> list[str]:
    """QEMU's arguments for `target` booting `firmware` with the console on `serial`."""
    assert target.emulator is not None
    emulator = target.emulator
    return [qemu_binary(target), "-M", emulator.machine, *emulator.args, "-monitor", "none",
            "-kernel", str(firmware), "-serial", serial]


def tcp_serial(tcp_port: int) -> str:
    return f"tcp:{LOCALHOST}:{tcp_port},server=on,wait=on,nodelay=on"


# ----------------------------------------------------------------------------- ports

def free_tcp_port() -> int:
    """A port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOCALHOST, 0))
        return int(probe.getsockname()[1])


def port_in_use(tcp_port: int) -> bool:
    """Someone listens on it. SO_REUSEADDR as QEMU sets it: a port whose last connection is
    only in TIME_WAIT (a twin just restarted on it) counts as free, as it is for QEMU."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOCALHOST, tcp_port))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


class PortBusyError(DeviceError):
    """The TCP port for the emulator's console is taken."""


def _port_busy_error(tcp_port: int) -> PortBusyError:
    return PortBusyError(f"TCP port {tcp_port} on {LOCALHOST} is already in use",
                       hint="leave the port out to let kit pick a free one, or stop what uses it "
                       f"(`ss -ltnp 'sport = :{tcp_port}'` shows the process; `kit stop` ends kit's emulators)")


# ----------------------------------------------------------------------------- logs

def _log_dir() -> Path:
    path = home_dir() / "emulators"
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_path_for(board: str) -> Path:
    """Where QEMU's own output for `board` goes (one file per board, rewritten at each start)."""
    return _log_dir() / f"{board}.log"


# ----------------------------------------------------------------------------- start / stop

def _wait_listening(process: subprocess.Popen[bytes], tcp_port: int, log_path: Path) -> None:
    """Until QEMU listens on the port (it then waits for the client), or fails."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = log_path.read_text(errors="replace")
            if "Address already in use" in log:
                raise _port_busy_error(tcp_port)
            raise DeviceError(f"QEMU exited at start (code {process.returncode}): {log.strip()[-400:]}",
                              hint="check the firmware file and that QEMU supports the machine (`qemu-system-arm -M help`)")
        if port_in_use(tcp_port):
            return
        time.sleep(0.02)
    terminate(process.pid)
    raise DeviceError(f"QEMU did not open TCP port {tcp_port} within {START_TIMEOUT_S:.0f} s",
                      hint=f"see its log: {log_path}")


def _launch(target: Board, firmware: Path, tcp_port: int, log_path: Path, with_parent: bool) -> RunningEmulator:
    command = qemu_command(target, firmware, tcp_serial(tcp_port))
    with open(log_path, "wb") as log, open(os.devnull, "rb") as no_input:
        process = subprocess.Popen(command, stdin=no_input, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, preexec_fn=die_with_parent() if with_parent else None)
    _wait_listening(process, tcp_port, log_path)
    return RunningEmulator(board=target.name, pid=process.pid, tcp_port=tcp_port, firmware=str(firmware),
                           log_path=str(log_path), started=time.time())


def start(board: str | Board, firmware: Path, tcp_port: int | None = None, log_path: Path | None = None,
          with_parent: bool = False) -> RunningEmulator:
    """Boot `firmware` on `board`'s emulator in the background. The console waits on
    `link_url(tcp_port)` for its client. Without `tcp_port` a free port is picked (again, if
    another program takes it first). The caller records it and stops it (`RunningEmulator.stop`).
    `log_path` (default: the board's log) lets several emulators of one board keep their own
    log; `with_parent` ends QEMU when the calling process dies (kit.procs.die_with_parent)."""
    target = emulated_board(board)
    log_path = Path(log_path) if log_path is not None else log_path_for(target.name)
    firmware = Path(firmware)
    if not firmware.is_file():
        raise KitError(f"firmware file not found: {firmware}", hint="build it first (`kit flash BOARD LAB`)")
    if tcp_port is not None and port_in_use(tcp_port):
        raise _port_busy_error(tcp_port)
    attempts = 1 if tcp_port is not None else PORT_ATTEMPTS
    for attempt in range(attempts):
        try:
            running = _launch(target, firmware, tcp_port if tcp_port is not None else free_tcp_port(), log_path,
                              with_parent)
            break
        except PortBusyError:
            if attempt + 1 == attempts:
                raise
    return running


def terminate(pid: int) -> None:
    """SIGTERM, wait up to STOP_TIMEOUT_S, then SIGKILL; reaps the process if it is our child."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        _reap(pid)
        if not pid_alive(pid):
            return
        time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    _reap(pid)


def _reap(pid: int) -> None:
    """Collect our own child's exit status (a no-op for processes started by another kit)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


# ----------------------------------------------------------------------------- one shot

def run_once(board: str | Board, firmware: Path, console_input: bytes, timeout: float = 60.0) -> OneShotResult:
    """Boot `firmware`, feed `console_input` to its console, wait for it to exit (e.g. after
    `kit-exit 0%`); returns the exit code and everything it printed."""
    target = emulated_board(board)
    command = qemu_command(target, Path(firmware), "stdio")
    try:
        result = subprocess.run(command, input=console_input, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        shown = (error.stdout or b"").decode("ascii", "replace").strip().splitlines()[-1:]
        raise DeviceError(f"the emulated board {target.name} did not exit within {timeout:.0f} s; "
                          f"last line: {shown[0] if shown else '(nothing)'}",
                          hint="end the console input with `kit-exit 0%`") from error
    return OneShotResult(exit_code=result.returncode, output=result.stdout.decode("ascii", "replace"))
