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

    @property
    def accuracy(self) -> float | None:
        return None if self.correct is None else self.correct / self.samples

    @property
    def bit_exact(self) -> bool:
        return self.matches == self.samples

    def as_dict(self) -> dict[str, Any]:
        return {
            "board": self.board,
            "lab": self.lab,
            "samples": self.samples,
            "accuracy": self.accuracy,
            "bit_exact": self.bit_exact,
            "matching_samples": self.matches,
            "first_mismatch": vars(self.first_mismatch) if self.first_mismatch else None,
            "results_file": str(self.results_file) if self.results_file else None,
        }


def quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Float features to the model's int8 input, exactly as training quantized them."""
    if scale <= 0:
        raise KitError("the model's input has no quantization scale", hint="validate an int8-quantized model")
    return quantize_features(x, scale, zero_point)


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
    client: DeviceClient,
    board: str,
    lab_name: str,
    inputs: np.ndarray,
    labels: np.ndarray | None,
    reference: np.ndarray,
    results: ResultsFile,
    progress: Progress | None = None,
) -> ValidateReport:
    """Run quantized `inputs` on the board, compare with TFLM's `reference` outputs, score."""
    report = ValidateReport(board=board, lab=lab_name, samples=0, correct=0 if labels is not None else None, matches=0,
                            results_file=results.path)

    def record(index: int, output: np.ndarray) -> None:
        expected = np.asarray(reference[index], dtype=np.int8).reshape(-1)
        same = bool(np.array_equal(output, expected))
        entry: dict[str, Any] = {"type": "sample", "index": index, "bit_exact": same, "output": output.tolist()}
        if labels is not None:
            predicted = int(np.argmax(output))
            entry.update(label=int(labels[index]), predicted=predicted)
            report.correct = (report.correct or 0) + int(predicted == int(labels[index]))
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
        run_on_device(client, inputs, record)
    except DeviceError as error:
        raise DeviceError(
            f"{error.message}\n  validation stopped after {report.samples} of {len(inputs)} samples; "
            f"those results are saved in {results.path}",
            hint=error.hint,
        ) from None
    return report
