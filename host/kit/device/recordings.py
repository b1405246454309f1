"""Recordings between the host's file formats and a sensor's raw stream.

Host -> twin: a WAV / CSV / image folder becomes the raw recording a virtual sensor reads
(int16 little-endian mono PCM, float32 [samples][channels], uint8 frames one after another).
Board -> host: the raw samples of `kit capture` become the class-folder files `kit train
--source` reads (WAV 16-bit mono, CSV with a time column and the lab's axes, PNG).
"""

from __future__ import annotations

import csv
import io
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kit.data.user import read_csv_signal
from kit.errors import DataError

IMU_AXES = ["ax", "ay", "az", "gx", "gy", "gz", "mx", "my", "mz"]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
SUFFIX = {"microphone": ".wav", "imu": ".csv", "camera": ".png"}


@dataclass(frozen=True)
class SensorShape:
    """The sensor format both sides agree on (kit-capture's options)."""

    sensor: str          # microphone | imu | camera
    rate_hz: int         # samples (camera: frames) a second
    channels: int = 1
    width: int = 0
    height: int = 0

    @property
    def sample_bytes(self) -> int:
        if self.sensor == "microphone":
            return 2 * self.channels
        if self.sensor == "imu":
            return 4 * self.channels
        return self.width * self.height * self.channels


# ----------------------------------------------------------------------------- host -> twin

def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """(int16 mono samples, rate) of a 16-bit PCM WAV (the first channel of a stereo one)."""
    try:
        with wave.open(str(path), "rb") as handle:
            width, channels, rate = handle.getsampwidth(), handle.getnchannels(), handle.getframerate()
            frames = handle.readframes(handle.getnframes())
    except (OSError, EOFError, wave.Error) as error:
        raise DataError(f"cannot read WAV {path}: {error}", hint="save it as 16-bit PCM WAV") from None
    if width != 2:
        raise DataError(f"{path} has {8 * width}-bit samples; kit reads 16-bit PCM WAV",
                        hint="convert it, e.g. `sox IN.wav -b 16 OUT.wav`")
    return np.frombuffer(frames, "<i2").reshape(-1, channels)[:, 0].copy(), rate


def _files(source: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in suffixes)
        if not files:
            raise DataError(f"{source} holds no {'/'.join(suffixes)} files", hint="point --source at the recordings")
        return files
    if not source.is_file():
        raise DataError(f"recording not found: {source}", hint="check the --source path")
    return [source]


def raw_recording(source: Path, shape: SensorShape, axes: list[str] | None = None) -> bytes:
    """The raw stream a virtual sensor replays, from a file or a folder (files in name order)."""
    source = Path(source)
    if shape.sensor == "microphone":
        parts = []
        for path in _files(source, (".wav",)):
            samples, rate = read_wav(path)
            if rate != shape.rate_hz:
                raise DataError(f"{path} is recorded at {rate} Hz, the microphone runs at {shape.rate_hz} Hz",
                                hint=f"resample it, e.g. `sox IN.wav -r {shape.rate_hz} OUT.wav`")
            parts.append(samples.astype("<i2").tobytes())
        return b"".join(parts)
    if shape.sensor == "imu":
        names = (axes or IMU_AXES)[: shape.channels]
        return b"".join(read_csv_signal(path, names).astype("<f4").tobytes() for path in _files(source, (".csv",)))
    return b"".join(image_frame(path, shape).tobytes() for path in _files(source, IMAGE_SUFFIXES))


def image_frame(path: Path, shape: SensorShape) -> np.ndarray:
    """One camera frame [height][width][channels] uint8 (resized, gray or RGB)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            converted = image.convert("L" if shape.channels == 1 else "RGB").resize((shape.width, shape.height))
            return np.asarray(converted, np.uint8).reshape(shape.height, shape.width, shape.channels)
    except (OSError, UnidentifiedImageError) as error:
        raise DataError(f"cannot read image {path}: {error}", hint="use PNG or JPEG files") from None


# ----------------------------------------------------------------------------- board -> host

def encode_clip(raw: bytes, shape: SensorShape, axes: list[str] | None = None) -> bytes:
    """The file bytes of one clip of raw samples (WAV, CSV or PNG)."""
    if shape.sensor == "microphone":
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(shape.rate_hz)
            handle.writeframes(raw)
        return buffer.getvalue()
    if shape.sensor == "imu":
        values = np.frombuffer(raw, "<f4").reshape(-1, shape.channels)
        names = (axes or IMU_AXES)[: shape.channels]
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["time", *names])
        for index, row in enumerate(values):
            writer.writerow([f"{index / shape.rate_hz:.6f}", *(repr(float(v)) for v in row)])
        return text.getvalue().encode("ascii")
    from PIL import Image

    pixels = np.frombuffer(raw, np.uint8).reshape(shape.height, shape.width, shape.channels)
    image = Image.fromarray(pixels[:, :, 0] if shape.channels == 1 else pixels, "L" if shape.channels == 1 else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


__all__ = ["IMAGE_SUFFIXES", "IMU_AXES", "SUFFIX", "SensorShape", "encode_clip", "image_frame", "raw_recording",
           "read_wav"]
