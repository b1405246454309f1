"""Windows of motions the motion lab never trains on, to test its K-means anomaly detector.

The `imu-motion` generator (kit.data.motion) knows only the lab's four transport modes; changing
it would change every training input, so the unseen motions live here and reuse its physics:
the same sensor model (bias, drift, scale error, noise, 16-bit quantisation), the same random
mounting and the same world frame (specific force = linear acceleration + gravity).

Kinds: `shake` (the package shaken by hand), `drop` (free fall, then the impact), `tumble`
(rolled over and over, gravity turning through the board) and `walk` (carried by a walking
person). Seeds are disjoint from the training generator's ([seed, 20, ...]).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from kit.data.motion import band_noise, random_rotation, sensor

UNSEEN_SEED_TAG = 91


def _shake(rng: np.random.Generator, t: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Shaken by hand: strong 3-7 Hz back-and-forth along a random direction, plus jitter."""
    direction = rng.standard_normal(3)
    direction /= np.linalg.norm(direction)
    freq = rng.uniform(3.0, 7.0)
    amplitude = rng.uniform(0.4, 1.5)
    along = amplitude * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
    acc = along[:, None] * direction[None, :]
    acc += rng.uniform(0.02, 0.1) * np.stack([band_noise(rng, t.size, rate, 2, 20) for _ in range(3)], -1)
    return acc, np.eye(3)[None].repeat(t.size, 0)


def _drop(rng: np.random.Generator, t: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Dropped: free fall (the accelerometer reads ~0 g) for 0.15-0.4 s, an impact, a bounce."""
    acc = np.zeros((t.size, 3))
    start = rng.uniform(0.2, t[-1] - 0.8)
    fall = rng.uniform(0.15, 0.4)
    falling = (t >= start) & (t < start + fall)
    acc[falling, 2] = -1.0  # cancels gravity: specific force 0
    at = start + fall
    ring = np.where(t >= at, np.exp(-(t - at) * rng.uniform(8, 20)) * np.cos(2 * np.pi * rng.uniform(5, 15) * (t - at)), 0)
    acc += ring[:, None] * rng.uniform(1.0, 4.0) * rng.standard_normal(3)[None, :]
    return acc, np.eye(3)[None].repeat(t.size, 0)


def _tumble(rng: np.random.Generator, t: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Rolled over: the package turns through whole revolutions at 0.3-1 Hz about a random axis."""
    axis = rng.standard_normal(3)
    axis /= np.linalg.norm(axis)
    angle = 2 * np.pi * rng.uniform(0.3, 1.0) * t + rng.uniform(0, 2 * np.pi)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    attitude = np.eye(3)[None] + np.sin(angle)[:, None, None] * k[None] + (1 - np.cos(angle))[:, None, None] * (k @ k)[None]
    acc = rng.uniform(0.01, 0.05) * np.stack([band_noise(rng, t.size, rate, 1, 10) for _ in range(3)], -1)
    return acc, attitude


def _walk(rng: np.random.Generator, t: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Carried by a walking person: a heel strike each step (1.6-2.2 Hz) and a sway each stride."""
    step = rng.uniform(1.6, 2.2)
    phase = rng.uniform(0, 1)
    acc = np.zeros((t.size, 3))
    beat = (t * step + phase) % 1.0
    acc[:, 2] = rng.uniform(0.2, 0.5) * np.exp(-beat * 12) * np.cos(2 * np.pi * 6 * beat)
    acc[:, 1] = rng.uniform(0.05, 0.15) * np.sin(np.pi * step * t + rng.uniform(0, 2 * np.pi))
    acc[:, 0] = rng.uniform(0.03, 0.1) * np.sin(2 * np.pi * step * t + rng.uniform(0, 2 * np.pi))
    return acc, np.eye(3)[None].repeat(t.size, 0)


UNSEEN_MOTIONS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "shake": _shake, "drop": _drop, "tumble": _tumble, "walk": _walk}


def unseen_window(kind: str, rng: np.random.Generator, samples: int, rate: float) -> np.ndarray:
    """One (samples, 3) accelerometer window of an unseen motion, in g (kit.data.motion's sensor)."""
    t = np.arange(samples) / rate
    linear, attitude = UNSEEN_MOTIONS[kind](rng, t, rate)
    world = linear + attitude @ np.array([0.0, 0.0, 1.0])
    return sensor(rng, world @ random_rotation(rng)).astype(np.float32)


def unseen_windows(dataset: dict, seed: int, per_kind: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(windows (n, samples, 3) float32, kind index per window, kind names) at the lab's rate
    and window length."""
    rate = float(dataset.get("sample_rate_hz", 50))
    samples = int(round(float(dataset.get("window_seconds", 2.0)) * rate))
    windows, kinds = [], []
    for index, kind in enumerate(UNSEEN_MOTIONS):
        for number in range(per_kind):
            windows.append(unseen_window(kind, np.random.default_rng([seed, UNSEEN_SEED_TAG, index, number]), samples, rate))
            kinds.append(index)
    return np.stack(windows), np.asarray(kinds, np.int64), list(UNSEEN_MOTIONS)
