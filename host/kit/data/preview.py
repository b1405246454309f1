"""Example pictures of a dataset, so a student can see what the model will learn from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from kit.data.dataset import Dataset
from kit.data.spec import LabSpec


def _safe(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in label).strip("_") or "class"


def _spectrogram_png(spec: LabSpec, clip: np.ndarray, path: Path) -> None:
    """Log-mel spectrogram as a colour image (time left to right, low frequencies at the bottom)."""
    from matplotlib import colormaps
    from kit.features.mfcc import MfccConfig, log_mel
    spectrogram = log_mel(np.asarray(clip)[None, :], MfccConfig.from_sections(spec.features, spec.dataset))[0].T[::-1]
    lo, hi = np.percentile(spectrogram, [5, 99.5])
    scaled = np.clip((spectrogram - lo) / max(hi - lo, 1e-6), 0, 1)
    pixels = (colormaps["magma"](scaled)[..., :3] * 255).astype(np.uint8)
    Image.fromarray(pixels).resize((49 * 6, 40 * 4), Image.NEAREST).save(path)


def _imu_png(spec: LabSpec, label: str, windows: np.ndarray, path: Path) -> None:
    """One figure per class: each example window's axes over time."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rate = float(spec.dataset.get("sample_rate_hz", 50))
    figure, axes = plt.subplots(len(windows), 1, figsize=(5, 1.6 * len(windows)), dpi=90, squeeze=False)
    for axis, window in zip(axes[:, 0], windows):
        t = np.arange(window.shape[0]) / rate
        for column, name in enumerate(spec.dataset.get("axes", ["ax", "ay", "az"])):
            axis.plot(t, window[:, column], linewidth=0.8, label=str(name))
        axis.set_ylabel("g")
    axes[0, 0].set_title(f"{spec.name}: {label}", fontsize=9)
    axes[0, 0].legend(loc="upper right", fontsize=7)
    axes[-1, 0].set_xlabel("time (s)")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def write_previews(spec: LabSpec, dataset: Dataset, out: Path) -> list[Path]:
    """Write example PNGs into `out`: spectrograms (kws) or frames (vision), one file per example;
    IMU traces, one file per class."""
    out.mkdir(parents=True, exist_ok=True)
    kind = spec.features.get("type")
    written = []
    for label, examples in dataset.previews.items():
        if kind in ("imu-spectral", "vibration-spectrum"):
            path = out / f"{_safe(label)}.png"
            _imu_png(spec, label, examples, path)
            written.append(path)
            continue
        for number, example in enumerate(examples):
            path = out / f"{_safe(label)}-{number}.png"
            if kind == "mfcc":
                _spectrogram_png(spec, example, path)
            else:
                Image.fromarray(np.asarray(example, np.uint8).squeeze()).resize((192, 192), Image.NEAREST).save(path)
            written.append(path)
    return written
