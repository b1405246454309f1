"""Linker scripts from the board catalog, and the linker's overflow message made readable.

An emulated board built as the twin of a real board gets the REAL board's flash and RAM as
its MEMORY lengths (origins stay where QEMU's machine has memory), so a model that would not
fit the real board fails to link for its twin as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kit.errors import ModelError
from kit.paths import FIRMWARE_DIR

# Stack reserved in RAM for the harness + runtime (the high-water mark is reported by kit-mem).
DEFAULT_STACK_BYTES = 16 * 1024

_OVERFLOW_RE = re.compile(r"region [`']?(FLASH|RAM)'? overflowed by (\d+) bytes?")


@dataclass(frozen=True)
class MemoryLayout:
    """Where code and data live on the emulator and how much of each the board allows."""

    flash_origin: int
    flash_bytes: int
    ram_origin: int
    ram_bytes: int
    stack_bytes: int = DEFAULT_STACK_BYTES
    # Where the core reads its vector table at reset, when that is not the code's origin
    # (QEMU's mps3-an547 boots from ITCM at 0x0; the code runs from its larger DDR).
    vector_origin: int | None = None


VECTOR_TABLE_BYTES = 0x400  # room for the 16 system vectors and up to 240 interrupts


def layout_of(emulator, flash_bytes: int, ram_bytes: int) -> MemoryLayout:
    """The layout of an emulated board's memory map (a catalog `Emulator`) with these limits."""
    return MemoryLayout(flash_origin=emulator.code_origin, flash_bytes=flash_bytes,
                        ram_origin=emulator.ram_origin, ram_bytes=ram_bytes,
                        vector_origin=emulator.vector_origin)


def template_path(hal: str) -> Path:
    return FIRMWARE_DIR / "hal" / hal / "kit_link.ld.in"


def render_linker_script(hal: str, layout: MemoryLayout) -> str:
    """The HAL's linker script template with the layout's numbers filled in."""
    text = template_path(hal).read_text()
    values = {
        "@FLASH_ORIGIN@": f"0x{layout.flash_origin:08x}",
        "@FLASH_LENGTH@": str(layout.flash_bytes),
        "@RAM_ORIGIN@": f"0x{layout.ram_origin:08x}",
        "@RAM_LENGTH@": str(layout.ram_bytes),
        "@STACK_SIZE@": str(layout.stack_bytes),
        "@VECTORS_MEMORY@": _vectors_memory(layout),
        "@VECTORS_REGION@": "FLASH" if layout.vector_origin is None else "VECTORS",
    }
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def _vectors_memory(layout: MemoryLayout) -> str:
    """The MEMORY line of a separate vector-table region (none when vectors lead the code)."""
    if layout.vector_origin is None:
        return ""
    return f"VECTORS (rx) : ORIGIN = 0x{layout.vector_origin:08x}, LENGTH = {VECTOR_TABLE_BYTES}"


def overflows(linker_output: str) -> dict[str, int]:
    """{'FLASH': bytes, 'RAM': bytes} for each region the linker says overflowed."""
    found: dict[str, int] = {}
    for region, amount in _OVERFLOW_RE.findall(linker_output):
        found[region] = max(found.get(region, 0), int(amount))
    return found


def _kb(value: int) -> str:
    return f"{value / 1024:.1f} KB"


def overflow_error(board: str, layout: MemoryLayout, regions: dict[str, int],
                   flash_used: int | None = None, ram_used: int | None = None) -> ModelError:
    """The KitError for a firmware that does not fit `board`: what it needs, what it has.

    Needed sizes come from the linker's overflow amounts (limit + overflow); a region that
    did not overflow is shown with its measured use when known."""
    flash_need = layout.flash_bytes + regions["FLASH"] if "FLASH" in regions else flash_used
    ram_need = layout.ram_bytes + regions["RAM"] if "RAM" in regions else ram_used
    flash_text = _kb(flash_need) if flash_need is not None else f"<= {_kb(layout.flash_bytes)}"
    ram_text = _kb(ram_need) if ram_need is not None else f"<= {_kb(layout.ram_bytes)}"
    over = " and ".join(f"{region} by {_kb(amount)}" for region, amount in sorted(regions.items()))
    return ModelError(
        f"model needs {flash_text} flash / {ram_text} RAM (firmware included), board {board} has "
        f"{_kb(layout.flash_bytes)} flash / {_kb(layout.ram_bytes)} RAM: too big ({over})",
        hint="choose a smaller model (fewer or narrower layers, smaller input) or a board with "
        "more memory; `kit boards` lists each board's flash and RAM",
    )
