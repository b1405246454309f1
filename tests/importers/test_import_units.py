"""Fast parts of `kit import`: reading the calibration file and exporting (no onnx2tf
conversion; the anomaly scoring runs end to end in test_onnx_import.py)."""

from __future__ import annotations

import numpy as np


def _bad_calibration_files(folder):
    (folder / "text.npy").write_text("0.1, 0.2, 0.3\n")
    np.save(folder / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(folder / "archive.npz", x=np.zeros((2, 3), np.float32))
    (folder / "empty.npy").write_bytes(b"")
    return ["text.npy", "pickled.npy", "archive.npz", "empty.npy"]


def test_unreadable_calibration_file_is_a_clean_error(tmp_path):
    from click.testing import CliRunner

    from kit.cli import main

    model = tmp_path / "model.onnx"
    model.write_bytes(b"not read: the calibration file is refused first")
    for name in _bad_calibration_files(tmp_path):
        result = CliRunner().invoke(main, ["import", str(model), "--calibration", str(tmp_path / name)])
        assert result.exit_code == 2, (name, result.output)
        assert "cannot read calibration file" in result.output and "numpy.save" in result.output, name
        assert "Traceback" not in result.output


def test_export_model_points_the_card_at_the_out_folder(tmp_path):
    import json

    from kit.paths import MODELS_DIR
    from kit.train.pipeline import export_model

    card = {**json.loads((MODELS_DIR / "motion" / "card.json").read_text()),
            "artifacts": {"tflite": "/cache/model.tflite", "onnx": "/somewhere/model.onnx", "keras": "/cache/k"}}
    tflite, card_path, exported = export_model(MODELS_DIR / "motion" / "model.tflite", card, tmp_path / "out",
                                               keep=("onnx",))
    out = (tmp_path / "out").resolve()
    assert tflite == out / "model.tflite" and tflite.is_file() and card_path == out / "card.json"
    # the float Keras model beside the reference (models/motion/model.keras) goes along
    assert exported["artifacts"] == {"tflite": str(out / "model.tflite"), "card_json": str(out / "card.json"),
                                     "card_md": str(out / "card.md"), "onnx": "/somewhere/model.onnx",
                                     "keras": str(out / "model.keras")}
    assert (out / "model.keras").is_file()
    assert json.loads(card_path.read_text()) == exported and (out / "card.md").is_file()
