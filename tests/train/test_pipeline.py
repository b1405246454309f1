"""train_lab's cache, determinism, reference adoption and the anomaly path, on a stand-in dataset
(the real kit.data path is exercised by test_end_to_end.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import kit.train.pipeline as pipeline
import kit.train.reference as reference
from kit.train import export_result, train_lab
from kit.train.lab import load_lab, training_inputs_hash
from kit.train.card import sha256_of

from train_helpers import synthetic_dataset


@pytest.fixture
def stand_in_data(monkeypatch):
    """Replace kit.data with a small synthetic dataset and count how often it is asked for."""
    calls = []

    def fake_loader(lab, seed, source, size, progress=True):
        calls.append((lab.name, seed))
        return synthetic_dataset(lab, 240, seed)

    def short_lab(name):
        lab = load_lab(name)
        lab.training["epochs"] = min(int(lab.training.get("epochs", 4)), 6)  # seconds, not minutes
        return lab

    monkeypatch.setattr(pipeline, "load_lab_dataset", fake_loader)
    monkeypatch.setattr(pipeline, "load_lab", short_lab)
    return calls


def test_second_run_is_cached_and_force_retrains_identically(stand_in_data):
    first = train_lab("motion", seed=101, force=True, progress=False)
    assert not first.cached and first.card["accuracy_int8"] > 0.8
    second = train_lab("motion", seed=101, progress=False)
    assert second.cached and second.card == first.card and second.tflite_path == first.tflite_path
    assert len(stand_in_data) == 1  # the dataset was not even loaded again
    forced = train_lab("motion", seed=101, force=True, progress=False)
    assert not forced.cached
    assert sha256_of(forced.tflite_path) == first.card["sha256"]  # same seed, same bytes
    lab = load_lab("motion")
    assert training_inputs_hash(lab, 101, None, None) != training_inputs_hash(lab, 102, None, None)
    assert training_inputs_hash(lab, 101, None, None) != training_inputs_hash(lab, 101, None, "tiny")
    card = json.loads(first.card_path.read_text())
    assert card["source"] == "trained" and card["lab"] == "motion" and card["seed"] == 101
    assert set(card["stage_seconds"]) == {"dataset", "train", "quantize", "evaluate", "card"}
    assert card["artifacts"]["tflite"] == str(first.tflite_path)
    assert set(card["targets"]) == {"min_int8_accuracy", "max_float_int8_gap", "met"}


def test_damaged_cache_entry_is_retrained(stand_in_data):
    first = train_lab("motion", seed=103, force=True, progress=False)
    first.tflite_path.write_bytes(first.tflite_path.read_bytes()[:-8])  # sha256 no longer matches the card
    again = train_lab("motion", seed=103, progress=False)
    assert not again.cached and sha256_of(again.tflite_path) == again.card["sha256"]


def test_reference_model_is_adopted_when_inputs_match(stand_in_data, tmp_path, monkeypatch):
    trained = train_lab("motion", seed=104, force=True, progress=False)
    monkeypatch.setattr(reference, "MODELS_DIR", tmp_path)
    exported = export_result(trained, tmp_path / "motion")
    assert reference.reference_model("motion") == exported.tflite_path
    # the float Keras model travels with it (the base of transfer learning on the user's classes)
    assert (tmp_path / "motion" / "model.keras").is_file()
    assert exported.card["artifacts"]["keras"].endswith("motion/model.keras")
    # empty the cache: train_lab must now take the committed model instead of training
    import shutil

    shutil.rmtree(trained.tflite_path.parent)
    adopted = train_lab("motion", seed=104, progress=False)
    assert adopted.cached and adopted.card["source"] == "reference"
    assert adopted.card["sha256"] == trained.card["sha256"] and len(stand_in_data) == 1
    assert (adopted.tflite_path.parent / "model.keras").is_file() and "keras" in adopted.card["artifacts"]
    # a different seed does not match the reference's recorded inputs: it trains
    other_hash = training_inputs_hash(load_lab("motion"), 105, None, None)
    assert pipeline._adopt_reference("motion", other_hash, tmp_path / "cache-105") is None


def test_anomaly_lab_scores_reconstruction_error(stand_in_data):
    lab = load_lab("anomaly")
    result = train_lab("anomaly", seed=106, progress=False)
    card = result.card
    assert card["task"] == "anomaly" and card["labels"] == lab.labels
    assert card["ops"] == ["FULLY_CONNECTED"]
    assert card["input"]["shape"] == card["output"]["shape"] == lab.input_shape
    assert np.array(card["confusion_matrix"]).shape == (2, 2)
    assert card["auc_int8"] > 0.9 and card["threshold_int8"] > 0
    assert card["accuracy_int8"] > 0.8
    assert abs(card["accuracy_float"] - card["accuracy_int8"]) <= 0.05


def test_unknown_lab_is_a_clean_error():
    from kit.errors import KitError

    with pytest.raises(KitError) as error:
        train_lab("no-such-lab", progress=False)
    assert "no-such-lab" in error.value.message and error.value.hint


def _rates(schedule, steps):
    return [float(schedule(step)) for step in steps]


def test_warmup_climbs_to_the_peak_then_cosine_decays_to_five_percent():
    """[training] warmup_epochs: the rate starts at warmup_start x the peak, reaches the peak
    after the warm-up steps and ends at 5% of it; without it the schedule is the plain cosine."""
    training = {"learning_rate": 0.01, "warmup_epochs": 1, "warmup_start": 0.1}
    schedule = pipeline.learning_rate_schedule(training, epochs=4, steps_per_epoch=10)
    start, peak, end = _rates(schedule, [0, 10, 40])
    assert start == pytest.approx(0.001) and peak == pytest.approx(0.01) and end == pytest.approx(0.0005, rel=1e-3)
    climbing = _rates(schedule, range(11))
    assert all(a < b for a, b in zip(climbing, climbing[1:]))
    plain = pipeline.learning_rate_schedule({"learning_rate": 0.01}, epochs=4, steps_per_epoch=10)
    assert _rates(plain, [0, 40]) == pytest.approx([0.01, 0.0005], rel=1e-3)


def test_object_detection_calibrates_on_its_own_sample_count(monkeypatch, tmp_path):
    """[training] calibration_samples picks how many training samples the int8 PTQ sees."""
    seen = {}

    def fake_quantize(model, calibration):
        seen["count"] = len(calibration)
        return b""

    monkeypatch.setattr(pipeline, "quantize_int8", fake_quantize)
    monkeypatch.setattr(pipeline, "check_supported_ops", lambda tflite: [])
    lab = load_lab("object-detection")
    pipeline.quantize_model(lab, None, synthetic_dataset(lab, 240, 0), 0, tmp_path)
    assert seen["count"] == int(lab.training["calibration_samples"]) < 240
