"""The one record of running boards: which board kit flashed or started, and how to reach it.

`kit flash` writes one entry per board (port URL, model, hash, lab; for an emulator also its
process id, TCP port and log); `kit bench`/`validate`/`invoke` read it to find the board
without asking again, and `kit stop` removes it. A stale entry (emulator gone) is detected by
its process id and dropped when read. The emulator launcher (kit.upload.qemu) keeps no
records of its own: this file is the only place a running board is written down.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kit.paths import home_dir
from kit.procs import pid_alive

STATE_FILE = "devices.json"


@dataclass
class DeviceState:
    board: str                      # the board actually running (e.g. emu-cortex-m7)
    reference_board: str            # the board whose limits/clock/power apply (e.g. nicla-vision)
    port: str                       # link URL (socket://127.0.0.1:PORT, /dev/ttyACM0)
    lab: str
    model_path: str
    sha256: str
    firmware: str = ""              # the built firmware image (to restart an emulator)
    pid: int | None = None          # emulator process, None for real boards
    started: float = field(default_factory=time.time)
    extra: dict[str, Any] = field(default_factory=dict)
    tcp_port: int | None = None     # an emulator's console port on 127.0.0.1
    log_path: str = ""              # an emulator's log (QEMU's own output)

    def is_alive(self) -> bool:
        """A real board is assumed present; an emulator must still be running."""
        if self.pid is None:
            return True
        return pid_alive(self.pid)


def state_path() -> Path:
    return home_dir() / STATE_FILE


def _read_all() -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(state_path().read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_all(data: dict[str, dict[str, Any]]) -> None:
    path = state_path()
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True))
    temporary.replace(path)


def save(state: DeviceState) -> None:
    data = _read_all()
    data[state.board] = asdict(state)
    _write_all(data)


def load(board: str) -> DeviceState | None:
    """The entry for `board` (the board that runs) as written, alive or not."""
    entry = _read_all().get(board)
    if entry is None:
        return None
    try:
        return DeviceState(**entry)
    except TypeError:
        return None


def load_running(board: str) -> DeviceState | None:
    """The entry for `board` when its emulator still runs (a stale entry is removed)."""
    state = load(board)
    if state is not None and not state.is_alive():
        remove(board)
        return None
    return state


def remove(board: str) -> None:
    data = _read_all()
    if data.pop(board, None) is not None:
        _write_all(data)


def all_states() -> list[DeviceState]:
    """Every entry as written, alive or not."""
    return [state for state in (load(name) for name in _read_all()) if state is not None]
