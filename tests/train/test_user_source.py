"""Training on the user's own folder (`kit train LAB --source DIR`): real kit.data reader, and a
cache key that follows the folder's content."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kit.train import train_lab
from kit.train.lab import load_lab, training_inputs_hash

LABELS = ("idle", "lift", "maritime", "terrestrial")


def _write_motion_folder(root: Path) -> Path:
    """Six 2 s recordings (50 Hz, ax/ay/az) per class; each class shakes at its own strength."""
    rng = np.random.default_rng(5)
    for index, label in enumerate(LABELS):
        (root / label).mkdir(parents=True)
        for number in range(6):
            signal = rng.normal(0, 0.05 * (index + 1) ** 2, (100, 3)) + [0, 0, 1]
            rows = ["ax,ay,az"] + [",".join(f"{v:.5f}" for v in row) for row in signal]
            (root / label / f"rec{number}.csv").write_text("\n".join(rows) + "\n")
    return root


def test_train_on_user_folder_and_cache_follows_its_content(tmp_path):
    folder = _write_motion_folder(tmp_path / "motion-data")
    result = train_lab("motion", seed=0, source=folder, progress=False)
    card = result.card
    assert not result.cached and card["lab"] == "motion" and card["labels"] == list(LABELS)
    own = card["own_data"]
    originals = card["train_samples"] // (own["augmented_copies"] + 1)
    assert originals + card["test_samples"] <= 24 and card["test_samples"] > 0
    assert own["base"] and len(own["test_files"]) == card["test_samples"]  # one window per recording
    assert np.array(card["confusion_matrix"]).sum() == card["test_samples"]
    assert train_lab("motion", seed=0, source=folder, progress=False).cached
    lab = load_lab("motion")
    before = training_inputs_hash(lab, 0, folder, None)
    recording = folder / "idle" / "rec0.csv"
    recording.write_text(recording.read_text() + "0.10000,0.20000,1.30000\n")
    assert training_inputs_hash(lab, 0, folder, None) != before
