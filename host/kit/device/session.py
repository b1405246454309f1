"""Finding and connecting to a board: an explicit --port, or the board `kit flash` started."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kit.catalog import Board, get_board
from kit.device import state as device_state
from kit.device.state import DeviceState
from kit.errors import DeviceError
from kit.link import Link, open_link
from kit.link.ports import choose_port
from kit.protocol import DeviceClient


# kit-load lines in flight to an emulator (QEMU's serial socket applies back-pressure).
EMULATOR_LOAD_WINDOW = 16


@dataclass
class Session:
    """An open connection: the client, the board that runs, the board whose numbers apply."""

    client: DeviceClient
    link: Link
    board: Board | None      # None: a device kit does not know (`kit bench --port PORT`)
    reference: Board | None
    state: DeviceState | None

    def close(self) -> None:
        self.link.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def find_running(name: str) -> DeviceState | None:
    """The state entry for a board name: the running board itself, or the real board a twin
    stands in for (`kit bench nicla-vision` after `kit flash nicla-vision kws --emulate`)."""
    direct = device_state.load(name)
    if direct is not None:
        return direct
    for entry in device_state.all_states():
        if entry.reference_board == name:
            return entry
    return None


def require_running(name: str) -> DeviceState:
    entry = find_running(name)
    board = get_board(name)
    if board.kind == "linux":
        raise DeviceError(f"{name} is a Linux board: it is measured over SSH, not a serial port",
                          hint=f"`kit bench-pi {name} --host USER@HOST` (after `kit deploy {name} LAB --host USER@HOST`)")
    if board.kind == "host":
        raise DeviceError(f"{name} is this computer, not a board with firmware to bench or validate",
                          hint="run a model on it with `kit invoke host --model LAB --input in.npy --output out.npy`, "
                               "or bench an emulated board: `kit flash emu-cortex-m4 LAB`, then `kit bench emu-cortex-m4`")
    if entry is None:
        if board.kind == "emulated" or board.emulated_twin:
            raise DeviceError(
                f"{name} is not running",
                hint=f"start it first: `kit flash {name} LAB{'' if board.kind == 'emulated' else ' --emulate'}`",
            )
        raise DeviceError(f"kit did not flash {name} and no --port was given", hint=f"pass the board's port: `--port /dev/ttyACM0`")
    if not entry.is_alive():
        device_state.remove(entry.board)
        raise DeviceError(
            f"{entry.board} is no longer running (its emulator, process {entry.pid}, has exited)",
            hint=f"start it again: `kit flash {name} {entry.lab}`",
        )
    return entry


def _is_real(board: Board) -> bool:
    """A physical microcontroller board reached over a USB serial port (not an emulator,
    the host, or a Linux board)."""
    return board.kind == "mcu"


def _real_board_port(board: Board, entry: DeviceState | None, force: bool) -> str:
    """The recorded port of a board `kit flash` flashed, checked by its USB id; when that
    port is gone (replugged, renumbered) or nothing was recorded, the port found by USB id."""
    recorded = entry.port if entry is not None else None
    if recorded is not None and "://" not in recorded and not os.path.exists(recorded):
        recorded = None
    return choose_port(board, recorded, force=force)


def resolve_port(name: str, port: str | None = None, force: bool = False) -> tuple[str, DeviceState | None]:
    """(port or URL to open, the state entry kit recorded for it). Real boards are found by
    USB VID:PID and another board's port is refused unless `force`; emulated boards (and a
    real board's running twin) are the ones `kit flash` started."""
    board = get_board(name)
    if port is not None:
        if _is_real(board) and "://" not in port:
            return choose_port(board, port, force=force), None
        return port, None
    entry = find_running(name)
    if _is_real(board) and (entry is None or (entry.pid is None and entry.board == name)):
        return _real_board_port(board, entry, force), entry
    entry = require_running(name)
    return entry.port, entry


def connect(name: str, port: str | None = None, line_timeout: float = 5.0, boot_timeout: float = 10.0,
            force: bool = False) -> Session:
    """Connect to board `name` on `port`, to the board kit started under that name, or to
    the real board found by its USB id (`force`: accept a port with another board's id)."""
    board = get_board(name)
    url, entry = resolve_port(name, port, force=force)
    run_on = get_board(entry.board) if entry else board
    reference = get_board(entry.reference_board) if entry else board
    link = open_link(url, baudrate=reference.baud)
    try:
        client = DeviceClient.connect(link, line_timeout=line_timeout, boot_timeout=boot_timeout)
        check_model(client, entry)
        if run_on.kind == "emulated":
            client.load_window = EMULATOR_LOAD_WINDOW
            if entry is not None and entry.pid is not None:  # an emulator kit started here
                client.host_file_dir = input_folder(run_on.name)
    except BaseException:
        link.close()
        raise
    return Session(client=client, link=link, board=run_on, reference=reference, state=entry)


def input_folder(board: str) -> Path:
    """Where inputs for an emulator on this machine are written (kit-load-file reads them):
    one folder per board, one file rewritten per load, so nothing piles up."""
    from kit.paths import cache_dir, make_dir

    return make_dir(cache_dir("inputs") / board, "input folder", "check that KIT_HOME is writable")


def connect_port(url: str, baudrate: int | None = None, line_timeout: float = 5.0,
                 boot_timeout: float = 10.0) -> Session:
    """Connect to whatever speaks MLPerf Tiny (or kit's protocol) on `url`, no board named:
    any MLPerf Tiny firmware on a board kit does not know."""
    from kit.link import DEFAULT_BAUD

    link = open_link(url, baudrate=baudrate or DEFAULT_BAUD)
    try:
        client = DeviceClient.connect(link, line_timeout=line_timeout, boot_timeout=boot_timeout)
    except BaseException:
        link.close()
        raise
    return Session(client=client, link=link, board=None, reference=None, state=None)


def check_model(client: DeviceClient, entry: DeviceState | None) -> None:
    """The board must run the model `kit flash` gave it (its kit-info sha256): numbers from
    another model would be recorded under the wrong name."""
    if entry is None or client.info is None or not entry.sha256 or client.info.sha256 == entry.sha256:
        return
    raise DeviceError(
        f"{entry.board} runs a model with sha256 {client.info.sha256[:12]} ({client.info.model}), but kit flashed "
        f"{entry.lab} with sha256 {entry.sha256[:12]} on {entry.port}",
        hint=f"flash it again: `kit flash {entry.reference_board} {entry.lab}` (or pass --port for another board)",
    )
