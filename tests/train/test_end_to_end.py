"""`kit train` end to end through the real dataset generator (kit.data), as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kit.paths import MODELS_DIR
from kit.tflm import TflmInterpreter

KIT = str(Path(sys.executable).parent / "kit")


def _kit_train_json(*args: str) -> dict:
    completed = subprocess.run([KIT, "train", *args, "--json"], capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout)  # stdout holds the card and nothing else


@pytest.mark.slow
def test_kit_train_motion_reproduces_the_reference_then_is_cached(tmp_path):
    """The cheapest lab at full size: retraining (forced, so the reference is not adopted)
    gives the reference's architecture and accuracy within a point; a rerun is a cache hit."""
    reference = json.loads((MODELS_DIR / "motion" / "card.json").read_text())
    card = _kit_train_json("motion", "--force")
    assert card["lab"] == "motion" and card["seed"] == 0 and card["source"] == "trained"
    assert [(l["op"], l["params"], l["macs"]) for l in card["layers"]] == \
        [(l["op"], l["params"], l["macs"]) for l in reference["layers"]]
    assert abs(card["accuracy_int8"] - reference["accuracy_int8"]) <= 0.01
    assert abs(card["accuracy_float"] - card["accuracy_int8"]) <= 0.02
    assert card["training_inputs_hash"] == reference["training_inputs_hash"]
    # Not the same bytes: float training is not bit-reproducible across CPUs (the contract is
    # the architecture and the accuracy within a point, checked above).
    tflite = Path(card["artifacts"]["tflite"])
    assert TflmInterpreter(tflite).input.shape == (1, 57)
    again = _kit_train_json("motion", "--out", str(tmp_path / "out"))
    assert again["cached"] is True and again["sha256"] == card["sha256"]
    assert (tmp_path / "out" / "model.tflite").read_bytes() == tflite.read_bytes()
    assert again["artifacts"]["tflite"] == str(tmp_path / "out" / "model.tflite")


def test_kit_train_unknown_lab_is_a_clean_error():
    completed = subprocess.run([KIT, "train", "no-such-lab", "--json"], capture_output=True, text=True)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr and "no-such-lab" in completed.stderr
    assert completed.stdout == ""
