"""Synthesised background noise for audio augmentation: nothing is recorded or downloaded."""

from __future__ import annotations

import numpy as np

NOISE_KINDS = ("white", "pink", "brown", "hum", "babble")


def coloured_noise(rng: np.random.Generator, length: int, exponent: float) -> np.ndarray:
    """Noise with power ~ 1/f^exponent (0 white, 1 pink, 2 brown), unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    freqs = np.arange(spectrum.size, dtype=np.float64)
    freqs[0] = 1.0
    spectrum /= freqs ** (exponent / 2.0)
    spectrum[0] = 0.0
    noise = np.fft.irfft(spectrum, n=length)
    return (noise / (np.std(noise) + 1e-12)).astype(np.float32)


def mains_hum(rng: np.random.Generator, length: int, rate: int) -> np.ndarray:
    """50/60 Hz hum with a few harmonics and a little hiss, unit RMS."""
    t = np.arange(length) / rate
    base = rng.choice([50.0, 60.0])
    hum = np.zeros(length)
    for harmonic in range(1, 6):
        hum += rng.uniform(0.2, 1.0) / harmonic * np.sin(2 * np.pi * base * harmonic * t + rng.uniform(0, 2 * np.pi))
    hum += 0.05 * rng.standard_normal(length)
    return (hum / (np.std(hum) + 1e-12)).astype(np.float32)


def babble(rng: np.random.Generator, length: int, speech_pool: list[np.ndarray]) -> np.ndarray:
    """Several overlapping words from other speakers, like a room of people talking, unit RMS."""
    if not speech_pool:
        return coloured_noise(rng, length, 1.0)
    mix = np.zeros(length, np.float64)
    for _ in range(int(rng.integers(3, 7))):
        word = speech_pool[int(rng.integers(len(speech_pool)))]
        start = int(rng.integers(-word.size // 2, length))
        lo, hi = max(start, 0), min(start + word.size, length)
        if hi > lo:
            mix[lo:hi] += word[lo - start:hi - start] / (np.std(word) + 1e-9)
    mix += 0.02 * rng.standard_normal(length)
    return (mix / (np.std(mix) + 1e-12)).astype(np.float32)


def background(rng: np.random.Generator, length: int, rate: int, speech_pool: list[np.ndarray]) -> tuple[np.ndarray, str]:
    """One unit-RMS background of a random kind; returns (noise, kind)."""
    kind = str(rng.choice(NOISE_KINDS, p=[0.2, 0.25, 0.2, 0.15, 0.2]))
    if kind == "white":
        return coloured_noise(rng, length, 0.0), kind
    if kind == "pink":
        return coloured_noise(rng, length, 1.0), kind
    if kind == "brown":
        return coloured_noise(rng, length, 2.0), kind
    if kind == "hum":
        return mains_hum(rng, length, rate), kind
    return babble(rng, length, speech_pool), kind
