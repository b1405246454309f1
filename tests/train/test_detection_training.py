"""`kit train object-detection` on a tiny generated set: the FOMO model trains, quantizes to the
kit runtime's ops, and its card carries the centroid F1 figures and the lab's F1 target."""

from __future__ import annotations

import json

import pytest

from kit.train.card import targets_check
from kit.train.pipeline import train_lab

pytestmark = pytest.mark.slow


def test_tiny_detection_training_writes_f1_into_the_card():
    result = train_lab("object-detection", seed=0, size="tiny", progress=False, force=True)
    card = json.loads(result.card_path.read_text())
    assert card["task"] == "detection" and card["output"]["shape"] == [1, 12, 12, 3]
    assert set(card["ops"]) <= {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "SOFTMAX"}
    for kind in ("float", "int8"):
        assert card[f"accuracy_{kind}"] == card[f"f1_{kind}"]
        assert 0.0 <= card[f"f1_{kind}"] <= 1.0 and {f"f1_apple_{kind}", f"recall_banana_{kind}"} <= set(card)
    assert card["targets"] == targets_check(card["accuracy_float"], card["accuracy_int8"],
                                            {"min_int8_f1": 0.85, "max_float_int8_gap": 0.02})
    assert "min_int8_f1" in card["targets"] and "F1 float / int8" in result.card_path.with_suffix(".md").read_text()
