"""Model card fields measured from a real .tflite, and the evaluation arithmetic."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from kit.tflm import measure_arena_bytes
from kit.train.card import build_card, card_markdown, card_tables, write_card
from kit.train.evaluate import (
    anomaly_evaluation,
    classification_evaluation,
    predict_int8,
    roc_auc,
)


@pytest.fixture(scope="module")
def tiny_card(tiny_model):
    y_pred = np.argmax(predict_int8(tiny_model.tflite, tiny_model.x_test), axis=1)
    int8_eval = classification_evaluation(tiny_model.y_test, y_pred, ["a", "b", "c"])
    return build_card(tiny_model.tflite, lab="tiny", labels=["a", "b", "c"], seed=0, int8_eval=int8_eval), int8_eval


def test_card_fields_measured_from_the_file(tiny_model, tiny_card):
    card, int8_eval = tiny_card
    data = tiny_model.tflite.read_bytes()
    assert card["sha256"] == hashlib.sha256(data).hexdigest()
    assert card["flash_bytes"] == len(data)
    assert 0 < card["weights_bytes"] < card["flash_bytes"]
    assert card["arena_bytes_tflm"] == measure_arena_bytes(tiny_model.tflite) > 0
    # kit's own planned arena (the compiler's memory plan) sits beside TFLM's measured one
    from kit.compile.planner import build_plan
    from kit.compile.tflite import load_model

    assert card["arena_bytes_kit"] == build_plan(load_model(tiny_model.tflite)).arena_bytes > 0
    assert card["macs_total"] == 4608 + 576 + 192 == sum(layer["macs"] for layer in card["layers"])
    assert card["params"] == 76 + 40 + 195
    assert card["input"] == {**card["input"], "shape": [1, 8, 8, 2], "dtype": "int8"}
    assert card["output"]["dtype"] == "int8" and card["output"]["zero_point"] == -128
    assert card["accuracy_int8"] == pytest.approx(int8_eval.accuracy, abs=1e-6)
    assert card["accuracy_float"] is None
    matrix = np.array(card["confusion_matrix"])
    assert matrix.shape == (3, 3) and matrix.sum() == len(tiny_model.y_test)
    assert set(card["per_class_accuracy"]) == {"a", "b", "c"}
    json.dumps(card)  # JSON-clean


def test_card_files_and_tables(tiny_card, tmp_path):
    card, _ = tiny_card
    json_path, md_path = write_card(card, tmp_path)
    assert json.loads(json_path.read_text()) == card
    markdown = md_path.read_text()
    assert card["sha256"] in markdown and "DEPTHWISE_CONV_2D" in markdown and "| 4,608 |" in markdown
    assert markdown == card_markdown(card)
    assert len(card_tables(card)) == 3  # summary, layers, confusion matrix


def test_confusion_matrix_and_per_class_accuracy():
    evaluation = classification_evaluation(np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0]), ["x", "y", "z"])
    assert evaluation.confusion_matrix == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert evaluation.accuracy == pytest.approx(0.6)
    assert evaluation.per_class_accuracy == {"x": 0.5, "y": 1.0, "z": 0.0}


def test_roc_auc_known_values():
    assert roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == 1.0
    assert roc_auc(np.array([0.9, 0.8, 0.2, 0.1]), np.array([0, 0, 1, 1])) == 0.0
    assert roc_auc(np.array([0.5, 0.5]), np.array([0, 1])) == 0.5
    # one of four positive/negative pairs misordered
    assert roc_auc(np.array([0.1, 0.6, 0.5, 0.9]), np.array([0, 0, 1, 1])) == pytest.approx(0.75)


def test_anomaly_threshold_and_balanced_accuracy():
    normal_val = np.arange(100, dtype=float)  # 90th percentile = 89.1
    scores = np.array([10.0, 95.0, 200.0, 50.0])
    y_test = np.array([0, 0, 1, 1])
    evaluation = anomaly_evaluation(scores, y_test, normal_val, 90.0, ["normal", "anomaly"])
    assert evaluation.extra["threshold"] == pytest.approx(89.1)
    assert evaluation.confusion_matrix == [[1, 1], [1, 1]]
    assert evaluation.accuracy == pytest.approx(0.5)  # (1/2 + 1/2) / 2
    assert evaluation.extra["auc"] == pytest.approx(0.75)  # 3 of 4 anomaly/normal pairs ordered


def test_lab_targets_are_checked_and_shown(tiny_card, capsys):
    from kit.cli.train import warn_unmet_targets
    from kit.train.card import summary_rows, targets_check

    targets = {"min_int8_accuracy": 0.85, "max_float_int8_gap": 0.02}
    assert targets_check(0.90, 0.89, targets)["met"] is True
    assert targets_check(0.90, 0.84, targets)["met"] is False  # below the minimum
    assert targets_check(0.95, 0.90, targets)["met"] is False  # int8 loses 5 points
    assert targets_check(0.90, None, targets)["met"] is False
    assert targets_check(0.90, 0.89, {}) is None
    card = {**tiny_card[0], "targets": targets_check(0.95, 0.90, targets)}
    assert ("lab targets", "NOT met (int8 >= 85.0%, float/int8 gap <= 2.0 pts)") in summary_rows(card)
    warn_unmet_targets(card)
    assert "misses the lab's accuracy targets" in capsys.readouterr().err
    warn_unmet_targets({**card, "targets": targets_check(0.90, 0.89, targets)})
    assert capsys.readouterr().err == ""


def test_parallel_tflm_children_with_chatty_stderr_do_not_deadlock(monkeypatch):
    """Each child writes far more than a pipe buffer to stderr before finishing."""
    import kit.train.evaluate as evaluate

    worker = ("import sys, numpy as np\nsys.stderr.write('x' * 300_000)\n"
              "np.save(sys.argv[3], np.load(sys.argv[2]))\n")
    monkeypatch.setattr(evaluate, "_WORKER", worker)
    q_in = np.arange(evaluate.PARALLEL_MIN_SAMPLES * 2, dtype=np.int8).reshape(-1, 2)
    import threading

    results = []
    thread = threading.Thread(target=lambda: results.append(evaluate._run_tflm(b"", q_in, workers=3)), daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert results, "the children's stderr pipes were not drained: _run_tflm hangs"
    assert np.array_equal(results[0], q_in)


def test_held_out_synthesizer_and_speakers_are_reported_apart(tiny_card):
    from kit.train.card import held_out_block, held_out_int8, summary_rows, targets_check

    groups = np.array(["en+m3", "en+m3", "en-us+f2", "flite:awb", "flite:awb", "flite:rms", "flite:rms", "flite:rms"])
    y_true = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    float_pred = np.array([0, 1, 2, 0, 0, 2, 0, 1])   # speakers 3/3, awb 1/2, rms 3/3
    int8_pred = np.array([0, 1, 0, 0, 0, 2, 1, 1])    # speakers 2/3, awb 1/2, rms 2/3
    labels = ["a", "b", "c"]
    block = held_out_block(groups, y_true, ["flite"], classification_evaluation(y_true, float_pred, labels),
                           classification_evaluation(y_true, int8_pred, labels))
    assert block["speakers"] == {"samples": 3, "groups": 2, "accuracy_float": 1.0, "accuracy_int8": pytest.approx(2 / 3)}
    flite = block["synthesizers"]["flite"]
    assert flite["samples"] == 5 and flite["accuracy_float"] == 0.8 and flite["accuracy_int8"] == 0.6
    assert flite["voices"]["awb"] == {"samples": 2, "accuracy_float": 0.5, "accuracy_int8": 0.5}
    assert flite["voices"]["rms"]["accuracy_int8"] == pytest.approx(2 / 3)
    assert held_out_int8(block) == 0.6
    assert held_out_block(groups, y_true, [], classification_evaluation(y_true, float_pred, labels),
                          classification_evaluation(y_true, int8_pred, labels)) is None

    targets = {"min_int8_accuracy": 0.6, "max_float_int8_gap": 0.5, "min_int8_accuracy_held_out_synthesizer": 0.85}
    assert targets_check(0.9, 0.7, targets, held_out_int8(block))["met"] is False   # flite 60% < 85%
    assert targets_check(0.9, 0.7, targets, 0.9)["met"] is True
    assert targets_check(0.9, 0.7, targets, None)["met"] is False
    card = {**tiny_card[0], "held_out": block, "targets": targets_check(0.9, 0.7, targets, 0.6)}
    rows = dict(summary_rows(card))
    assert rows["held-out speakers"] == "100.0% float, 66.7% int8 (3 clips)"
    assert rows["held-out synthesizer flite"] == "80.0% float, 60.0% int8 (5 clips)"
    assert rows["  flite voice awb"] == "50.0% float, 50.0% int8 (2 clips)"
    assert "held-out synthesizer int8 >= 85.0%" in rows["lab targets"]
    assert "held-out synthesizer flite" in card_markdown(card)
