"""`kit validate`: the lab's held-out test set on the board, compared bit for bit with TFLM.

Accuracy on the board tells a student the deployed model still works; bit-exactness against
the TFLM host interpreter tells them kit's runtime computes exactly what TFLM computes (any
difference is a bug, and the first differing sample is shown with both output vectors).
Each sample's result is recorded as it arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from kit.bench.results import ResultsFile
from kit.errors import DeviceError, KitError
from kit.protocol import DeviceClient
from kit.train.quantize import quantize_features

Progress = Callable[[int], None]


@dataclass
class Mismatch:
    index: int
    device: list[int]
    reference: list[int]


@dataclass
class ValidateReport:
    board: str
    lab: str
    samples: int
    correct: int | None
    matches: int
    first_mismatch: Mismatch | None = None
    results_file: Path | None = None
    labels: list[str] = field(default_factory=list)
    balanced: bool = False  # anomaly labs: mean per-class recall, as on the model card
    class_total: dict[int, int] = field(default_factory=dict)
    class_correct: dict[int, int] = field(default_factory=dict)
    test_set: str = ""                  # which samples: "full", or the smaller generated set used
    card_accuracy: float | None = None  # the model card's int8 figure (its full test split)
    test_set_text: str = ""             # --source: which of the student's files were used, in words
    detection: dict[str, float] | None = None  # detection labs: centroid precision / recall / f1 on the board
    # labs with K-means beside the classifier: known test windows vs motions never seen in training
    anomaly: dict[str, Any] | None = None

    @property
    def accuracy(self) -> float | None:
        if self.detection is not None:
            return self.detection["f1"]
        if self.correct is None or self.samples == 0:
            return None
        if self.balanced:
            recalls = [self.class_correct.get(c, 0) / total for c, total in self.class_total.items() if total]
            return sum(recalls) / len(recalls) if recalls else None
        return self.correct / self.samples

    @property
    def accuracy_kind(self) -> str:
        if self.detection is not None:
            return "centroid F1"
        return "balanced accuracy" if self.balanced else "accuracy"

    @property
    def bit_exact(self) -> bool:
        return self.matches == self.samples

    def as_dict(self) -> dict[str, Any]:
        return {
            "board": self.board,
            "lab": self.lab,
            "samples": self.samples,
            "accuracy": self.accuracy,
            "accuracy_kind": self.accuracy_kind,
            "bit_exact": self.bit_exact,
            "matching_samples": self.matches,
            "first_mismatch": vars(self.first_mismatch) if self.first_mismatch else None,
            "results_file": str(self.results_file) if self.results_file else None,
            "test_set": self.test_set,
            "test_set_text": self.test_set_text,
            "card_accuracy": self.card_accuracy,
            "detection": self.detection,
            "anomaly": self.anomaly,
        }


def quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Float features to the model's int8 input, exactly as training quantized them."""
    if scale <= 0:
        raise KitError("the model's input has no quantization scale", hint="validate an int8-quantized model")
    return quantize_features(x, scale, zero_point)


@dataclass
class Scorer:
    """Turns one int8 output into a predicted class, the way the model card scored the model:
    argmax for classifiers; for anomaly detectors, the reconstruction error of the dequantized
    output against the float features, above the card's int8 threshold = anomaly."""

    labels: np.ndarray
    anomaly: bool = False
    features: np.ndarray | None = None
    output_scale: float = 0.0
    output_zero_point: int = 0
    threshold: float = 0.0
    # detection labs: labels are FOMO target grids; the board's output grids are decoded on the host
    detection_labels: list[str] | None = None
    detection_settings: dict[str, Any] = field(default_factory=dict)

    def detection_figures(self, outputs: list[np.ndarray]) -> dict[str, float]:
        """Centroid precision / recall / F1 (overall and per class) of the board's output grids."""
        from kit.train.detection import detection_evaluation

        assert self.detection_labels is not None
        scores = (np.stack(outputs).astype(np.float32) - self.output_zero_point) * self.output_scale
        evaluation = detection_evaluation(scores, self.labels[:len(outputs)], self.detection_labels,
                                          float(self.detection_settings.get("score_threshold", 0.5)),
                                          float(self.detection_settings.get("match_distance_cells", 1.5)))
        return {key: round(value, 6) for key, value in evaluation.extra.items()}

    def predict(self, index: int, output: np.ndarray) -> int:
        if not self.anomaly:
            return int(np.argmax(output))
        assert self.features is not None
        reconstruction = (output.astype(np.float32) - self.output_zero_point) * self.output_scale
        error = float(np.mean((self.features[index].reshape(-1).astype(np.float32) - reconstruction) ** 2))
        return int(error > self.threshold)


def as_signed(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.int8)


def run_on_device(client: DeviceClient, inputs: np.ndarray, on_output: Callable[[int, np.ndarray], None]) -> None:
    """Load and run each input; `on_output(index, int8 outputs)` as each one comes back."""
    if client.info is None:
        raise DeviceError(
            "this board speaks only the MLPerf Tiny protocol, which does not return raw outputs",
            hint="flash it with kit firmware (`kit flash BOARD LAB`) to validate bit-exactness",
        )
    expected = client.info.input_bytes
    for index, sample in enumerate(inputs):
        data = np.ascontiguousarray(sample).tobytes()
        if len(data) != expected:
            raise KitError(
                f"an input has {len(data)} bytes but the board's model takes {expected}",
                hint="the board runs a different model: `kit flash` it with this lab's model",
            )
        client.load(data)
        on_output(index, as_signed(client.kit_infer(1).output).copy())


def validate(
    client: DeviceClient | None,
    board: str,
    lab_name: str,
    inputs: np.ndarray,
    scorer: Scorer | None,
    reference: np.ndarray,
    results: ResultsFile,
    progress: Progress | None = None,
    runner: Callable[[np.ndarray, Callable[[int, np.ndarray], None]], None] | None = None,
) -> ValidateReport:
    """Run quantized `inputs` on the board, compare with the `reference` outputs (TFLM's), score.
    `runner(inputs, on_output)` replaces the serial client for boards reached otherwise (a Pi)."""
    report = ValidateReport(board=board, lab=lab_name, samples=0, correct=0 if scorer is not None else None, matches=0,
                            results_file=results.path, balanced=bool(scorer and scorer.anomaly))
    detecting = scorer is not None and scorer.detection_labels is not None
    grids: list[np.ndarray] = []

    def record(index: int, output: np.ndarray) -> None:
        expected = np.asarray(reference[index], dtype=np.int8).reshape(-1)
        same = bool(np.array_equal(output, expected))
        entry: dict[str, Any] = {"type": "sample", "index": index, "bit_exact": same, "output": output.tolist()}
        if detecting:
            grids.append(output)
        elif scorer is not None:
            label, predicted = int(scorer.labels[index]), scorer.predict(index, output)
            entry.update(label=label, predicted=predicted)
            report.correct = (report.correct or 0) + int(predicted == label)
            report.class_total[label] = report.class_total.get(label, 0) + 1
            report.class_correct[label] = report.class_correct.get(label, 0) + int(predicted == label)
        if not same:
            entry["reference"] = expected.tolist()
            if report.first_mismatch is None:
                report.first_mismatch = Mismatch(index, output.tolist(), expected.tolist())
        results.append(entry)
        report.samples += 1
        report.matches += int(same)
        if progress:
            progress(report.samples)

    try:
        if runner is not None:
            runner(inputs, record)
        else:
            assert client is not None
            run_on_device(client, inputs, record)
    except DeviceError as error:
        raise DeviceError(
            f"{error.message}\n  validation stopped after {report.samples} of {len(inputs)} samples; "
            f"those results are saved in {results.path}",
            hint=error.hint,
        ) from None
    if detecting and grids:
        assert scorer is not None
        report.correct = None
        report.detection = scorer.detection_figures(grids)
    return report
