"""Byte links to devices: one Link interface over serial ports, sockets, ptys and pipes.

`open_link(url)` opens anything pyserial understands (`/dev/ttyACM0`, `socket://host:port`,
`rfc2217://host:port`, a pty path); `StreamLink` wraps any pair of binary streams (an SSH
channel, a subprocess). Port detection lives in `kit.link.ports`.
"""

from __future__ import annotations

from kit.link.base import Link, LinkClosed, LinkTimeout
from kit.link.serial_link import DEFAULT_BAUD, SerialLink
from kit.link.stream_link import StreamLink, spawn


def open_link(url: str, baudrate: int = DEFAULT_BAUD) -> Link:
    """Open a device link from a port name or pyserial URL."""
    return SerialLink(url, baudrate=baudrate)


__all__ = ["Link", "LinkClosed", "LinkTimeout", "SerialLink", "StreamLink", "open_link", "spawn", "DEFAULT_BAUD"]
