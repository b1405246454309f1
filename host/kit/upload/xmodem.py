"""kit's XMODEM sender (the original 128-byte XMODEM and XMODEM-1K), for bootloaders that
take a file over a serial port (the Himax WiseEye2 bootloader of the Grove Vision AI V2).

The receiver chooses the check: it asks for each transfer with `C` (CRC-16/XMODEM, two
bytes, big-endian) or NAK (an 8-bit sum). A block is SOH (128 bytes) or STX (1024 bytes),
the block number, its complement, the data padded with 0x1A, then the check. Each block is
sent until the receiver ACKs it, at most `retries` times, each wait bounded by
`block_timeout`; two CANs from the receiver cancel the transfer; the whole transfer has an
overall deadline. On any failure kit sends three CANs (so the receiver stops waiting) and
raises, naming the block, so nothing is ever reported as written that was not ACKed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Protocol

from kit.errors import DeviceError

SOH, STX, EOT, ACK, NAK, CAN, CRC_START = 0x01, 0x02, 0x04, 0x06, 0x15, 0x18, ord("C")
PAD = 0x1A
BLOCK_BYTES = {"xmodem": 128, "xmodem1k": 1024}


class ByteChannel(Protocol):
    def write(self, data: bytes) -> None: ...

    def read_raw(self, timeout: float) -> bytes: ...


class XmodemError(DeviceError):
    """The transfer did not complete: `acked_bytes` is what the receiver confirmed."""

    def __init__(self, message: str, hint: str, acked_bytes: int) -> None:
        super().__init__(message, hint=hint)
        self.acked_bytes = acked_bytes


@dataclass(frozen=True)
class XmodemSettings:
    block_bytes: int = 128
    retries: int = 10             # sends of one block before giving up
    block_timeout: float = 10.0   # seconds to wait for one block's ACK/NAK
    start_timeout: float = 60.0   # seconds to wait for the receiver's first C / NAK
    deadline: float = 600.0       # seconds for the whole transfer


@dataclass(frozen=True)
class Sent:
    bytes_sent: int
    blocks: int
    resends: int
    crc: bool


def crc16_xmodem(data: bytes) -> int:
    """CRC-16/XMODEM: polynomial 0x1021, initial value 0, no reflection."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def packet(number: int, data: bytes, block_bytes: int, crc: bool) -> bytes:
    """One block: header, number, complement, padded data, CRC-16 or 8-bit sum."""
    if len(data) > block_bytes:
        raise ValueError("block data longer than the block")
    payload = data + bytes([PAD]) * (block_bytes - len(data))
    head = bytes([STX if block_bytes == 1024 else SOH, number & 0xFF, 0xFF - (number & 0xFF)])
    check = crc16_xmodem(payload).to_bytes(2, "big") if crc else bytes([sum(payload) & 0xFF])
    return head + payload + check


class _Reader:
    """One byte at a time from the channel, each read bounded by a deadline."""

    def __init__(self, channel: ByteChannel) -> None:
        self.channel = channel
        self.buffer = bytearray()

    def byte(self, until: float) -> int | None:
        while not self.buffer:
            remaining = until - time.monotonic()
            if remaining <= 0:
                return None
            self.buffer.extend(self.channel.read_raw(min(remaining, 0.2)))
        return self.buffer.pop(0)


def send(channel: ByteChannel, data: bytes, settings: XmodemSettings, what: str,
         progress: Callable[[int, int], None] | None = None) -> Sent:
    """Send `data` to a waiting XMODEM receiver; `progress(acked_bytes, total)` per block."""
    if settings.block_bytes not in (128, 1024):
        raise ValueError("XMODEM blocks are 128 or 1024 bytes")
    started = time.monotonic()
    overall = started + settings.deadline
    reader = _Reader(channel)
    crc = _await_start(reader, min(overall, started + settings.start_timeout), what)
    size = settings.block_bytes
    blocks = (len(data) + size - 1) // size or 1
    resends = 0
    for index in range(blocks):
        chunk = data[index * size:(index + 1) * size]
        resends += _send_block(channel, reader, packet(index + 1, chunk, size, crc), index, blocks, settings,
                               overall, what, acked=index * size)
        if progress is not None:
            progress(min((index + 1) * size, len(data)), len(data))
    _send_eot(channel, reader, settings, overall, what, len(data))
    if reader.buffer and hasattr(channel, "unread"):
        channel.unread(bytes(reader.buffer))  # the receiver's text after the transfer
    return Sent(bytes_sent=len(data), blocks=blocks, resends=resends, crc=crc)


def _await_start(reader: _Reader, until: float, what: str) -> bool:
    """The receiver's request: True for CRC-16 (`C`), False for the 8-bit sum (NAK)."""
    while True:
        byte = reader.byte(until)
        if byte is None:
            raise XmodemError(f"the XMODEM receiver never asked for {what} (no C or NAK within the deadline)",
                              hint="is the board in its bootloader's upload mode? press RESET and run again", acked_bytes=0)
        if byte == CRC_START:
            return True
        if byte == NAK:
            return False
        if byte == CAN and reader.byte(time.monotonic() + 1.0) == CAN:
            raise XmodemError(f"the receiver cancelled the XMODEM transfer of {what} before it began",
                              hint="press RESET on the board and run again", acked_bytes=0)
        # anything else is the bootloader's own text: keep waiting


def _send_block(channel: ByteChannel, reader: _Reader, frame: bytes, index: int, blocks: int,
                settings: XmodemSettings, overall: float, what: str, acked: int) -> int:
    """Send one block until it is ACKed; returns the number of resends."""
    for attempt in range(settings.retries):
        if time.monotonic() > overall:
            break
        channel.write(frame)
        answer = _answer(reader, min(overall, time.monotonic() + settings.block_timeout))
        if answer == ACK:
            return attempt
        if answer == CAN:
            _cancel(channel)
            raise XmodemError(f"the board cancelled the XMODEM transfer of {what} at block {index + 1} of {blocks} "
                              f"({acked:,} bytes confirmed)",
                              hint="the model in the board's flash is incomplete: "
                                   "press RESET and flash again", acked_bytes=acked)
        # NAK, noise or silence: send the block again
    _cancel(channel)
    spent = (f"the overall deadline of {settings.deadline:g} s passed" if time.monotonic() > overall
             else f"{settings.retries} tries of {settings.block_timeout:g} s")
    raise XmodemError(f"the board stopped acknowledging {what} at block {index + 1} of {blocks} "
                      f"({acked:,} bytes confirmed, {spent})",
                      hint="the upload is incomplete: check the cable, press RESET and flash again", acked_bytes=acked)


def _answer(reader: _Reader, until: float) -> int | None:
    """ACK, NAK or CAN (a second CAN confirms it) before `until`; None on silence."""
    while True:
        byte = reader.byte(until)
        if byte is None or byte in (ACK, NAK):
            return byte
        if byte == CAN:
            if reader.byte(min(until, time.monotonic() + 1.0)) == CAN:
                return CAN
            continue


def _send_eot(channel: ByteChannel, reader: _Reader, settings: XmodemSettings, overall: float, what: str,
              total: int) -> None:
    for _ in range(settings.retries):
        channel.write(bytes([EOT]))
        if _answer(reader, min(overall, time.monotonic() + settings.block_timeout)) == ACK:
            return
    _cancel(channel)
    raise XmodemError(f"the board did not acknowledge the end of {what} (all {total:,} bytes were ACKed)",
                      hint="press RESET and flash again", acked_bytes=total)


def _cancel(channel: ByteChannel) -> None:
    try:
        channel.write(bytes([CAN, CAN, CAN]))
    except DeviceError:
        pass


__all__ = ["BLOCK_BYTES", "ByteChannel", "Sent", "XmodemError", "XmodemSettings", "crc16_xmodem", "packet", "send"]
