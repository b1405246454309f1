"""The common shape every generator and user-folder reader returns before features are applied."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SPLITS = ("train", "val", "test")


@dataclass
class RawData:
    """Raw samples (audio clips, uint8 images or IMU windows) with label, split and group per sample."""

    x: np.ndarray
    y: np.ndarray
    split: np.ndarray          # str per sample: train | val | test
    group: np.ndarray          # str per sample: speaker, scene kind, fault type, source file ...
    info: dict[str, Any] = field(default_factory=dict)

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mask = self.split == name
        return self.x[mask], self.y[mask], self.group[mask]

    def only(self, splits: tuple[str, ...]) -> "RawData":
        """The samples of these splits (generators that cannot skip the others' work end with this)."""
        if tuple(splits) == SPLITS:
            return self
        mask = np.isin(self.split, list(splits))
        return RawData(self.x[mask], self.y[mask], self.split[mask], self.group[mask], dict(self.info))


def stratified_splits(labels: np.ndarray, rng: np.random.Generator, val_fraction: float,
                      test_fraction: float) -> np.ndarray:
    """Assign train/val/test per class so every split keeps the class balance."""
    split = np.full(labels.shape[0], "train", dtype=object)
    for label in np.unique(labels):
        index = np.flatnonzero(labels == label)
        rng.shuffle(index)
        n_test = int(round(index.size * test_fraction))
        n_val = int(round(index.size * val_fraction))
        if index.size >= 3:
            n_test, n_val = max(n_test, 1 if test_fraction > 0 else 0), max(n_val, 1 if val_fraction > 0 else 0)
        split[index[:n_test]] = "test"
        split[index[n_test:n_test + n_val]] = "val"
    return split.astype(str)
