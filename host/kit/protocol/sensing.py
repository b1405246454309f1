"""The host side of kit-capture and kit-run (docs/PROTOCOL.md section 3): the capture's binary
frames, checked frame by frame (sequence, stream offset, CRC-32), and the live records of kit-run.

Why binary: a 16 kHz microphone makes 32 KB/s; as hex text that is 64 KB/s plus line overhead,
more than a 115,200-baud UART carries. Frames keep every byte countable: a lost or corrupted
frame is counted from its sequence number and CRC, never silently glued to the next one.
"""

from __future__ import annotations

import re
import struct
import time
import zlib
from dataclasses import dataclass, field
from typing import Callable

from kit.errors import DeviceError
from kit.link.base import Link, LinkTimeout
from kit.protocol.mlperf import ERROR_RE, MAX_COMMAND_CHARS, MAX_U32, ProtocolError, device_number, is_ready

FRAME_MAGIC = b"\xa5K"
# magic, type (KIT_SENSOR_*), flags, sequence, stream offset (bytes), dropped so far, length
FRAME_HEADER = struct.Struct("<2sBBIIIH")
FRAME_CRC_BYTES = 4
MAX_PAYLOAD = 512
MAX_TEXT_LINE = 4096
SENSOR_CODES = {"microphone": 1, "imu": 2, "camera": 3}
SENSOR_ALIASES = {"mic": "microphone", "microphone": "microphone", "imu": "imu", "camera": "camera"}

CAPTURE_RE = re.compile(
    r"^m-kit-capture-\[sensor=(microphone|imu|camera),rate=([0-9]+),channels=([0-9]+),width=([0-9]+),"
    r"height=([0-9]+),sample_bytes=([0-9]+),count=([0-9]+)\]$")
CAPTURE_END_RE = re.compile(
    r"^m-kit-capture-end-\[samples=([0-9]+),dropped=([0-9]+),frames=([0-9]+),bytes=([0-9]+),"
    r"elapsed_us=([0-9]+),status=(done|ended|cancelled|error)\]$")
RUN_START_RE = re.compile(
    r"^m-kit-run-start-\[lab=([^],]+),labels=([0-9]+),window=([0-9]+),stride=([0-9]+),average=([0-9]+),"
    r"timer_hz=([0-9]+)\]$")
LIVE_RE = re.compile(
    r"^m-kit-live-\[n=([0-9]+),label=([0-9]+),feature_ticks=([0-9]+),infer_ticks=([0-9]+),dropped=([0-9]+),"
    r"end=([0-9]+),out=([0-9a-f]*),scores=([-0-9.;]*)(?:,anomaly=([0-9]+\.[0-9]{3}),anomalous=([01]))?"
    r"(?:,objects=([0-9]+),found=([-0-9.:;]*))?\]$")
RUN_END_RE = re.compile(r"^m-kit-run-end-\[windows=([0-9]+),samples=([0-9]+),dropped=([0-9]+),"
                        r"status=(ended|cancelled|error)\]$")


@dataclass(frozen=True)
class CaptureFormat:
    """What the board streams: the m-kit-capture-[...] line."""

    sensor: str
    rate_hz: int
    channels: int
    width: int
    height: int
    sample_bytes: int   # a camera: one frame
    count: int


@dataclass(frozen=True)
class CaptureEnd:
    """The board's totals: the m-kit-capture-end-[...] line."""

    samples: int
    dropped: int
    frames: int
    bytes: int
    elapsed_us: int
    status: str


@dataclass(frozen=True)
class Frame:
    sensor: int
    sequence: int
    offset: int
    dropped: int
    payload: bytes


@dataclass
class FrameStats:
    """What went wrong on the link, counted (frames lost by sequence gaps, CRC failures,
    bytes between frames that were neither a frame nor the end line)."""

    frames: int = 0
    lost_frames: int = 0
    crc_failures: int = 0
    junk_bytes: int = 0
    missing_bytes: int = 0   # stream bytes no good frame carried (from the offsets)

    @property
    def clean(self) -> bool:
        return self.lost_frames == 0 and self.crc_failures == 0 and self.missing_bytes == 0


class FrameReader:
    """Binary frames from `link` (in binary mode) until the capture's text end line."""

    def __init__(self, link: Link, timeout: float) -> None:
        self.link = link
        self.timeout = timeout
        self.stats = FrameStats()
        self.next_sequence = 0
        self.next_offset = 0
        self._held = b""

    def _byte(self) -> bytes:
        if self._held:
            byte, self._held = self._held[:1], self._held[1:]
            return byte
        return self.link.read_bytes(1, self.timeout)

    def _bytes(self, count: int) -> bytes:
        taken, self._held = self._held[:count], self._held[count:]
        return taken + (self.link.read_bytes(count - len(taken), self.timeout) if len(taken) < count else b"")

    def next(self) -> Frame | str:
        """The next good frame, or the text line that ended the stream."""
        while True:
            first = self._byte()
            if first == FRAME_MAGIC[:1]:
                second = self._byte()
                if second == FRAME_MAGIC[1:]:
                    frame = self._frame()
                    if frame is not None:
                        return frame
                    continue
                self.stats.junk_bytes += 1
                self._held = second + self._held
                continue
            if first in (b"m", b"e"):
                line = self._text_line(first)
                if line is not None:
                    return line
                continue
            self.stats.junk_bytes += 1

    def _frame(self) -> Frame | None:
        rest = self._bytes(FRAME_HEADER.size - 2)
        _, sensor, _flags, sequence, offset, dropped, length = FRAME_HEADER.unpack(FRAME_MAGIC + rest)
        if length > MAX_PAYLOAD or sensor not in SENSOR_CODES.values():
            self.stats.crc_failures += 1
            self._held = rest + self._held  # not a frame header: rescan these bytes
            return None
        payload = self._bytes(length)
        crc = struct.unpack("<I", self._bytes(FRAME_CRC_BYTES))[0]
        if crc != zlib.crc32(rest + payload) & 0xFFFFFFFF:
            self.stats.crc_failures += 1
            return None
        if sequence > self.next_sequence:
            self.stats.lost_frames += sequence - self.next_sequence
        if offset > self.next_offset:
            self.stats.missing_bytes += offset - self.next_offset
        self.next_sequence = sequence + 1
        self.next_offset = max(self.next_offset, offset + length)
        self.stats.frames += 1
        return Frame(sensor, sequence, offset, dropped, payload)

    def _text_line(self, first: bytes) -> str | None:
        """A text line starting with `first`: the end line or an error; anything else is junk."""
        raw = bytearray(first)
        while not raw.endswith(b"\n") and len(raw) < MAX_TEXT_LINE:
            raw += self._byte()
        line = raw.replace(b"\r", b"").rstrip(b"\n").decode("ascii", "replace")
        if CAPTURE_END_RE.match(line) or ERROR_RE.match(line) or is_ready(line):
            return line
        self.stats.junk_bytes += len(raw)
        return None


def capture_command(sensor: str, count: int, source: str | None, options: dict[str, int]) -> str:
    """kit-capture SENSOR COUNT [SOURCE|-] [rate=N ...]; checked against the firmware's limits."""
    parts = ["kit-capture", SENSOR_ALIASES[sensor], str(count), source or "-"]
    parts += [f"{key}={value}" for key, value in options.items()]
    text = " ".join(parts)
    if (source and " " in source) or len(text) > MAX_COMMAND_CHARS:
        raise DeviceError(f"the capture command is too long or its recording path has a space: {text[:60]}...",
                          hint="use a shorter path without spaces for the recording")
    return text


def parse_capture_format(line: str) -> CaptureFormat:
    match = CAPTURE_RE.match(line)
    if match is None:
        raise ProtocolError(f"expected the capture's m-kit-capture-[...] line, got {line[:80]!r}",
                            hint="the firmware is older than kit-capture: flash it again")
    sensor, *numbers = match.groups()
    rate, channels, width, height, sample_bytes, count = (
        device_number(value, f"capture {name}", low, high) for value, (name, low, high) in zip(numbers, [
            ("rate", 1, 4_000_000), ("channels", 1, 9), ("width", 0, 4096), ("height", 0, 4096),
            ("sample_bytes", 1, 4096 * 4096 * 3), ("count", 1, MAX_U32)]))
    return CaptureFormat(sensor, rate, channels, width, height, sample_bytes, count)


def parse_capture_end(line: str) -> CaptureEnd:
    match = CAPTURE_END_RE.match(line)
    if match is None:
        raise ProtocolError(f"expected the capture's end line, got {line[:80]!r}",
                            hint="the link garbled the end of the capture; run it again")
    numbers = [device_number(value, "a capture total", 0) for value in match.groups()[:5]]
    return CaptureEnd(*numbers, status=match.group(6))  # type: ignore[arg-type]


@dataclass
class CaptureResult:
    format: CaptureFormat
    end: CaptureEnd | None
    stats: FrameStats = field(default_factory=FrameStats)


def stream_capture(link: Link, command: str, on_start: Callable[[CaptureFormat], None],
                   on_frame: Callable[[Frame], None], frame_timeout: float, deadline_s: float,
                   write: Callable[[str], None] | None = None) -> CaptureResult:
    """Send kit-capture and hand each good frame to `on_frame` as it arrives; returns the totals.
    Refusals (`e-[...]` instead of the start line) raise ProtocolError. `on_frame` may raise
    (Ctrl-C, a full disk): the link is put back into text mode first, the caller cancels."""
    link.binary_after(lambda line: CAPTURE_RE.match(line) is not None)
    try:
        (write or link.write)(command + "%")
        fmt = parse_capture_format(_start_line(link, command, frame_timeout))
        on_start(fmt)
        reader = FrameReader(link, frame_timeout)
        result = CaptureResult(format=fmt, end=None, stats=reader.stats)
        deadline = time.monotonic() + deadline_s
        while True:
            if time.monotonic() > deadline:
                raise LinkTimeout(f"the capture did not end within {deadline_s:.0f} s",
                                  hint="the link is slower than the sensor or stalled; capture fewer seconds")
            item = reader.next()
            if isinstance(item, Frame):
                on_frame(item)
                continue
            if ERROR_RE.match(item):
                raise ProtocolError(f"the board stopped the capture: {ERROR_RE.match(item).group(1)}",  # type: ignore[union-attr]
                                    hint="check the sensor (and on a twin the recording) and run again")
            if is_ready(item):
                raise ProtocolError("the capture ended without its end line", hint="run it again")
            result.end = parse_capture_end(item)
            break
    finally:
        link.text_mode()
    _finish(link, frame_timeout)
    return result


def _start_line(link: Link, command: str, timeout: float) -> str:
    """The m-kit-capture-[...] line, or the board's refusal as a ProtocolError."""
    errors: list[str] = []
    while True:
        line = link.read_line(timeout)
        if CAPTURE_RE.match(line):
            return line
        if ERROR_RE.match(line):
            errors.append(ERROR_RE.match(line).group(1))  # type: ignore[union-attr]
        if is_ready(line) and errors:
            raise ProtocolError(f"the device refused {command.split(' ')[0]!r}: {errors[0]}",
                                hint="see the message: a sensor the board lacks, or a bad option")


def _finish(link: Link, timeout: float) -> None:
    """Read to the capture's m-ready; an e-[...] after the end line raises."""
    while True:
        line = link.read_line(timeout)
        if is_ready(line):
            return
        if ERROR_RE.match(line):
            _skip_to_ready(link, timeout)
            raise ProtocolError(f"the capture failed: {ERROR_RE.match(line).group(1)}",  # type: ignore[union-attr]
                                hint="check the sensor (and on a twin the recording) and run again")


def _skip_to_ready(link: Link, timeout: float) -> None:
    try:
        while not is_ready(link.read_line(timeout)):
            pass
    except LinkTimeout:
        pass


__all__ = ["CAPTURE_END_RE", "CAPTURE_RE", "CaptureEnd", "CaptureFormat", "CaptureResult", "FRAME_HEADER",
           "FRAME_MAGIC", "Frame", "FrameReader", "FrameStats", "LIVE_RE", "RUN_END_RE", "RUN_START_RE",
           "SENSOR_ALIASES", "capture_command", "parse_capture_end", "parse_capture_format", "stream_capture"]
