"""Accelerometer features: compact statistics and band powers that a dense net or an
autoencoder can use on a microcontroller without running a CNN over raw samples."""

from __future__ import annotations

import numpy as np

LOG_FLOOR = 1e-6


def _band_edges(bins: int, bands: int) -> np.ndarray:
    """Split spectrum bins 1..bins-1 (DC dropped) into `bands` contiguous groups."""
    return np.linspace(1, bins, bands + 1).round().astype(int)


def welch_power(signal: np.ndarray, fft_length: int) -> np.ndarray:
    """(batch, samples, axes) -> (batch, fft_length//2+1, axes) averaged Hann-window periodogram."""
    batch, samples, axes = signal.shape
    if samples < fft_length:
        signal = np.pad(signal, ((0, 0), (0, fft_length - samples), (0, 0)))
        samples = fft_length
    hop = fft_length // 2
    starts = np.arange(0, samples - fft_length + 1, hop)
    window = np.hanning(fft_length + 2)[1:-1]
    segments = signal[:, starts[:, None] + np.arange(fft_length)[None, :], :]  # (b, seg, fft, axes)
    segments = segments - segments.mean(axis=2, keepdims=True)
    spectrum = np.abs(np.fft.rfft(segments * window[None, None, :, None], axis=2)) ** 2
    return spectrum.mean(axis=1) / np.sum(window ** 2)


def band_log_power(signal: np.ndarray, fft_length: int, bands: int) -> np.ndarray:
    """(batch, samples, axes) -> (batch, axes, bands) log of the mean power in each band."""
    power = welch_power(signal, fft_length)
    edges = _band_edges(power.shape[1], bands)
    grouped = [power[:, lo:max(hi, lo + 1), :].mean(axis=1) for lo, hi in zip(edges[:-1], edges[1:])]
    return np.log(np.stack(grouped, axis=-1) + LOG_FLOOR)


def imu_spectral(signal: np.ndarray, fft_length: int = 32, bands: int = 16) -> np.ndarray:
    """(batch, samples, axes) in g -> (batch, axes * (3 + bands)): per axis RMS, skewness,
    kurtosis of the signal without its mean (orientation-free), then the band log powers."""
    signal = np.asarray(signal, np.float64)
    centred = signal - signal.mean(axis=1, keepdims=True)
    std = centred.std(axis=1) + 1e-9
    rms = np.sqrt(np.mean(centred ** 2, axis=1))
    skew = np.mean(centred ** 3, axis=1) / std ** 3
    kurt = np.mean(centred ** 4, axis=1) / std ** 4 - 3.0
    stats = np.stack([rms, skew, kurt], axis=-1)                      # (b, axes, 3)
    bands_out = band_log_power(signal, fft_length, bands)              # (b, axes, bands)
    return np.concatenate([stats, bands_out], axis=-1).reshape(signal.shape[0], -1).astype(np.float32)


def vibration_spectrum(signal: np.ndarray, fft_length: int = 256, bands: int = 32) -> np.ndarray:
    """(batch, samples, axes) -> (batch, axes * bands) log band energies of one window."""
    return band_log_power(np.asarray(signal, np.float64), fft_length, bands).reshape(signal.shape[0], -1).astype(np.float32)


def imu_feature_count(features: dict, axes: int) -> int:
    """How many values the lab's IMU feature pipeline yields (for checking io.input_shape)."""
    bands = int(features.get("bands", 16))
    return axes * (3 + bands) if features.get("type") == "imu-spectral" else axes * bands
