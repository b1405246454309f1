"""The board, lab and kit catalogs: TOML data files validated by pydantic models.

    from kit.catalog import get_board
    board = get_board("nicla-vision")
    board.memory_limits()          # what a model must fit in
    twin_of(board)                 # the QEMU board that stands in for it

Unknown names raise CatalogError listing the known names.
"""

from __future__ import annotations

from kit.catalog.loader import Catalog
from kit.catalog.models import (
    Board,
    Emulator,
    EsptoolSettings,
    Kit,
    KitPart,
    Lab,
    MemoryLimits,
    Npu,
    PlatformIO,
    Sensor,
    Support,
    Toolchain,
    Upload,
    UsbId,
)
from kit.errors import CatalogError

default_catalog = Catalog()


def get_board(name: str) -> Board:
    """The board `boards/<name>.toml`."""
    return default_catalog.get_board(name)


def list_boards() -> list[Board]:
    """Every board, sorted by name."""
    return default_catalog.list_boards()


def get_lab(name: str) -> Lab:
    """The lab `labs/<name>/lab.toml`."""
    return default_catalog.get_lab(name)


def list_labs() -> list[Lab]:
    """Every lab, sorted by name."""
    return default_catalog.list_labs()


def get_kit(name: str) -> Kit:
    """The kit `kits/<name>.toml` (its board and labs are checked to exist)."""
    return default_catalog.get_kit(name)


def list_kits() -> list[Kit]:
    """Every kit, sorted by name."""
    return default_catalog.list_kits()


def twin_of(board: Board | str) -> Board:
    """The emulated board that stands in for `board` (itself if already emulated)."""
    resolved = get_board(board) if isinstance(board, str) else board
    return default_catalog.twin_of(resolved)


def emulation_limits(board: Board | str) -> MemoryLimits:
    """Flash/RAM limits for running `board` on its emulated twin (the real board's limits)."""
    resolved = get_board(board) if isinstance(board, str) else board
    return default_catalog.emulation_limits(resolved)


__all__ = [
    "Board", "Catalog", "CatalogError", "Emulator", "EsptoolSettings", "Kit", "KitPart", "Lab",
    "MemoryLimits", "Npu", "PlatformIO", "Sensor", "Support", "Toolchain", "Upload", "UsbId",
    "default_catalog", "emulation_limits", "get_board", "get_kit", "get_lab", "list_boards", "list_kits",
    "list_labs", "twin_of",
]
