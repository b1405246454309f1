"""A line-oriented byte link to a device, independent of what carries the bytes.

Boards talk in short text lines. Whatever the transport (USB serial, a QEMU TCP serial
port, a pty, an SSH channel), the host needs the same three things: send bytes, get the next
complete line within a deadline, and a useful message when the line never comes. Real
links deliver garbage (boot noise, bytes >= 0x80, lines cut by a reset), so decoding never
fails and a timeout names the last line that did arrive.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import deque
from typing import Callable

from kit.errors import DeviceError

# A line longer than this is not a protocol line: it is noise (or a device printing without
# newlines). Cut it so a chatty device cannot make the host buffer grow without bound.
MAX_LINE_BYTES = 4096


class LinkTimeout(DeviceError):
    """No complete line arrived before the deadline."""


class LinkClosed(DeviceError):
    """The other end went away (emulator killed, board unplugged, connection closed)."""


class Link(ABC):
    """A byte stream to a device with line reads. Subclasses supply raw reads and writes."""

    def __init__(self, description: str) -> None:
        self.description = description
        self.last_line: str | None = None
        self._pending = bytearray()
        self._lines: deque[str] = deque()
        self._closed = False
        # Binary frames (kit-capture): after a line `_binary_after` accepts, bytes stay raw in
        # `_pending` (read_bytes) until text_mode() splits lines again.
        self._binary_after: Callable[[str], bool] | None = None
        self._binary = False

    # --- what a transport implements -------------------------------------------------
    @abstractmethod
    def _read_some(self, timeout: float) -> bytes:
        """Up to a few KB that are available within `timeout` s; b"" when none arrived.
        Raise LinkClosed when the other end is gone."""

    @abstractmethod
    def _write_all(self, data: bytes) -> None:
        """Send every byte of `data` (raise LinkClosed when the other end is gone)."""

    @abstractmethod
    def _close_transport(self) -> None:
        """Release the port, socket or streams."""

    # --- the interface every caller uses -----------------------------------------------
    def write(self, data: bytes | str) -> None:
        """Send bytes (a str is sent as ASCII)."""
        if isinstance(data, str):
            data = data.encode("ascii", errors="replace")
        self._write_all(data)

    def read_line(self, timeout: float) -> str:
        """The next complete line (no newline, no \\r), or LinkTimeout naming the last line."""
        deadline = time.monotonic() + timeout
        while not self._lines:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._timeout_error(timeout)
            self._feed(self._read_some(min(remaining, 0.2)))
        line = self._lines.popleft()
        self.last_line = line
        return line

    def binary_after(self, accept: Callable[[str], bool]) -> None:
        """After the next line `accept` returns True for, keep the bytes that follow raw
        (binary frames) for read_bytes, until text_mode(). Call it before sending the command."""
        self._binary_after = accept  # set before the command is sent: no queued line can match yet

    def read_bytes(self, count: int, timeout: float) -> bytes:
        """Exactly `count` raw bytes (binary mode), or LinkTimeout."""
        deadline = time.monotonic() + timeout
        while len(self._pending) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LinkTimeout(f"{self.description} sent {len(self._pending)} of {count} bytes of a binary "
                                  f"frame within {timeout:g} s",
                                  hint="the link stalled or dropped; check the cable or the emulator and run again")
            self._feed(self._read_some(min(remaining, 0.2)))
        data = bytes(self._pending[:count])
        del self._pending[:count]
        return data

    def read_raw(self, timeout: float) -> bytes:
        """Whatever bytes arrive within `timeout` s, unsplit (b"" when none): for byte
        protocols such as XMODEM. Bytes not yet split into a line come first; lines already
        split (text the caller has read past) are dropped."""
        self._lines.clear()
        if self._pending:
            data = bytes(self._pending)
            self._pending.clear()
            return data
        return self._read_some(timeout)

    def text_mode(self) -> None:
        """Back to lines: whatever raw bytes wait are split into lines again."""
        self._binary, self._binary_after = False, None
        self._feed(b"")

    def drain(self, quiet: float = 0.05) -> list[str]:
        """Discard whatever the device already sent (e.g. boot lines) and return it."""
        dropped = list(self._lines)
        self._lines.clear()
        while True:
            chunk = self._read_some(quiet)
            if not chunk:
                break
            self._feed(chunk)
            dropped.extend(self._lines)
            self._lines.clear()
        if self._pending:
            dropped.append(_decode(bytes(self._pending)))
            self._pending.clear()
        return dropped

    def close(self) -> None:
        """Release the transport; safe to call twice."""
        if not self._closed:
            self._closed = True
            self._close_transport()

    def __enter__(self) -> "Link":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- helpers --------------------------------------------------------------------------
    def _feed(self, chunk: bytes) -> None:
        """Split received bytes into lines; a line longer than MAX_LINE_BYTES is cut into pieces."""
        self._pending.extend(chunk)
        while not self._binary:
            newline = self._pending.find(b"\n", 0, MAX_LINE_BYTES + 1)
            if newline >= 0:
                raw = bytes(self._pending[:newline])
                del self._pending[: newline + 1]
            elif len(self._pending) > MAX_LINE_BYTES:
                raw = bytes(self._pending[:MAX_LINE_BYTES])
                del self._pending[:MAX_LINE_BYTES]
            else:
                break
            self._lines.append(_decode(raw))
            if self._binary_after is not None and self._binary_after(self._lines[-1]):
                self._binary, self._binary_after = True, None

    def _timeout_error(self, timeout: float) -> LinkTimeout:
        last = "nothing at all" if self.last_line is None else repr(_shorten(self.last_line))
        unfinished = _shorten(_decode(bytes(self._pending)))
        partial = f" (then an unfinished line {unfinished!r})" if self._pending else ""
        return LinkTimeout(
            f"no reply from {self.description} within {timeout:g} s; last line received: {last}{partial}",
            hint="check that the board is powered, flashed with kit firmware and on this port "
            "(for emulated boards: `kit stop` then `kit flash` again)",
        )


def _decode(raw: bytes) -> str:
    """Bytes of one line to text; never fails (noise becomes U+FFFD), CR and NULs dropped."""
    return raw.replace(b"\r", b"").replace(b"\x00", b"").decode("ascii", errors="replace")


def _shorten(text: str, limit: int = 160) -> str:
    """Keep error messages readable when the offending line is noise kilobytes long."""
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"
