"""Small audio helpers in plain numpy: WAV decoding, band-limited resampling, level maths."""

from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np

from kit.errors import DataError


def decode_wav_bytes(data: bytes, origin: str) -> tuple[np.ndarray, int]:
    """PCM WAV bytes -> (mono float32 in [-1, 1], sample rate).

    espeak-ng streaming to stdout leaves the RIFF sizes at 0, so the data chunk is located
    by hand and read to the end instead of trusting its length field.
    """
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise DataError(f"{origin} is not a WAV file", hint="use 16-bit PCM .wav files")
    pos, rate, channels, width = 12, 0, 1, 2
    while pos + 8 <= len(data):
        chunk, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        body = pos + 8
        if chunk == b"fmt ":
            fmt = int.from_bytes(data[body:body + 2], "little")
            channels = int.from_bytes(data[body + 2:body + 4], "little")
            rate = int.from_bytes(data[body + 4:body + 8], "little")
            width = int.from_bytes(data[body + 14:body + 16], "little") // 8
            if fmt not in (1, 0xFFFE) or width not in (1, 2, 4):
                raise DataError(f"{origin}: unsupported WAV encoding (format {fmt}, {width * 8} bit)",
                                hint="convert it to 16-bit PCM, e.g. `sox in.wav -b 16 out.wav`")
        elif chunk == b"data":
            end = body + size if 0 < size <= len(data) - body else len(data)
            return _pcm_to_float(data[body:end], width, channels), rate
        pos = body + size + (size & 1)
        if size == 0 and chunk != b"data":
            break
    raise DataError(f"{origin}: WAV file has no audio data", hint="re-record or re-export the file")


def _pcm_to_float(raw: bytes, width: int, channels: int) -> np.ndarray:
    usable = len(raw) - len(raw) % (width * channels)
    if width == 1:
        samples = (np.frombuffer(raw[:usable], np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        samples = np.frombuffer(raw[:usable], "<i2").astype(np.float32) / 32768.0
    else:
        samples = np.frombuffer(raw[:usable], "<i4").astype(np.float32) / 2147483648.0
    return samples.reshape(-1, channels).mean(axis=1).astype(np.float32)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Read a WAV file as mono float32; unreadable files raise DataError naming the file."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror}", hint="check the file exists and is readable") from None
    return decode_wav_bytes(data, str(path))


def write_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    """Write mono float audio as 16-bit PCM (used by previews and tests)."""
    pcm = np.clip(np.asarray(audio) * 32767.0, -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())


def resample(audio: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Band-limited resampling by FFT (exact for a whole utterance, no scipy needed).

    The input is zero-padded so both FFT lengths are (rate ratio) x (power of two): arbitrary
    lengths can have large prime factors, which makes numpy's FFT many times slower.
    """
    if source_rate == target_rate or audio.size == 0:
        return audio.astype(np.float32)
    divisor = math.gcd(source_rate, target_rate)
    down, up = source_rate // divisor, target_rate // divisor
    blocks = 1 << max(0, math.ceil(math.log2(max(1, -(-audio.size // down)))))
    padded_in, padded_out = down * blocks, up * blocks
    spectrum = np.fft.rfft(audio.astype(np.float64), n=padded_in)
    keep = padded_out // 2 + 1
    if keep <= spectrum.size:
        spectrum = spectrum[:keep]
    else:
        spectrum = np.concatenate([spectrum, np.zeros(keep - spectrum.size, spectrum.dtype)])
    out = np.fft.irfft(spectrum, n=padded_out) * (padded_out / padded_in)
    return out[: int(round(audio.size * target_rate / source_rate))].astype(np.float32)


def fit_length(audio: np.ndarray, length: int) -> np.ndarray:
    """Centre-crop or zero-pad to exactly `length` samples."""
    if audio.size >= length:
        start = (audio.size - length) // 2
        return audio[start:start + length]
    out = np.zeros(length, np.float32)
    start = (length - audio.size) // 2
    out[start:start + audio.size] = audio
    return out


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)) + 1e-12))
