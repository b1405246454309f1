"""TensorFlow Lite Micro on the host: the reference every kit output is compared against.

The tflite-micro wheel runs the real TFLM C++ interpreter in-process. Two of its habits shape
this module: it reports arena usage only on the C stderr, and an arena that is too small can
crash the process instead of raising, so arena measurement runs in a child process.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kit.errors import ModelError

DEFAULT_ARENA_BYTES = 4 * 1024 * 1024
_ARENA_LINE = re.compile(rb"Arena allocation total (\d+) bytes")


def _runtime():
    from tflite_micro.python.tflite_micro import runtime

    return runtime


@dataclass(frozen=True)
class TensorInfo:
    """Shape, type and quantization of a model input or output as TFLM sees it."""

    shape: tuple[int, ...]
    dtype: np.dtype
    scale: float
    zero_point: int


def _tensor_info(details: dict) -> TensorInfo:
    quant = details.get("quantization_parameters", {})
    scales = quant.get("scales", [])
    zero_points = quant.get("zero_points", [])
    return TensorInfo(
        shape=tuple(int(d) for d in details["shape"]),
        dtype=np.dtype(details["dtype"]),
        scale=float(scales[0]) if len(scales) else 0.0,
        zero_point=int(zero_points[0]) if len(zero_points) else 0,
    )


class TflmInterpreter:
    """One TFLM interpreter for one model; `run` takes a batch along the first axis."""

    def __init__(self, model: bytes | Path, arena_bytes: int = DEFAULT_ARENA_BYTES) -> None:
        data = Path(model).read_bytes() if isinstance(model, (str, Path)) else bytes(model)
        with _captured_stderr() as log:
            try:
                self._interpreter = _runtime().Interpreter.from_bytes(data, arena_size=arena_bytes)
                error = None
            except Exception as raised:  # TFLM raises a bare RuntimeError; its reason is on fd 2
                error = raised
        if error is not None:
            raise ModelError(
                f"TensorFlow Lite Micro cannot load this model: {tflm_reason(log[0], error)}",
                "check that the file is a valid int8 .tflite made for microcontrollers",
            ) from error
        self.input = _tensor_info(self._interpreter.get_input_details(0))
        self.output = _tensor_info(self._interpreter.get_output_details(0))

    def invoke_one(self, sample: np.ndarray) -> np.ndarray:
        """Run one input (any shape with the right element count) and return the output."""
        x = np.asarray(sample, dtype=self.input.dtype).reshape(self.input.shape)
        self._interpreter.set_input(x, 0)
        self._interpreter.invoke()
        return np.array(self._interpreter.get_output(0)).reshape(self.output.shape)

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Run every sample of a batch; output has shape (N, *output.shape[1:])."""
        batch = np.asarray(batch)
        per_sample = int(np.prod(self.input.shape))
        samples = batch.reshape(-1, per_sample)
        outputs = [self.invoke_one(sample).reshape(self.output.shape[1:]) for sample in samples]
        return np.stack(outputs) if outputs else np.zeros((0, *self.output.shape[1:]), self.output.dtype)


def run_tflm(model: bytes | Path, batch: np.ndarray) -> np.ndarray:
    """Reference outputs of TFLM for a batch of inputs."""
    return TflmInterpreter(model).run(batch)


_PROBE = """
import sys
from tflite_micro.python.tflite_micro import runtime
data = open(sys.argv[1], 'rb').read()
it = runtime.Interpreter.from_bytes(data, arena_size=int(sys.argv[2]))
it.print_allocations()
"""


class TflmAllocationError(ModelError):
    """TFLM itself cannot allocate the model (an op it has no kernel for, say): kit's own engine
    may still run it, so `kit convert` writes kit's C and says why the TFLM arrays are missing."""


def measure_arena_bytes(model: bytes | Path, arena_bytes: int = DEFAULT_ARENA_BYTES) -> int:
    """Arena bytes TFLM allocates for the model on this 64-bit host (a child process probes it)."""
    data = Path(model).read_bytes() if isinstance(model, (str, Path)) else bytes(model)
    with tempfile.NamedTemporaryFile(suffix=".tflite", delete=False) as handle:
        handle.write(data)
        path = handle.name
    try:
        completed = subprocess.run(
            [sys.executable, "-c", _PROBE, path, str(arena_bytes)],
            capture_output=True,
            timeout=120,
        )
    finally:
        os.unlink(path)
    match = _ARENA_LINE.search(completed.stderr + completed.stdout)
    if completed.returncode != 0 or not match:
        output = (completed.stderr + completed.stdout).decode(errors="replace")
        reason = tflm_reason(output)
        if completed.returncode < 0 and reason == _NO_REASON:
            reason = f"the TFLM process was killed by signal {-completed.returncode} before it said why"
        raise TflmAllocationError(
            f"TensorFlow Lite Micro could not allocate this model: {reason}",
            "check that the model is a valid full-integer .tflite using ops TFLM supports",
        )
    return int(match.group(1))


_NO_REASON = "TFLM gave no reason"
_MAX_REASON_LINES = 4


def tflm_reason(log: str, error: BaseException | None = None) -> str:
    """TFLM's own explanation from its log (what MicroPrintf wrote before the Python wrapper
    raised its bare 'failed to allocate tensors'), without the Python traceback; the last
    distinct lines, joined. Falls back to the exception text, then to saying there was none."""
    lines: list[str] = []
    for raw in log.split("Traceback (most recent call last)")[0].splitlines():
        line = raw.strip()
        if line and line not in lines:
            lines.append(line)
    if lines:
        return " | ".join(lines[-_MAX_REASON_LINES:])
    text = str(error).strip() if error is not None else ""
    if not text:
        tail = [line.strip() for line in log.strip().splitlines() if line.strip()]
        text = tail[-1] if tail else ""
    return text or _NO_REASON


@contextlib.contextmanager
def _captured_stderr():
    """Collect what C code writes to fd 2 (TFLM's MicroPrintf) while the block runs; the text
    is in the yielded list's only item afterwards."""
    captured = [""]
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured[0] = sink.read().decode(errors="replace")
