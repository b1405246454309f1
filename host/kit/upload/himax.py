"""Burning files into a Himax WiseEye2 board's flash (the Grove Vision AI V2) through its
second-stage bootloader, as Himax's xmodem_send.py and the Edge Impulse Himax flasher do.

The dialog (texts and key from the board file's `[upload.xmodem]`): reset the board (kit
sends SSCMA's `AT+RST`; the user may press RESET), press a key while the bootloader offers
`enter_prompt` (it waits only ~100 ms), press `burn_key` at the menu, and the bootloader
prints `send_prompt` and receives one XMODEM file. After each file it asks `end_prompt`:
`n` receives another file, `y` reboots into the application. A file's destination is set
by a one-block preamble sent just before it: C0 5A, the flash address (little-endian
32-bit), an offset (the same), 5A C0, padded with 0xFF to the block size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from kit.catalog.models import XmodemBootloader
from kit.errors import DeviceError
from kit.link.base import Link
from kit.upload.xmodem import BLOCK_BYTES, Sent, XmodemSettings, send

KEY_INTERVAL_S = 0.05     # how often a key is pressed while the bootloader's prompt is awaited
TEXT_TAIL = 8192          # bootloader text kept to search for a prompt


@dataclass(frozen=True)
class FlashFile:
    address: int
    data: bytes
    name: str


@dataclass(frozen=True)
class Timeouts:
    reset: float = 30.0       # until the bootloader's upload mode is reached
    prompt: float = 20.0      # for each end-of-file prompt
    reboot: float = 20.0      # until the rebooted board's bootloader prompt has passed
    block: float = 10.0       # for one XMODEM block's answer
    transfer: float = 900.0   # for one whole file


def preamble(address: int, offset: int, block_bytes: int) -> bytes:
    """The block that tells the bootloader where the next file goes."""
    if not 0 <= address < 2**32 or not 0 <= offset < 2**32:
        raise ValueError("flash address and offset are 32-bit")
    head = bytes([0xC0, 0x5A]) + address.to_bytes(4, "little") + offset.to_bytes(4, "little") + bytes([0x5A, 0xC0])
    return head + bytes([0xFF]) * (block_bytes - len(head))


class _Text:
    """The bootloader's bytes as they arrive: prompts are searched in them, and whatever
    follows a prompt (the receiver's first `C`) stays for the XMODEM sender, which reads
    through this object and hands back what it read past its transfer (`unread`)."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.raw = bytearray()

    def write(self, data: bytes) -> None:
        self.link.write(data)

    def read_raw(self, timeout: float) -> bytes:
        if self.raw:
            data = bytes(self.raw)
            self.raw.clear()
            return data
        return self.link.read_raw(timeout)

    def unread(self, data: bytes) -> None:
        self.raw[:0] = data

    def wait_for(self, needle: str, until: float, what: str, hint: str, key: str | None = None) -> None:
        wanted = needle.encode("ascii")
        next_key = 0.0
        while wanted not in self.raw:
            now = time.monotonic()
            if now > until:
                last = self.raw.decode("ascii", errors="replace").strip().splitlines()[-1:] or ["nothing"]
                raise DeviceError(f"the board's bootloader did not {what} (waited for {needle!r}; last text: "
                                  f"{last[0][:120]!r})", hint=hint)
            if key is not None and now >= next_key:
                self.link.write(key.encode("ascii"))
                next_key = now + KEY_INTERVAL_S
            self.raw.extend(self.link.read_raw(min(0.05, max(until - now, 0.001))))
            del self.raw[:-TEXT_TAIL]
        del self.raw[:self.raw.index(wanted) + len(wanted)]


def burn(link: Link, boot: XmodemBootloader, files: list[FlashFile], timeouts: Timeouts = Timeouts(),
         log: Callable[[str], None] | None = None, progress: Callable[[str, int, int], None] | None = None,
         reset_command: bytes = b"AT+RST\r") -> list[Sent]:
    """Enter the bootloader's upload mode, send each file behind its preamble, reboot."""
    block = BLOCK_BYTES[boot.protocol]
    settings = XmodemSettings(block_bytes=block, block_timeout=timeouts.block, deadline=timeouts.transfer,
                              start_timeout=timeouts.prompt)
    text = _Text(link)
    link.drain()
    link.write(reset_command)
    if log:
        log("upload: waiting for the Himax bootloader (kit sent AT+RST; press RESET on the board if nothing happens)")
    text.wait_for(boot.send_prompt, time.monotonic() + timeouts.reset, "offer its XMODEM burn",
                  hint="press RESET on the board while kit waits (and check the port and the USB cable)",
                  key=boot.burn_key)
    sent: list[Sent] = []
    for index, item in enumerate(files):
        if index:
            _next_file(link, text, boot, timeouts)
        send(text, preamble(item.address, 0, block), settings, f"the preamble of {item.name}")
        _next_file(link, text, boot, timeouts)
        if log:
            log(f"upload: XMODEM ({boot.protocol}, {block}-byte blocks) {item.name}, {len(item.data):,} bytes "
                f"to flash 0x{item.address:06x}")
        sent.append(send(text, item.data, settings, item.name,
                         progress=(lambda done, total, name=item.name: progress(name, done, total)) if progress else None))
    text.wait_for(boot.end_prompt, time.monotonic() + timeouts.prompt, "ask to reboot after the last file",
                  hint="press RESET on the board; if the model does not show in `kit bench`, flash again")
    link.write(b"y")
    _wait_for_reboot(text, boot, timeouts)
    return sent


def _next_file(link: Link, text: _Text, boot: XmodemBootloader, timeouts: Timeouts) -> None:
    text.wait_for(boot.end_prompt, time.monotonic() + timeouts.prompt, "ask for the next file",
                  hint="press RESET on the board and flash again")
    link.write(b"n")


def _wait_for_reboot(text: _Text, boot: XmodemBootloader, timeouts: Timeouts) -> None:
    """See the rebooted board pass its bootloader prompt WITHOUT pressing a key (a key in
    that window would open the menu again), then leave it time to start its firmware."""
    text.wait_for(boot.enter_prompt, time.monotonic() + timeouts.reboot, "restart after the burn",
                  hint="press RESET on the board; the model was written, `kit flash` can confirm it again")
    time.sleep(max(3 * boot.enter_window_s, 0.3))


__all__ = ["FlashFile", "Timeouts", "burn", "preamble"]
