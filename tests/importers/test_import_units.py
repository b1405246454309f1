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
