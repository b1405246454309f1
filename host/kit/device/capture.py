"""`kit capture`: record a running board's sensor into the class-folder layout `kit train
--source` reads (DIR/LABEL/<name>-<n>.wav|csv|png).

Each clip is written whole (temp file + rename) the moment its last sample arrives, so an
interrupted capture (Ctrl-C, a link that drops, a full disk) keeps every complete file and
says how far it got. Samples the board's driver had to drop (the link or the board too slow
for the sensor) and frames lost on the link stop the capture with the rate reached: a clip
with a hole in it is never written.
"""

from __future__ import annotations

import errno
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from kit.catalog.models import Lab
from kit.device.recordings import SUFFIX, SensorShape, encode_clip, raw_recording
from kit.errors import DeviceError, KitError
from kit.link.base import LinkClosed, LinkTimeout
from kit.protocol.mlperf import ProtocolError
from kit.protocol.sensing import CaptureFormat, Frame, capture_command, stream_capture

DEFAULT_RATE = {"microphone": 16000, "imu": 100, "camera": 5}
DEFAULT_CLIP_SECONDS = {"microphone": 1.0, "imu": 10.0}
DEFAULT_FRAME = (96, 96, 1)  # width, height, channels
FRAME_TIMEOUT_S = 10.0
WriteFile = Callable[[Path, bytes], None]


class CaptureStopped(DeviceError):
    """The capture ended early; `files` are the complete files it kept."""

    def __init__(self, message: str, hint: str, files: list[Path]) -> None:
        super().__init__(message, hint=hint)
        self.files = files


@dataclass
class CaptureSummary:
    files: list[Path]
    samples: int            # samples (camera: frames) received
    dropped: int            # samples the board's driver dropped
    lost_frames: int
    crc_failures: int
    elapsed_us: int         # the board's time from start to end
    wall_s: float
    shape: SensorShape
    status: str = "done"
    previews: list[str] = field(default_factory=list)


def atomic_write(path: Path, data: bytes) -> None:
    """Write `path` whole or not at all (a temp file beside it, then a rename)."""
    temporary = path.with_name(f".{path.name}.part")
    try:
        with temporary.open("wb") as handle:
            handle.write(data)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, path)


def shape_for(sensor: str, lab: Lab | None, rate: int | None) -> SensorShape:
    """The format to ask for: --rate, else the lab's, else the sensor's usual one."""
    dataset = lab.dataset.model_dump() if lab is not None else {}
    if sensor == "camera":
        width, height, channels = DEFAULT_FRAME
        if lab is not None and len(lab.io.input_shape) == 4:
            height, width, channels = (int(v) for v in lab.io.input_shape[1:])
        return SensorShape("camera", rate or DEFAULT_RATE["camera"], channels, width, height)
    lab_rate = int(dataset.get("sample_rate_hz") or 0)
    channels = len(dataset.get("axes") or ["ax", "ay", "az"]) if sensor == "imu" else 1
    return SensorShape(sensor, rate or lab_rate or DEFAULT_RATE[sensor], channels)


def next_index(folder: Path, name: str, suffix: str) -> int:
    """1 + the highest <name>-<n> already in `folder` (a new capture never overwrites)."""
    pattern = re.compile(rf"^{re.escape(name)}-([0-9]+){re.escape(suffix)}$")
    found = [int(m.group(1)) for m in (pattern.match(p.name) for p in folder.glob(f"{name}-*{suffix}")) if m]
    return max(found, default=0) + 1


class ClipWriter:
    """Cuts the stream into clips and writes each one when it is complete."""

    def __init__(self, folder: Path, name: str, shape: SensorShape, clip_samples: int, axes: list[str] | None,
                 write_file: WriteFile) -> None:
        self.folder, self.name, self.shape, self.axes = folder, name, shape, axes
        self.clip_bytes = clip_samples * shape.sample_bytes
        self.write_file = write_file
        self.buffer = bytearray()
        self.files: list[Path] = []
        self.index = next_index(folder, name, SUFFIX[shape.sensor])

    def add(self, payload: bytes) -> None:
        self.buffer += payload
        while len(self.buffer) >= self.clip_bytes:
            clip, self.buffer = bytes(self.buffer[: self.clip_bytes]), self.buffer[self.clip_bytes:]
            self._write(clip)

    def finish(self) -> None:
        """A last, shorter clip of whole samples (a capture that ended early still keeps it)."""
        whole = len(self.buffer) // self.shape.sample_bytes * self.shape.sample_bytes
        if whole and self.shape.sensor != "camera":
            self._write(bytes(self.buffer[:whole]))
        self.buffer.clear()

    def _write(self, clip: bytes) -> None:
        path = self.folder / f"{self.name}-{self.index}{SUFFIX[self.shape.sensor]}"
        try:
            self.write_file(path, encode_clip(clip, self.shape, self.axes))
        except OSError as error:
            full = error.errno in (errno.ENOSPC, errno.EDQUOT)
            raise CaptureStopped(
                f"{'the disk is full' if full else 'cannot write'} ({error.strerror or error}) while writing {path}; "
                f"{len(self.files)} complete file(s) kept in {self.folder}",
                hint="free some space (or choose another --out) and capture the rest" if full else
                "check that --out is a writable folder", files=list(self.files)) from None
        self.files.append(path)
        self.index += 1


def preview_text(shape: SensorShape, payload: bytes) -> str:
    """A one-line look at what arrives: level (audio), last values (IMU), frame size (camera)."""
    if shape.sensor == "microphone":
        samples = np.frombuffer(payload, "<i2").astype(np.float64)
        rms = float(np.sqrt(np.mean(samples ** 2))) if samples.size else 0.0
        level = 20 * np.log10(max(rms, 1.0) / 32768.0)
        bars = int(max(0.0, 60 + level) / 3)
        return f"level {level:6.1f} dBFS " + "#" * bars
    if shape.sensor == "imu":
        last = np.frombuffer(payload, "<f4").reshape(-1, shape.channels)[-1]
        return "sample " + " ".join(f"{v:+.3f}" for v in last)
    return f"frame {shape.width}x{shape.height}x{shape.channels} ({shape.sample_bytes} bytes)"


@dataclass
class _Progress:
    received: int = 0       # stream bytes
    dropped: int = 0
    started: float = field(default_factory=time.monotonic)


def capture(session, sensor: str, label: str, out_dir: Path, count: int, shape: SensorShape,
            source: Path | None = None, clip_samples: int | None = None, name: str | None = None,
            axes: list[str] | None = None, on_progress: Callable[[int, int, str | None], None] | None = None,
            write_file: WriteFile = atomic_write) -> CaptureSummary:
    """Capture `count` samples (camera: frames) of `sensor` from the board of `session` into
    out_dir/label. `on_progress(done, count, preview)` follows each frame."""
    client = session.client
    if client.info is None:
        raise DeviceError("this board runs MLPerf Tiny firmware without kit's sensor commands",
                          hint="flash it with kit: `kit flash BOARD LAB`")
    board_source = _board_source(session, sensor, shape, source, axes)
    folder = Path(out_dir) / label
    folder.mkdir(parents=True, exist_ok=True)
    clip = clip_samples or (1 if sensor == "camera" else max(1, int(round(DEFAULT_CLIP_SECONDS[sensor] * shape.rate_hz))))
    writer = ClipWriter(folder, name or label, shape, clip, axes, write_file)
    progress = _Progress()
    options = {"rate": shape.rate_hz, "channels": shape.channels}
    if sensor == "camera":
        options.update(width=shape.width, height=shape.height)
    command = capture_command(sensor, count, board_source, options)

    def on_start(fmt: CaptureFormat) -> None:
        if fmt.sample_bytes != shape.sample_bytes or fmt.rate_hz != shape.rate_hz:
            raise ProtocolError(f"the board streams {fmt.sample_bytes}-byte samples at {fmt.rate_hz} Hz, "
                                f"kit asked for {shape.sample_bytes} at {shape.rate_hz}", hint="flash the board again")

    def on_frame(frame: Frame) -> None:
        if frame.dropped > 0:
            raise _too_slow(shape, progress.received // shape.sample_bytes, frame.dropped, writer.files)
        progress.received = frame.offset + len(frame.payload)
        writer.add(frame.payload)
        if on_progress is not None:
            on_progress(progress.received // shape.sample_bytes, count, preview_text(shape, frame.payload))

    deadline = 30.0 + 3.0 * count / shape.rate_hz
    try:
        result = stream_capture(client.link, command, on_start, on_frame, FRAME_TIMEOUT_S, deadline)
    except KeyboardInterrupt:
        _cancel(client)
        raise CaptureStopped(_how_far("interrupted", writer, progress, count, shape), files=list(writer.files),
                             hint="run `kit capture` again for the rest (new files continue the numbering)") from None
    except CaptureStopped:
        _cancel(client)
        raise
    except (LinkClosed, LinkTimeout) as error:
        raise CaptureStopped(_how_far(f"the link dropped ({error.message})", writer, progress, count, shape),
                             files=list(writer.files),
                             hint="reconnect the board (twins: `kit flash ... --emulate` again) and capture the rest") from None
    except ProtocolError as error:
        _explain_refusal(error, session)
        raise
    if not result.stats.clean:
        raise CaptureStopped(
            f"{result.stats.lost_frames} frame(s) lost and {result.stats.crc_failures} corrupted on the link "
            f"({result.stats.missing_bytes} bytes missing); the clips with holes were not written, "
            f"{len(writer.files)} complete file(s) kept", files=list(writer.files),
            hint="check the cable / USB hub and capture again")
    end = result.end
    assert end is not None
    if end.dropped:
        raise _too_slow(shape, end.samples, end.dropped, writer.files)
    writer.finish()
    return CaptureSummary(files=writer.files, samples=end.samples, dropped=end.dropped,
                          lost_frames=result.stats.lost_frames, crc_failures=result.stats.crc_failures,
                          elapsed_us=end.elapsed_us, wall_s=time.monotonic() - progress.started, shape=shape,
                          status=end.status)


def _board_source(session, sensor: str, shape: SensorShape, source: Path | None,
                  axes: list[str] | None) -> str | None:
    """The path the twin's virtual sensor reads (the recording converted to raw), or None."""
    folder = session.client.host_file_dir
    if folder is None or session.client.info.fields.get("host_files") != "1":
        if source is not None:
            raise KitError("--source feeds a twin's virtual sensor; a real board records from its own sensor",
                           hint="leave --source out, or capture on the twin (`kit flash BOARD LAB --emulate`)")
        return None
    if source is None:
        raise KitError(f"the twin's {sensor} is virtual: it needs a recording to play",
                       hint="pass --source FILE (WAV for a microphone, CSV for an IMU, an image folder for a camera)")
    data = raw_recording(Path(source), shape, axes)
    if not data:
        raise KitError(f"the recording {source} holds no samples", hint="pass a longer recording")
    path = recordings_folder(Path(folder)) / f"capture-{sensor}.raw"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


def recordings_folder(input_folder: Path) -> Path:
    """Where the recordings a twin's virtual sensors play go: beside the board's input folder
    ($KIT_HOME/cache/recordings/<board>), which holds only kit-load-file's input.bin."""
    return input_folder.parent.parent / "recordings" / input_folder.name


def _too_slow(shape: SensorShape, received: int, dropped: int, files: list[Path]) -> CaptureStopped:
    reached = shape.rate_hz * received / max(1, received + dropped)
    unit = "frames" if shape.sensor == "camera" else "samples"
    return CaptureStopped(
        f"the link (or the board) is too slow for the {shape.sensor} at {shape.rate_hz} {unit}/s: it carried "
        f"about {reached:,.0f} {unit}/s and the board's driver dropped {dropped} {unit}; "
        f"{len(files)} complete file(s) kept",
        hint="capture at a lower --rate, use a faster link (USB CDC instead of a 115200-baud UART), or fewer channels",
        files=list(files))


def _how_far(what: str, writer: ClipWriter, progress: _Progress, count: int, shape: SensorShape) -> str:
    done = progress.received // shape.sample_bytes
    return (f"capture {what} after {done} of {count} {'frames' if shape.sensor == 'camera' else 'samples'}: "
            f"{len(writer.files)} complete file(s) kept in {writer.folder}")


def _cancel(client) -> None:
    """Stop the board's stream (kit-cancel) and discard what it still sends."""
    try:
        client.link.write("kit-cancel%")
        client.link.drain(quiet=0.5)
    except (LinkClosed, LinkTimeout, OSError):
        pass


def _explain_refusal(error: ProtocolError, session) -> None:
    """A sensor the board lacks: name the board (its message names the sensors it has)."""
    if "has no" in error.message:
        board = session.board.name if session.board is not None else "the board"
        error.hint = f"{board} cannot record this sensor; pick one it has (--sensor)"


__all__ = ["CaptureStopped", "CaptureSummary", "ClipWriter", "DEFAULT_CLIP_SECONDS", "atomic_write", "capture",
           "next_index", "preview_text", "recordings_folder", "shape_for"]
