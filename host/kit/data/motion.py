"""`imu-motion`: a physical model of a packaged board being moved, sampled by a 3-axis accelerometer.

The board sits at a random orientation inside its package. In the world frame (z up) each
transport mode produces a linear acceleration and, for ships, a slow tilt; the sensor
measures the specific force (linear acceleration + 1 g up) rotated into the board frame, then
adds its own imperfections: per-axis bias, bias drift, scale error, white noise and 16-bit
quantisation at +-8 g. Values are in g.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from kit.data.raw import RawData, stratified_splits
from kit.data.spec import LabSpec
from kit.errors import DataError

MODES = ("idle", "lift", "maritime", "terrestrial")


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random 3x3 rotation (from a random unit quaternion)."""
    q = rng.standard_normal(4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def tilt(roll: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """(n, 3, 3) rotations for small roll (about x) and pitch (about y) angles in radians."""
    cr, sr, cp, sp = np.cos(roll), np.sin(roll), np.cos(pitch), np.sin(pitch)
    one, zero = np.ones_like(roll), np.zeros_like(roll)
    rx = np.stack([np.stack([one, zero, zero], -1), np.stack([zero, cr, -sr], -1), np.stack([zero, sr, cr], -1)], -2)
    ry = np.stack([np.stack([cp, zero, sp], -1), np.stack([zero, one, zero], -1), np.stack([-sp, zero, cp], -1)], -2)
    return ry @ rx


def band_noise(rng: np.random.Generator, n: int, rate: float, lo: float, hi: float) -> np.ndarray:
    """Unit-RMS noise with energy only between lo and hi Hz."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    spectrum[(freqs < lo) | (freqs > hi)] = 0
    out = np.fft.irfft(spectrum, n)
    return out / (out.std() + 1e-12)


def _idle(rng, t, rate):
    acc = np.zeros((t.size, 3))
    acc += rng.uniform(0.0005, 0.003) * rng.standard_normal((t.size, 3))  # building micro-vibration
    if rng.random() < 0.2:  # someone knocks the shelf
        at = rng.uniform(0, t[-1])
        knock = np.where(t >= at, np.exp(-(t - at) * 25) * np.sin(2 * np.pi * 12 * (t - at)), 0)
        acc += knock[:, None] * rng.uniform(0.01, 0.06, 3)[None, :]
    return acc, np.eye(3)[None].repeat(t.size, 0)


def _smooth_step(t, start, duration):
    x = np.clip((t - start) / duration, 0, 1)
    return np.sin(np.pi * x) ** 2  # a bell-shaped acceleration pulse


def _lift(rng, t, rate):
    """Elevator / forklift: vertical acceleration and braking pulses with motor and mast shake."""
    acc = np.zeros((t.size, 3))
    span = t[-1]
    for _ in range(int(rng.integers(1, 3))):
        duration = rng.uniform(0.4, 1.2)
        start = rng.uniform(-duration * 0.3, span - duration * 0.7)
        acc[:, 2] += rng.choice([-1, 1]) * rng.uniform(0.04, 0.25) * _smooth_step(t, start, duration)
    acc[:, 2] += rng.uniform(0.005, 0.03) * band_noise(rng, t.size, rate, 8, 15)
    acc[:, :2] += rng.uniform(0.002, 0.012) * np.stack([band_noise(rng, t.size, rate, 2, 8) for _ in range(2)], -1)
    return acc, np.eye(3)[None].repeat(t.size, 0)


def _maritime(rng, t, rate):
    """Ship on a swell: gravity tilts back and forth at 0.1-0.3 Hz while the hull heaves."""
    freq = rng.uniform(0.1, 0.3)
    roll = np.deg2rad(rng.uniform(2, 15)) * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
    pitch = np.deg2rad(rng.uniform(2, 8)) * np.sin(2 * np.pi * freq * rng.uniform(0.8, 1.3) * t + rng.uniform(0, 2 * np.pi))
    acc = np.zeros((t.size, 3))
    acc[:, 2] = rng.uniform(0.01, 0.12) * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
    acc += rng.uniform(0.001, 0.006) * np.stack([band_noise(rng, t.size, rate, 15, 24) for _ in range(3)], -1)
    return acc, tilt(roll, pitch)


def _terrestrial(rng, t, rate):
    """Truck on a road: 5-20 Hz vibration, bumps, turns and braking."""
    acc = np.zeros((t.size, 3))
    acc[:, 2] = rng.uniform(0.02, 0.3) * band_noise(rng, t.size, rate, 5, 20)
    acc[:, :2] = rng.uniform(0.01, 0.08) * np.stack([band_noise(rng, t.size, rate, 4, 20) for _ in range(2)], -1)
    for _ in range(int(rng.poisson(1.2))):  # pothole: a decaying ring of the suspension
        at = rng.uniform(0, t[-1])
        ring = np.where(t >= at, np.exp(-(t - at) * rng.uniform(4, 10)) * np.sin(2 * np.pi * rng.uniform(8, 15) * (t - at)), 0)
        acc[:, 2] += rng.uniform(0.2, 0.8) * ring
    acc[:, 1] += rng.uniform(-0.25, 0.25) * _smooth_step(t, rng.uniform(-1, 1), rng.uniform(1.5, 3))  # turn
    acc[:, 0] += rng.uniform(-0.2, 0.2) * _smooth_step(t, rng.uniform(-1, 1), rng.uniform(1.5, 3))    # brake/accelerate
    return acc, np.eye(3)[None].repeat(t.size, 0)


MODE_MODELS = {"idle": _idle, "lift": _lift, "maritime": _maritime, "terrestrial": _terrestrial}


def sensor(rng: np.random.Generator, specific_force: np.ndarray, full_scale_g: float = 8.0) -> np.ndarray:
    """What a MEMS accelerometer reports for a true specific force (n, 3) in g."""
    n = specific_force.shape[0]
    bias = rng.uniform(-0.03, 0.03, 3)
    drift = np.cumsum(rng.normal(0, 2e-4, (n, 3)), axis=0)
    scale = 1 + rng.uniform(-0.03, 0.03, 3)
    noise = rng.uniform(0.002, 0.01) * rng.standard_normal((n, 3))
    reading = specific_force * scale + bias + drift + noise
    step = 2 * full_scale_g / 65536
    return np.clip(np.round(reading / step) * step, -full_scale_g, full_scale_g)


def motion_window(mode: str, rng: np.random.Generator, samples: int, rate: float) -> np.ndarray:
    """One (samples, 3) accelerometer window of the given transport mode, in g."""
    t = np.arange(samples) / rate
    linear, attitude = MODE_MODELS[mode](rng, t, rate)
    up = np.array([0.0, 0.0, 1.0])
    world = linear + (attitude @ up)          # specific force: the ship's tilt moves gravity
    mounting = random_rotation(rng)           # how the board sits in its package
    return sensor(rng, world @ mounting).astype(np.float32)


def motion_raw(spec: LabSpec, seed: int, fraction: float, progress: Callable[[int, int], None] | None) -> RawData:
    ds = spec.dataset
    for label in spec.labels:
        if label not in MODE_MODELS:
            raise DataError(f"the imu-motion generator has no model for class '{label}' of lab {spec.name}",
                            hint=f"use labels from {', '.join(MODES)} or bring your own CSV windows")
    rate = float(ds.get("sample_rate_hz", 50))
    samples = int(round(float(ds.get("window_seconds", 2.0)) * rate))
    per_class = max(6, int(round(int(ds.get("windows_per_class", 500)) * fraction)))
    windows, labels = [], []
    for class_index, label in enumerate(spec.labels):
        for number in range(per_class):
            windows.append(motion_window(label, np.random.default_rng([seed, 20, class_index, number]), samples, rate))
            labels.append(class_index)
        if progress:
            progress(len(windows), per_class * len(spec.labels))
    y = np.asarray(labels, np.int64)
    split = stratified_splits(y, np.random.default_rng([seed, 21]), float(ds.get("validation_fraction", 0.1)),
                              float(ds.get("test_fraction", 0.2)))
    return RawData(x=np.stack(windows), y=y, split=split, group=np.asarray([spec.labels[i] for i in y], dtype=str),
                   info={"sample_rate_hz": rate, "window_samples": samples})
