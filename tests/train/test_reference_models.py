"""The committed reference models in models/: they load in TFLM and their cards describe them."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kit.compile.planner import build_plan
from kit.compile.tflite import load_model
from kit.paths import LABS_DIR, MODELS_DIR
from kit.tflm import TflmInterpreter
from kit.train import list_reference_models, reference_model
from kit.train.card import held_out_int8, layer_costs, targets_check
from kit.train.lab import load_lab, training_inputs_hash
from kit.train.quantize import SUPPORTED_OPS

LABS = sorted(path.parent.name for path in LABS_DIR.glob("*/lab.toml"))


@pytest.mark.parametrize("lab", LABS)
def test_reference_model_matches_its_card(lab):
    path = reference_model(lab)
    card = json.loads((MODELS_DIR / lab / "card.json").read_text())
    data = path.read_bytes()
    assert card["lab"] == lab and card["seed"] == 0
    assert card["sha256"] == hashlib.sha256(data).hexdigest()
    assert card["flash_bytes"] == len(data)
    assert card["artifacts"]["tflite"] == f"models/{lab}/model.tflite"
    assert card["sha256"] in (MODELS_DIR / lab / "card.md").read_text()
    layers = layer_costs(load_model(path))
    assert card["macs_total"] == sum(layer["macs"] for layer in layers)
    assert [layer["op"] for layer in card["layers"]] == [layer["op"] for layer in layers]
    assert set(card["ops"]) <= SUPPORTED_OPS
    assert card["arena_bytes_kit"] == build_plan(load_model(path), model_id=lab).arena_bytes
    # It runs in TFLM with the card's tensor description
    interpreter = TflmInterpreter(path)
    assert list(interpreter.input.shape) == card["input"]["shape"] and card["input"]["dtype"] == "int8"
    assert interpreter.input.scale == pytest.approx(card["input"]["scale"])
    assert interpreter.input.zero_point == card["input"]["zero_point"]
    sample = np.random.default_rng(0).integers(-128, 128, size=(2, *interpreter.input.shape[1:]), dtype=np.int8)
    assert interpreter.run(sample).shape == (2, *card["output"]["shape"][1:])
    # The acceptance targets of issue 2
    assert abs(card["accuracy_float"] - card["accuracy_int8"]) <= 0.02
    assert card["accuracy_int8"] >= (0.85 if lab == "kws" else 0.5)
    # The lab's [targets], recorded in the card and met
    assert card["targets"] == targets_check(card["accuracy_float"], card["accuracy_int8"], load_lab(lab).targets,
                                            held_out_int8(card.get("held_out")))
    assert card["targets"]["met"]


@pytest.mark.parametrize("lab", LABS)
def test_reference_card_matches_todays_training_inputs(lab):
    """`kit train LAB` adopts the committed model only when its recorded inputs hash is today's:
    a change to the lab file or to the data/feature code (kit.data, kit.features) silently turns
    adoption off. Only when the data stays byte-identical, re-stamp the cards' hash; otherwise
    regenerate the reference models (scripts/make_reference_models.sh)."""
    card = json.loads((MODELS_DIR / lab / "card.json").read_text())
    assert card["training_inputs_hash"] == training_inputs_hash(load_lab(lab), 0, None, None)


def test_kit_models_lists_every_reference_model():
    rows = list_reference_models()
    assert [row["lab"] for row in rows] == LABS
    completed = subprocess.run([str(Path(sys.executable).parent / "kit"), "models", "--json"], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert [row["sha256"] for row in json.loads(completed.stdout)] == [row["sha256"] for row in rows]


def _kit_host_int8(model: Path):
    """The int8 model's dequantised outputs from kit's host runtime: bit-exact with TFLM
    (tests/runtime/test_lab_models.py holds every reference model to it) and several times
    faster than TFLM's reference kernels on the Pi labs' 30-58 M MAC models."""
    from kit.runtime_host import invoke
    from kit.train.quantize import dequantize, quantize_features

    reference = TflmInterpreter(model)
    shape = tuple(reference.input.shape[1:])

    def predict(x: np.ndarray) -> np.ndarray:
        inputs = quantize_features(x, reference.input.scale, reference.input.zero_point).reshape((len(x), *shape))
        outputs = invoke(model, inputs)
        return dequantize(outputs, reference.output.scale, reference.output.zero_point).reshape(len(x), -1)

    return predict


@pytest.mark.slow
@pytest.mark.parametrize("lab", LABS)
def test_reference_model_scores_its_card_on_todays_data(lab):
    """Each committed model really belongs to today's data code: on the test split that
    today's generator and features make, it scores its card's int8 figure (within a point;
    feature floats may differ in the last bit across CPUs). A card whose hash was re-stamped
    over a changed pipeline fails here."""
    from kit.data import load_dataset
    from kit.train.evaluate import evaluate_predictor
    from kit.train.pipeline import _features

    card = json.loads((MODELS_DIR / lab / "card.json").read_text())
    training = load_lab(lab)
    needed = ("val", "test") if training.task == "anomaly" else ("test",)  # the threshold comes from val
    dataset = load_dataset(training.catalog_lab, seed=0, splits=needed)
    x_test, y_test = _features(dataset.x_test, training), np.asarray(dataset.y_test)
    x_val_normal = None
    if training.task == "anomaly":
        x_val_normal = _features(dataset.x_val, training)[np.asarray(dataset.y_val) == 0]
    percentile = float(training.training.get("threshold_percentile", 99.0))
    scored = evaluate_predictor(training.task, _kit_host_int8(reference_model(lab)), x_test, y_test, training.labels,
                                x_val_normal, percentile, training.detection)
    assert abs(scored.accuracy - card["accuracy_int8"]) <= 0.01, (lab, scored.accuracy, card["accuracy_int8"])
