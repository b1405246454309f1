"""Accuracy figures for the model card: classification (argmax) and anomaly (reconstruction error).

The int8 model is evaluated through TFLM (kit.tflm), the project's bit-exact reference, with the
float features quantized by the model's own input scale and zero point, as a device would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kit.errors import DataError, ModelError
from kit.train.quantize import dequantize, quantize_features

# Below this many test samples a worker process costs more than it saves.
PARALLEL_MIN_SAMPLES = 600


@dataclass
class Evaluation:
    """One model's figures on the held-out test split."""

    accuracy: float
    confusion_matrix: list[list[int]]
    per_class_accuracy: dict[str, float]
    extra: dict[str, float] = field(default_factory=dict)  # anomaly: auc, threshold
    predictions: np.ndarray | None = None  # classification: the predicted class per test sample


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return matrix


def per_class_accuracy(matrix: np.ndarray, labels: list[str]) -> dict[str, float]:
    """Recall of each class (classes absent from the test split are left out)."""
    totals = matrix.sum(axis=1)
    return {label: float(matrix[i, i] / totals[i]) for i, label in enumerate(labels) if totals[i] > 0}


def classification_evaluation(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]) -> Evaluation:
    matrix = confusion_matrix(y_true, y_pred, len(labels))
    accuracy = float(np.mean(np.asarray(y_true) == np.asarray(y_pred))) if len(y_true) else 0.0
    return Evaluation(accuracy, matrix.tolist(), per_class_accuracy(matrix, labels), predictions=np.asarray(y_pred))


def subset_accuracy(evaluation: Evaluation, y_true: np.ndarray, mask: np.ndarray) -> float | None:
    """Accuracy of a classification evaluation on the test samples selected by `mask` (None if empty)."""
    if evaluation.predictions is None or not np.any(mask):
        return None
    return float(np.mean(evaluation.predictions[mask] == np.asarray(y_true)[mask]))


def roc_auc(scores: np.ndarray, is_positive: np.ndarray) -> float:
    """Area under the ROC curve by the rank-sum (Mann-Whitney) formula, ties counted half."""
    scores = np.asarray(scores, dtype=np.float64)
    is_positive = np.asarray(is_positive, dtype=bool)
    positives, negatives = scores[is_positive], scores[~is_positive]
    if len(positives) == 0 or len(negatives) == 0:
        return float("nan")
    greater = (positives[:, None] > negatives[None, :]).sum()
    ties = (positives[:, None] == negatives[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(positives) * len(negatives)))


def reconstruction_errors(x: np.ndarray, reconstruction: np.ndarray) -> np.ndarray:
    """Mean squared error per sample: the anomaly score."""
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    return np.mean((x - np.asarray(reconstruction, dtype=np.float32).reshape(len(x), -1)) ** 2, axis=1)


def anomaly_evaluation(
    test_scores: np.ndarray, y_test: np.ndarray, normal_val_scores: np.ndarray, percentile: float, labels: list[str]
) -> Evaluation:
    """Threshold at a percentile of normal validation scores; accuracy is balanced accuracy."""
    threshold = float(np.percentile(normal_val_scores, percentile))
    y_pred = (np.asarray(test_scores) > threshold).astype(np.int64)
    matrix = confusion_matrix(y_test, y_pred, len(labels))
    recalls = per_class_accuracy(matrix, labels)
    balanced = float(np.mean(list(recalls.values()))) if recalls else 0.0
    auc = roc_auc(test_scores, np.asarray(y_test) == 1)
    return Evaluation(balanced, matrix.tolist(), recalls, {"auc": auc, "threshold": threshold})


def evaluate_predictor(
    task: str,
    predict: Callable[[np.ndarray], np.ndarray],
    x_test: np.ndarray,
    y_test: np.ndarray,
    labels: list[str],
    x_val_normal: np.ndarray | None = None,
    percentile: float = 99.0,
    detection: dict | None = None,
) -> Evaluation:
    """One model's figures on the test split, whatever runs it (Keras, TFLM, onnxruntime).

    Classification: argmax of the outputs. Anomaly: reconstruction error, thresholded at
    `percentile` of the errors on normal validation samples `x_val_normal`. Detection: centroid
    F1 of the decoded output grids against the target grids `y_test` (lab's [detection] settings).
    """
    outputs = np.asarray(predict(x_test))
    if task == "detection":
        from kit.train.detection import detection_evaluation

        settings = detection or {}
        return detection_evaluation(outputs, y_test, labels, float(settings.get("score_threshold", 0.5)),
                                    float(settings.get("match_distance_cells", 1.5)))
    if task == "anomaly":
        if x_val_normal is None or len(x_val_normal) == 0:
            raise DataError("an anomaly model needs normal validation samples for its threshold",
                            "check that the dataset's validation split holds normal (label 0) samples")
        val_scores = reconstruction_errors(x_val_normal, predict(x_val_normal))
        return anomaly_evaluation(reconstruction_errors(x_test, outputs), y_test, val_scores, percentile, labels)
    return classification_evaluation(y_test, outputs.reshape(len(outputs), -1).argmax(axis=1), labels)


def predict_float(keras_model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Keras outputs (probabilities or reconstructions) for a batch.

    Calls the model directly on chunks: `model.predict` builds a tf.data pipeline per call,
    which is slower for small test sets and logs C++ warnings."""
    x = np.asarray(x, dtype=np.float32)
    chunks = [np.asarray(keras_model(x[i:i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
    return np.concatenate(chunks) if chunks else np.zeros((0,), np.float32)


_WORKER = """
import sys
import numpy as np
from kit.tflm import TflmInterpreter
np.save(sys.argv[3], TflmInterpreter(sys.argv[1]).run(np.load(sys.argv[2])))
"""


def _run_tflm(model: bytes, q_in: np.ndarray, workers: int) -> np.ndarray:
    """TFLM outputs for a batch, split over child processes when the batch is large.

    TFLM holds the GIL while it invokes, so threads do not help; plain child processes (not
    multiprocessing, which re-imports the caller's __main__) each run one slice from files."""
    from kit.tflm import TflmInterpreter

    if workers <= 1 or len(q_in) < PARALLEL_MIN_SAMPLES:
        return TflmInterpreter(model).run(q_in)
    with tempfile.TemporaryDirectory(prefix="kit-tflm-eval-") as folder:
        model_path = Path(folder) / "model.tflite"
        model_path.write_bytes(model)
        children = []
        for index, chunk in enumerate(np.array_split(q_in, workers)):
            np.save(Path(folder) / f"in{index}.npy", chunk)
            children.append(subprocess.Popen(
                [sys.executable, "-c", _WORKER, str(model_path), str(Path(folder) / f"in{index}.npy"),
                 str(Path(folder) / f"out{index}.npy")], stderr=subprocess.PIPE))
        # communicate() drains each child's stderr while it runs: wait() first could block forever
        # on a child whose stderr pipe is full.
        errors = [child.communicate()[1] for child in children]
        failures = [error for child, error in zip(children, errors) if child.returncode != 0]
        if failures:
            raise ModelError("TensorFlow Lite Micro failed while evaluating the int8 model: "
                             + failures[0].decode(errors="replace").strip()[-300:],
                             "check that the model loads with kit.tflm.TflmInterpreter")
        return np.concatenate([np.load(Path(folder) / f"out{i}.npy") for i in range(len(children))])


def predict_int8(tflite: bytes | Path, x: np.ndarray, workers: int | None = None) -> np.ndarray:
    """TFLM outputs, dequantized to floats, for float features quantized like on the device."""
    from kit.tflm import TflmInterpreter

    model = Path(tflite).read_bytes() if isinstance(tflite, (str, Path)) else bytes(tflite)
    interpreter = TflmInterpreter(model)
    q_in = quantize_features(x, interpreter.input.scale, interpreter.input.zero_point)
    q_out = _run_tflm(model, q_in, workers if workers is not None else (os.cpu_count() or 1))
    return dequantize(q_out, interpreter.output.scale, interpreter.output.zero_point).reshape(len(x), -1)
