"""The student's own classes: an IMU lab with its own classes, and the near-chance diagnosis with
its exit code. Own words (kws transfer learning, flash, validate --source on the twin) are tested
once, in the student's whole loop (test_student_loop.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kit.cli import main
from kit.train.diagnose import diagnose, diagnosis_text, near_chance, silence_label

pytestmark = pytest.mark.timeout(900)


def kit(*args: str):
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, " ".join(result.stderr.split())


def card_json(out: str) -> dict:
    """The card `--json` printed: in-process, TensorFlow's converter also prints to sys.stdout
    (a subprocess's stdout is kept clean by kit.train.quantize at the file-descriptor level)."""
    return json.loads(out[out.index('{\n  "'):])


def write_motion_folder(root: Path, modes: dict[str, str], recordings: int = 8) -> Path:
    """Own class names, each recorded like one of the simulator's transport modes (5 s at 50 Hz)."""
    from kit.data.motion import motion_window

    for number, (label, mode) in enumerate(modes.items()):
        (root / label).mkdir(parents=True)
        for take in range(recordings):
            signal = motion_window(mode, np.random.default_rng([91, number, take]), 250, 50.0)
            rows = ["ax,ay,az"] + [",".join(f"{v:.5f}" for v in row) for row in signal]
            (root / label / f"take{take}.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.mark.slow
def test_own_motion_classes_train_above_chance(tmp_path):
    folder = write_motion_folder(tmp_path / "moves", {"shelf": "idle", "truck": "terrestrial", "boat": "maritime"})
    code, out, err = kit("train", "motion", "--source", str(folder), "--json")
    assert code == 0, err
    card = card_json(out)
    assert card["labels"] == ["boat", "shelf", "truck"] and card["output"]["shape"] == [1, 3]
    # whole recordings are held out: 2 windows each
    assert all(name.endswith(".csv") for name in card["own_data"]["test_files"])
    print(f"own motion: float {card['accuracy_float']:.3f}, int8 {card['accuracy_int8']:.3f}")
    assert card["accuracy_int8"] >= 0.6


def test_near_chance_names_silent_classes_imbalance_and_one_class_answers():
    card = {"task": "classification", "labels": ["box", "lid", "wheel"], "accuracy_int8": 0.36, "test_samples": 9,
            "confusion_matrix": [[3, 0, 0], [3, 0, 0], [3, 0, 0]]}
    metadata = {"feature_type": "mfcc", "augmented_copies": 8,
                "class_levels": {"box": -20.0, "lid": -62.0, "wheel": -22.0},
                "counts": {"train": {"box": 9 * 40, "lid": 9 * 10, "wheel": 9 * 12}}}
    found = diagnose(card, metadata)
    assert found is not None and found["chance"] == pytest.approx(1 / 3, abs=1e-4)
    text = diagnosis_text(found)
    assert "int8 accuracy 36.0%" in text and "chance is 33.3%" in text
    assert "lid -62 dBFS" in text                          # nearly silent
    assert "box has 40 training examples, lid 10" in text  # unbalanced
    assert "lid 10, wheel 12" in text                      # too few
    assert "answers box for 9 of 9" in text                # one class for everything
    assert "only 9 test examples" in text


def test_the_labs_own_silence_class_is_quiet_by_design():
    """kws-yesno's background class is `noise` ([dataset] silence_label): its quiet clips are no
    cause, while the same levels in a class that should hold words still are."""
    from kit.data.spec import lab_spec

    card = {"task": "classification", "labels": ["yes", "no", "noise", "unknown"], "accuracy_int8": 0.3,
            "test_samples": 40, "confusion_matrix": []}
    metadata = {"feature_type": "mfcc", "class_levels": {"yes": -20.0, "no": -21.0, "noise": -60.0, "unknown": -50.0}}
    quiet = silence_label(lab_spec("kws-yesno").dataset)
    assert quiet == "noise" and silence_label(lab_spec("kws").dataset) == "_silence_" and silence_label({}) == "_silence_"
    text = diagnosis_text(diagnose(card, metadata, quiet))
    assert "unknown -50 dBFS" in text and "noise -60" not in text
    assert "noise -60 dBFS" in diagnosis_text(diagnose(card, metadata))  # another lab's quiet class is not this one


def test_clearly_above_chance_is_not_diagnosed():
    card = {"task": "classification", "labels": ["a", "b", "c"], "accuracy_int8": 0.8, "confusion_matrix": []}
    assert diagnose(card, {}) is None
    assert near_chance(0.30, 12) and not near_chance(0.40, 12) and near_chance(0.45, 3)


def test_kit_train_exits_3_when_near_chance(monkeypatch, tmp_path):
    """The CLI prints the card and the next steps, then the diagnosis, and exits 3 (not 0, not 2)."""
    import kit.train as train
    from kit.paths import MODELS_DIR
    from kit.train.pipeline import TrainResult

    card = {"lab": "kws", "task": "classification", "labels": ["a", "b"], "accuracy_int8": 0.5, "accuracy_float": 0.5,
            "own_data": {"test_files": ["a/1.wav", "b/1.wav"], "base": "test"},
            "diagnosis": {"near_chance": True, "accuracy_int8": 0.5, "chance": 0.5, "threshold": 0.625,
                          "reasons": ["too few examples: a 4, b 4 for training"]}}
    result = TrainResult(MODELS_DIR / "kws" / "model.tflite", tmp_path / "card.json", card, cached=True)
    monkeypatch.setattr(train, "train_lab", lambda *args, **kwargs: result)
    monkeypatch.setattr("kit.train.card.card_tables", lambda card: [])
    code, out, err = kit("train", "kws", "--source", str(tmp_path))
    assert code == 3
    assert "kit flash BOARD kws --model" in " ".join(out.split())
    assert "near chance: int8 accuracy 50.0%" in err and "too few examples: a 4, b 4" in err and "exit code 3" in err
