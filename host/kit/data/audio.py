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
    pos, rate, channels, width, is_float = 12, 0, 1, 2, False
    while pos + 8 <= len(data):
        chunk, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        body = pos + 8
        if chunk == b"fmt ":
            channels, rate, width, is_float = _wav_format(data[body:body + size], origin)
        elif chunk == b"data":
            end = body + size if 0 < size <= len(data) - body else len(data)
            return _pcm_to_float(data[body:end], width, channels, is_float), rate
        pos = body + size + (size & 1)
        if size == 0 and chunk != b"data":
            break
    raise DataError(f"{origin}: WAV file has no audio data", hint="re-record or re-export the file")


WAVE_FORMAT_PCM, WAVE_FORMAT_IEEE_FLOAT, WAVE_FORMAT_EXTENSIBLE = 1, 3, 0xFFFE


def _wav_format(fmt: bytes, origin: str) -> tuple[int, int, int, bool]:
    """(channels, rate, bytes per sample, is float) from a `fmt ` chunk: integer PCM of 8,
    16, 24 or 32 bits and 32-bit float (what Audacity exports by default), mono or more."""
    code = int.from_bytes(fmt[0:2], "little")
    channels = int.from_bytes(fmt[2:4], "little")
    rate = int.from_bytes(fmt[4:8], "little")
    bits = int.from_bytes(fmt[14:16], "little")
    if code == WAVE_FORMAT_EXTENSIBLE and len(fmt) >= 26:
        code = int.from_bytes(fmt[24:26], "little")  # the sub-format GUID starts with the plain code
    is_float = code == WAVE_FORMAT_IEEE_FLOAT
    supported = (code == WAVE_FORMAT_PCM and bits in (8, 16, 24, 32)) or (is_float and bits == 32)
    if not supported or channels < 1 or rate < 1:
        kind = "float" if is_float else f"format {code}"
        raise DataError(f"{origin}: unsupported WAV encoding ({kind}, {bits} bit, {channels} channel(s), {rate} Hz)",
                        hint="convert it to 16-bit PCM, e.g. `sox in.wav -b 16 out.wav`")
    return channels, rate, bits // 8, is_float


def _pcm_to_float(raw: bytes, width: int, channels: int, is_float: bool = False) -> np.ndarray:
    """Interleaved samples -> mono float32 in [-1, 1] (the channels averaged)."""
    usable = len(raw) - len(raw) % (width * channels)
    raw = raw[:usable]
    if is_float:
        samples = np.clip(np.nan_to_num(np.frombuffer(raw, "<f4")), -1.0, 1.0).astype(np.float32)
    elif width == 1:
        samples = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        samples = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        triples = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        value = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        samples = (np.where(value >= 1 << 23, value - (1 << 24), value) / float(1 << 23)).astype(np.float32)
    else:
        samples = np.frombuffer(raw, "<i4").astype(np.float32) / 2147483648.0
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
