"""Example pictures of a dataset, so a student can see what the model will learn from."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kit.data.dataset import Dataset
from kit.data.spec import LabSpec


def _safe(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in label).strip("_") or "class"


def write_previews(spec: LabSpec, dataset: Dataset, out: Path) -> list[Path]:
    """Write a few PNGs per class into `out`: log-mel spectrograms, frames or IMU traces."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    kind = spec.features.get("type")
    written = []
    for label, examples in dataset.previews.items():
        for number, example in enumerate(examples):
            path = out / f"{_safe(label)}-{number}.png"
            if kind == "image":
                from PIL import Image
                Image.fromarray(np.asarray(example, np.uint8).squeeze()).resize((192, 192), Image.NEAREST).save(path)
                written.append(path)
                continue
            figure, axis = plt.subplots(figsize=(4, 2.6), dpi=100)
            if kind == "mfcc":
                from kit.features.mfcc import MfccConfig, log_mel
                spectrogram = log_mel(np.asarray(example)[None, :], MfccConfig.from_sections(spec.features, spec.dataset))[0]
                axis.imshow(spectrogram.T, origin="lower", aspect="auto", cmap="magma")
                axis.set_xlabel("frame (20 ms)")
                axis.set_ylabel("mel bin")
            else:
                rate = float(spec.dataset.get("sample_rate_hz", 50))
                t = np.arange(example.shape[0]) / rate
                for column, name in enumerate(spec.dataset.get("axes", ["ax", "ay", "az"])):
                    axis.plot(t, example[:, column], linewidth=0.8, label=str(name))
                axis.set_xlabel("time (s)")
                axis.set_ylabel("acceleration (g)")
                axis.legend(loc="upper right", fontsize=7)
            axis.set_title(f"{spec.name}: {label}", fontsize=9)
            figure.tight_layout()
            figure.savefig(path)
            plt.close(figure)
            written.append(path)
    return written
