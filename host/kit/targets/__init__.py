"""One class per kind of board, chosen from the board file (`kind` + `upload.method`).

    open_target("nicla-vision")                -> PlatformioTarget
    open_target("nicla-vision", emulate=True)  -> EmulatedTarget running emu-cortex-m7 with
                                                  the Nicla's limits, clock and power
    flash(...), connect(...), stop(...), invoke_on_board(...): what the commands call.

Adding a kind of board = one class here and one line in TARGET_CLASSES; adding a board of
a known kind = one board file. Nothing outside this package branches on a board's kind.
"""

from __future__ import annotations

from pathlib import Path
import numpy as np

from kit.catalog import Board, get_board, twin_of
from kit.errors import KitError
from kit.targets import state
from kit.targets.base import BoardTarget, FlashRequest, FlashResult, Log
from kit.targets.emulated import EmulatedTarget
from kit.targets.fit import HARNESS_RAM_BYTES, Fit, check_fit, fit_for_engine
from kit.targets.host import HostTarget
from kit.targets.sscma import SscmaTarget
from kit.targets.linux import LinuxTarget
from kit.targets.mcu import EsptoolTarget, PlatformioTarget, VendorToolTarget
from kit.targets.session import Session, connect_port, handshake, input_folder
from kit.targets.state import DeviceState

# First match wins: VendorToolTarget takes MCU boards without PlatformIO whatever their method.
TARGET_CLASSES: tuple[type[BoardTarget], ...] = (
    EmulatedTarget, SscmaTarget, VendorToolTarget, PlatformioTarget, EsptoolTarget, HostTarget, LinuxTarget,
)


def target_class(board: Board) -> type[BoardTarget]:
    """The class that drives `board`, from its board file's kind and upload method."""
    for cls in TARGET_CLASSES:
        if cls.serves(board):
            return cls
    raise KitError(f"kit has no driver for {board.name} (kind {board.kind!r}, upload method {board.upload.method!r})",
                   hint="fix the board file's kind / [upload] method (see docs/ARCHITECTURE.md, 'Add a board')")


def open_target(name: str | Board, emulate: bool = False) -> BoardTarget:
    """The target for a board name (+ --emulate: the board's twin, with the board's limits)."""
    board = get_board(name) if isinstance(name, str) else name
    target = target_class(board)(board)
    if not emulate:
        return target
    target.check("emulate")
    twin = twin_of(board)
    return target_class(twin)(board, twin, board)


def flash(board: str, lab: str | None, emulate: bool = False, model: Path | str | None = None, force: bool = False,
          log: Log = None, port: str | None = None, engine: str = "kit", model_id: str | None = None) -> FlashResult:
    """The whole `kit flash` pipeline on any board; returns where the board runs and what it runs."""
    target = open_target(board, emulate)
    request = FlashRequest(lab=lab, model=model, force=force, port=port, engine=engine, model_id=model_id, log=log)
    return target.flash(request)


def resolve_port(name: str, port: str | None = None, force: bool = False) -> tuple[str, DeviceState | None]:
    """(port or URL to open, the state entry kit recorded for it) for board `name`."""
    return open_target(name).resolve_port(port, force)


def find_running(name: str) -> DeviceState | None:
    return open_target(name).running_entry()


def require_running(name: str) -> DeviceState:
    return open_target(name).require_running()


def connect(name: str, port: str | None = None, line_timeout: float = 5.0, boot_timeout: float = 10.0,
            force: bool = False) -> Session:
    """Connect to board `name` on `port`, to the board kit started under that name, or to
    the real board found by its USB id (`force`: accept a port with another board's id)."""
    named = open_target(name)
    url, entry = named.resolve_port(port, force=force)
    target = named
    if entry is not None and entry.board != named.run_on.name:  # a twin stands in for the board
        target = open_target(entry.reference_board, emulate=True)
    return target.open_session(url, entry, line_timeout, boot_timeout)


def stop(board: str | None) -> list[str]:
    """Stop one board kit started (or all when `board` is None); returns the names stopped.
    A real board's name stops its running twin (`kit stop BOARD` after `kit flash BOARD LAB --emulate`)."""
    entries = state.all_states()
    if board is not None:
        open_target(board)  # an unknown name is an error, not "nothing to stop"
        entries = [entry for entry in entries if board in (entry.board, entry.reference_board)]
    stopped = []
    for entry in sorted(entries, key=lambda e: e.board):
        if open_target(entry.board).stop(entry):
            stopped.append(entry.board)
    return stopped


def invoke_on_board(board_name: str, model: str | Path, inputs: np.ndarray) -> np.ndarray:
    """Compile `model` for kit's runtime and run every input on `board_name`."""
    from kit.runtime_host.compiled import compile_model
    from kit.runtime_host.dispatch import resolve_model

    target = open_target(board_name)
    target.check("invoke")
    path, model_id = resolve_model(model)
    compiled = compile_model(path, model_id=model_id)
    return target.invoke(compiled, inputs)


__all__ = [
    "HARNESS_RAM_BYTES", "TARGET_CLASSES", "BoardTarget", "DeviceState", "EmulatedTarget", "EsptoolTarget", "Fit",
    "FlashRequest", "FlashResult", "HostTarget", "LinuxTarget", "PlatformioTarget", "Session", "SscmaTarget", "VendorToolTarget",
    "check_fit", "connect", "connect_port", "find_running", "fit_for_engine", "flash", "handshake", "input_folder",
    "invoke_on_board", "open_target", "require_running", "resolve_port", "state", "stop",
    "target_class",
]
