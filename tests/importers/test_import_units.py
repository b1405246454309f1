"""Fast parts of `kit import`: scoring on a lab's test split and reading the calibration file
(no onnx2tf conversion; the predictors are stand-ins)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

import kit.importers.onnx as onnx_importer
import kit.train.evaluate as evaluate
from kit.importers.onnx import ImportResult, OnnxInput
from kit.train.lab import load_lab


def _anomaly_dataset(width: int) -> SimpleNamespace:
    """Normal samples are quiet, anomalies loud: a zero 'reconstruction' separates them."""
    rng = np.random.default_rng(0)

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n) % 2
        x = rng.normal(0, 0.1, (n, width)).astype(np.float32)
        x[y == 1] *= 10
        return x, y

    (x_val, y_val), (x_test, y_test) = split(40), split(40)
    return SimpleNamespace(x_val=x_val, y_val=y_val, x_test=x_test, y_test=y_test)


def test_anomaly_lab_is_scored_by_reconstruction_error(monkeypatch):
    lab = load_lab("anomaly")
    width = lab.input_shape[1]
    monkeypatch.setattr(onnx_importer, "onnx_float_outputs", lambda path, x, onnx_input: np.zeros_like(x))
    monkeypatch.setattr(evaluate, "predict_int8", lambda path, x: np.zeros_like(x))
    result = ImportResult(tflite_path=None, calibration=np.zeros((1, width)), onnx_input=OnnxInput("x", (1, width)))
    float_eval, int8_eval = onnx_importer._lab_evaluations(None, result, lab, _anomaly_dataset(width), lab.labels)
    for figures in (float_eval, int8_eval):
        assert figures.accuracy == 1.0 and figures.extra["auc"] == 1.0 and figures.extra["threshold"] > 0
        assert np.array(figures.confusion_matrix).shape == (2, 2)


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
    assert exported["artifacts"] == {"tflite": str(out / "model.tflite"), "card_json": str(out / "card.json"),
                                     "card_md": str(out / "card.md"), "onnx": "/somewhere/model.onnx"}
    assert json.loads(card_path.read_text()) == exported and (out / "card.md").is_file()
