"""firmware/detect/kit_detect.c: warning-free on every toolchain, and on the host it decodes the
object-detection model's int8 output grids into exactly the objects kit.train.detection finds."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from kit.data.detection import render_detection_scene
from kit.paths import FIRMWARE_DIR, MODELS_DIR
from kit.train.detection import decode_grid

DETECT = FIRMWARE_DIR / "detect"
WARNINGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror"]
TARGETS = {
    "host-gcc": ("gcc", []),
    "cortex-m4": ("arm-none-eabi-gcc", ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"]),
    "cortex-m7": ("arm-none-eabi-gcc", ["-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard"]),
    "rv32imc": ("riscv64-unknown-elf-gcc", ["-march=rv32imc", "-misa-spec=2.2", "-mabi=ilp32", "--specs=picolibc.specs"]),
}
LABELS = ["background", "apple", "banana"]


class KitDetection(ctypes.Structure):
    _fields_ = [("row", ctypes.c_float), ("col", ctypes.c_float), ("label", ctypes.c_int16), ("score", ctypes.c_int8)]


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_decoder_compiles_warning_free(target, tmp_path):
    compiler, flags = TARGETS[target]
    if shutil.which(compiler) is None:
        pytest.fail(f"{compiler} is missing: install it with scripts/setup.sh")
    result = subprocess.run([compiler, *WARNINGS, *flags, "-c", str(DETECT / "kit_detect.c"), "-o", str(tmp_path / "d.o")],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert (tmp_path / "d.o").stat().st_size > 0


@pytest.fixture(scope="module")
def decoder(tmp_path_factory) -> ctypes.CDLL:
    out = tmp_path_factory.mktemp("detect") / "libkit_detect.so"
    subprocess.run(["gcc", *WARNINGS, "-shared", "-fPIC", str(DETECT / "kit_detect.c"), "-o", str(out)], check=True)
    library = ctypes.CDLL(str(out))
    library.kit_detect_decode.restype = ctypes.c_int32
    library.kit_detect_threshold_q.restype = ctypes.c_int32
    library.kit_detect_threshold_q.argtypes = [ctypes.c_float, ctypes.c_float, ctypes.c_int32]
    return library


def c_decode(library: ctypes.CDLL, q: np.ndarray, threshold_q: int, max_out: int = 64) -> tuple[int, list[tuple]]:
    q = np.ascontiguousarray(q, dtype=np.int8)
    rows, cols, classes = q.shape
    out = (KitDetection * max_out)()
    count = library.kit_detect_decode(q.ctypes.data_as(ctypes.POINTER(ctypes.c_int8)), rows, cols, classes,
                                      threshold_q, out, max_out)
    return count, [(d.label, round(d.row, 4), round(d.col, 4), d.score) for d in out[:max(0, min(count, max_out))]]


def model_outputs(count: int = 100) -> tuple[np.ndarray, float, int]:
    """The committed object-detection model's int8 output grids (TFLM) on rendered frames."""
    from kit.tflm import TflmInterpreter
    from kit.train.quantize import quantize_features

    interpreter = TflmInterpreter((MODELS_DIR / "object-detection" / "model.tflite").read_bytes())
    frames = np.stack([render_detection_scene(LABELS, np.random.default_rng([7, n]), 96, 4, 16, True)[0]
                       for n in range(count)]).astype(np.float32) / 255.0
    q_out = interpreter.run(quantize_features(frames, interpreter.input.scale, interpreter.input.zero_point))
    return q_out.reshape(count, 12, 12, len(LABELS)), float(interpreter.output.scale), int(interpreter.output.zero_point)


def test_c_decoder_matches_numpy_on_100_model_outputs(decoder):
    grids, scale, zero_point = model_outputs()
    threshold_q = decoder.kit_detect_threshold_q(0.5, scale, zero_point)
    objects = 0
    for q in grids:
        expected = [(d.label, round(d.row, 4), round(d.col, 4)) for d in
                    decode_grid((q.astype(np.float64) - zero_point) * scale, 0.5)]
        count, found = c_decode(decoder, q, threshold_q)
        assert count == len(expected)
        assert [f[:3] for f in found] == expected
        objects += count
    assert objects > 50  # the model does find things: the comparison is not of empty lists


def test_c_decoder_hand_case_and_limits(decoder):
    q = np.full((4, 4, 3), -128, np.int8)
    q[..., 0] = 127
    q[0, 0], q[0, 1], q[3, 3] = (-100, 100, -128), (-100, 90, -128), (-128, -100, 120)
    q[2, 0] = (10, 20, -128)  # an apple cell whose score is below the threshold
    q[2, 2] = (-128, -100, 60)  # a diagonal neighbour of the banana at (3, 3): the same object
    count, found = c_decode(decoder, q, threshold_q=50)
    assert (count, found) == (2, [(1, 0.5, 1.0, 100), (2, 3.0, 3.0, 120)])
    assert c_decode(decoder, q, threshold_q=50, max_out=1) == (2, [(1, 0.5, 1.0, 100)])
    big = np.zeros((40, 40, 2), np.int8)
    assert c_decode(decoder, big, 0)[0] == -1
    assert decoder.kit_detect_threshold_q(0.5, 1 / 256, -128) == 0
