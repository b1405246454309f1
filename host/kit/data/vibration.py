"""`imu-vibration`: accelerometer windows from a motor at 1 kHz, normal and faulty.

Normal: the shaft's rotation frequency (varied speed) with a decaying set of harmonics whose
size follows the load, a structural resonance excited by broadband noise, sensor noise.
Faults change the spectrum the way a vibration analyst expects: imbalance raises 1x,
misalignment raises 2x (mostly axially), a bearing defect adds periodic impacts ringing a
high-frequency resonance, looseness adds half-order subharmonics and many harmonics.
Training and validation hold only normal windows; the test split adds the anomalies.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from kit.data.raw import RawData
from kit.data.spec import LabSpec

FAULTS = ("imbalance", "misalignment", "bearing", "looseness")


def _tone(t: np.ndarray, freq: float, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """A tone seen on three axes with different gains and phases."""
    gains = rng.uniform(0.4, 1.0, 3)
    phases = rng.uniform(0, 2 * np.pi, 3)
    return amplitude * gains[None, :] * np.sin(2 * np.pi * freq * t[:, None] + phases[None, :])


def motor_window(rng: np.random.Generator, samples: int, rate: float, fault: str | None) -> np.ndarray:
    """One (samples, 3) window in g; `fault` None for a healthy motor."""
    t = np.arange(samples) / rate
    speed = rng.uniform(23, 31)              # shaft frequency: a 4-pole induction motor, 1380..1860 rpm
    load = rng.uniform(0.7, 1.3)
    one_x = 0.12 * load
    orders = {1.0: 1.0, 2.0: 0.35, 3.0: 0.15, 4.0: 0.07}
    orders = {order: share * rng.uniform(0.85, 1.15) for order, share in orders.items()}
    axis_gain = {order: np.array([1.0, 1.0, 1.0]) for order in orders}
    if fault == "imbalance":        # heavy spot on the rotor: 1x grows, radially
        orders[1.0] *= rng.uniform(4.0, 7.0)
        axis_gain[1.0] = np.array([1.0, 1.0, 0.5])
    elif fault == "misalignment":   # coupling misaligned: 2x (and 3x) grow, axially
        orders[2.0] = rng.uniform(1.2, 2.5)
        orders[3.0] = rng.uniform(0.5, 0.9)
        axis_gain[2.0] = np.array([0.6, 0.6, 1.0])
    signal = np.zeros((samples, 3))
    for order, share in orders.items():  # one tone per order, so a fault never cancels its own 1x/2x
        signal += _tone(t, speed * order, one_x * share, rng) * axis_gain[order][None, :]
    resonance = rng.uniform(180, 260)
    ring = np.exp(-np.arange(64) / rate * 60) * np.sin(2 * np.pi * resonance * np.arange(64) / rate)
    excitation = rng.standard_normal((samples + 63, 3)) * 0.01 * load
    signal += np.stack([np.convolve(excitation[:, a], ring, mode="valid") for a in range(3)], -1)
    if fault == "bearing":
        defect = speed * rng.uniform(3.0, 5.5)   # outer-race defect frequency
        bearing_res = rng.uniform(320, 450)
        impulses = np.zeros(samples)
        period = rate / defect
        for k in np.arange(rng.uniform(0, period), samples, period):
            impulses[int(k)] = rng.uniform(0.5, 1.0)
        kernel = np.exp(-np.arange(40) / rate * 250) * np.sin(2 * np.pi * bearing_res * np.arange(40) / rate)
        hit = np.convolve(impulses, kernel)[:samples] * rng.uniform(0.25, 0.6)
        signal += hit[:, None] * rng.uniform(0.5, 1.0, 3)[None, :]
    elif fault == "looseness":
        for order in (0.5, 1.5, 2.5):
            signal += _tone(t, speed * order, one_x * rng.uniform(0.4, 0.8), rng)
        for order in range(5, 11):
            signal += _tone(t, speed * order, one_x * rng.uniform(0.05, 0.15), rng)
    signal += rng.uniform(0.003, 0.008) * rng.standard_normal((samples, 3))
    signal[:, 2] += 1.0                     # gravity on the mounting axis
    return signal.astype(np.float32)


def vibration_raw(spec: LabSpec, seed: int, fraction: float, progress: Callable[[int, int], None] | None) -> RawData:
    ds = spec.dataset
    rate = float(ds.get("sample_rate_hz", 1000))
    samples = int(round(float(ds.get("window_seconds", 0.256)) * rate))
    normal_count = max(20, int(round(int(ds.get("normal_windows", 2000)) * fraction)))
    anomalous_count = max(len(FAULTS), int(round(int(ds.get("anomalous_windows", 400)) * fraction)))
    windows, labels, groups = [], [], []
    for number in range(normal_count):
        windows.append(motor_window(np.random.default_rng([seed, 30, number]), samples, rate, None))
        labels.append(0)
        groups.append("normal")
    for number in range(anomalous_count):
        fault = FAULTS[number % len(FAULTS)]
        windows.append(motor_window(np.random.default_rng([seed, 31, number]), samples, rate, fault))
        labels.append(1)
        groups.append(fault)
    if progress:
        progress(normal_count + anomalous_count, normal_count + anomalous_count)
    rng = np.random.default_rng([seed, 32])
    order = rng.permutation(normal_count)
    n_test = int(round(normal_count * float(ds.get("test_fraction", 0.2))))
    n_val = int(round(normal_count * float(ds.get("validation_fraction", 0.1))))
    split = np.full(len(windows), "test", dtype=object)
    split[order[n_test:n_test + n_val]] = "val"
    split[order[n_test + n_val:]] = "train"
    return RawData(x=np.stack(windows), y=np.asarray(labels, np.int64), split=split.astype(str),
                   group=np.asarray(groups, dtype=str),
                   info={"sample_rate_hz": rate, "window_samples": samples, "faults": list(FAULTS)})
