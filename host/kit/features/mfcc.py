"""MFCC features in numpy, laid out like the MLPerf Tiny kws01 input (49 frames x 10 coefficients).

Pipeline: Hann-windowed frames (30 ms, 20 ms stride) -> power spectrum -> 40 triangular mel
filters (20 Hz .. 4 kHz) -> natural log -> orthonormal DCT-II -> first 10 coefficients.
Pure numpy keeps it deterministic and free of TensorFlow's start-up cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

LOG_FLOOR = 1e-6


@dataclass(frozen=True)
class MfccConfig:
    sample_rate: int = 16000
    window_ms: float = 30.0
    stride_ms: float = 20.0
    mel_bins: int = 40
    coefficients: int = 10
    frames: int = 49
    lower_hz: float = 20.0
    upper_hz: float = 4000.0

    @property
    def window(self) -> int:
        return int(round(self.sample_rate * self.window_ms / 1000))

    @property
    def stride(self) -> int:
        return int(round(self.sample_rate * self.stride_ms / 1000))

    @property
    def fft_length(self) -> int:
        return 1 << (self.window - 1).bit_length()

    @classmethod
    def from_sections(cls, features: dict, dataset: dict) -> "MfccConfig":
        return cls(sample_rate=int(dataset.get("sample_rate_hz", 16000)),
                   window_ms=float(features.get("window_ms", 30)), stride_ms=float(features.get("stride_ms", 20)),
                   mel_bins=int(features.get("mel_bins", 40)), coefficients=int(features.get("coefficients", 10)),
                   frames=int(features.get("frames", 49)), lower_hz=float(features.get("lower_hz", 20.0)),
                   upper_hz=float(features.get("upper_hz", 4000.0)))


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


@lru_cache(maxsize=8)
def mel_matrix(config: MfccConfig) -> np.ndarray:
    """(fft_length//2+1, mel_bins) triangular filters evenly spaced on the mel scale."""
    bins = config.fft_length // 2 + 1
    bin_mel = hz_to_mel(np.linspace(0, config.sample_rate / 2, bins))
    edges = np.linspace(hz_to_mel(config.lower_hz), hz_to_mel(config.upper_hz), config.mel_bins + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mel[:, None] - lower) / (centre - lower)
    falling = (upper - bin_mel[:, None]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


@lru_cache(maxsize=8)
def dct_matrix(inputs: int, outputs: int) -> np.ndarray:
    """Orthonormal DCT-II basis (inputs, outputs)."""
    n = np.arange(inputs)[:, None]
    k = np.arange(outputs)[None, :]
    basis = np.cos(np.pi / inputs * (n + 0.5) * k) * np.sqrt(2.0 / inputs)
    basis[:, 0] *= np.sqrt(0.5)
    return basis


def frame_signal(audio: np.ndarray, config: MfccConfig) -> np.ndarray:
    """(batch, samples) -> (batch, frames, window), zero-padding short clips at the end."""
    needed = config.window + (config.frames - 1) * config.stride
    if audio.shape[1] < needed:
        audio = np.pad(audio, ((0, 0), (0, needed - audio.shape[1])))
    starts = np.arange(config.frames) * config.stride
    index = starts[:, None] + np.arange(config.window)[None, :]
    return audio[:, index]


def log_mel(audio: np.ndarray, config: MfccConfig) -> np.ndarray:
    """(batch, samples) -> (batch, frames, mel_bins) log mel energies (the 'spectrogram' view)."""
    frames = frame_signal(np.asarray(audio, np.float32), config) * np.hanning(config.window + 2)[1:-1].astype(np.float32)
    power = np.abs(np.fft.rfft(frames, n=config.fft_length, axis=-1)) ** 2
    return np.log(power @ mel_matrix(config) + LOG_FLOOR)


def mfcc(audio: np.ndarray, config: MfccConfig, chunk: int = 256) -> np.ndarray:
    """(batch, samples) float audio in [-1, 1] -> (batch, frames, coefficients) float32."""
    audio = np.atleast_2d(audio)
    dct = dct_matrix(config.mel_bins, config.coefficients)
    out = np.empty((audio.shape[0], config.frames, config.coefficients), np.float32)
    for start in range(0, audio.shape[0], chunk):
        out[start:start + chunk] = log_mel(audio[start:start + chunk], config) @ dct
    return out
