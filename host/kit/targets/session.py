"""An open connection to a board, and the sha256 handshake after a flash.

Which port to open and how to talk to it differs per kind of board and lives in the target
classes (kit.targets.base and its subclasses); this module holds what they share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kit.catalog import Board
from kit.errors import DeviceError
from kit.link import Link, open_link
from kit.protocol import DeviceClient
from kit.targets.state import DeviceState

if TYPE_CHECKING:
    from kit.targets.base import BoardTarget


@dataclass
class Session:
    """An open connection: the client, the board that runs, the board whose numbers apply."""

    client: DeviceClient
    link: Link
    board: Board | None      # None: a device kit does not know (`kit bench --port PORT`)
    reference: Board | None
    state: DeviceState | None
    target: "BoardTarget | None" = None   # None: a device kit does not know

    @property
    def emulated(self) -> bool:
        """Its tick counts are instructions under QEMU -icount (the target says so)."""
        return self.target is not None and self.target.emulated

    def close(self) -> None:
        self.link.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect_port(url: str, baudrate: int | None = None, line_timeout: float = 5.0,
                 boot_timeout: float = 10.0) -> Session:
    """Connect to whatever speaks MLPerf Tiny (or kit's protocol) on `url`, no board named:
    any MLPerf Tiny firmware on a board kit does not know (the foreign device)."""
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


def handshake(port: str, expected_sha256: str, line_timeout: float = 10.0) -> dict[str, str]:
    """Connect and check that the board runs the model it was given (kit-info sha256)."""
    with open_link(port) as link:
        client = DeviceClient.connect(link, line_timeout=line_timeout, boot_timeout=line_timeout)
        if client.info is None:
            raise DeviceError(
                f"the board on {port} answers MLPerf Tiny commands but not kit-info: it is not running kit firmware",
                hint="flash it again with `kit flash BOARD LAB --force`",
            )
        if client.info.sha256 != expected_sha256:
            raise DeviceError(
                f"handshake failed: the board runs a model with sha256 {client.info.sha256 or '(none)'}, "
                f"expected {expected_sha256}",
                hint="rebuild and flash again with `kit flash BOARD LAB --force`",
            )
        return dict(client.info.fields)


def input_folder(board: str) -> Path:
    """Where inputs for an emulator on this machine are written (kit-load-file reads them):
    one folder per board, one file rewritten per load, so nothing piles up."""
    from kit.paths import cache_dir, make_dir

    return make_dir(cache_dir("inputs") / board, "input folder", "check that KIT_HOME is writable")
