"""Damaged model files must give a ModelError: never another exception, never a hang."""

from __future__ import annotations

import numpy as np
import pytest

from kit.compile.planner import build_plan
from kit.compile.tflite import load_model
from kit.errors import ModelError


def _load_and_plan(data: bytes) -> None:
    """Reading may succeed on a lucky corruption; planning must then succeed or refuse cleanly."""
    model = load_model(data)
    build_plan(model)


def _assert_clean(data: bytes) -> None:
    try:
        _load_and_plan(data)
    except ModelError as error:
        assert error.message and error.hint
    # any other exception propagates and fails the test


@pytest.fixture(scope="module")
def seed_models(mlperf_models) -> list[bytes]:
    return [mlperf_models[name].read_bytes() for name in ("kws_ref_model", "ad01_int8")]


@pytest.mark.timeout(300)
def test_truncated_files(seed_models):
    rng = np.random.default_rng(11)
    for data in seed_models:
        for cut in [0, 1, 7, 8, 16, 100, len(data) // 2, len(data) - 1] + list(rng.integers(0, len(data), 40)):
            truncated = data[: int(cut)]
            with pytest.raises(ModelError):
                # a truncated flatbuffer always loses referenced bytes (buffers sit at the end)
                _load_and_plan(truncated)


@pytest.mark.timeout(300)
def test_random_byte_flips(seed_models):
    rng = np.random.default_rng(12)
    for data in seed_models:
        for _ in range(150):
            corrupted = bytearray(data)
            # concentrate flips in the first 4 KiB, where the tables and offsets live
            for position in rng.integers(0, min(len(data), 4096), int(rng.integers(1, 6))):
                corrupted[int(position)] = int(rng.integers(0, 256))
            _assert_clean(bytes(corrupted))


@pytest.mark.timeout(120)
def test_random_bytes_and_wrong_files(tmp_path):
    rng = np.random.default_rng(13)
    for size in list(rng.integers(0, 5000, 100)):
        with pytest.raises(ModelError):
            load_model(rng.integers(0, 256, int(size), dtype=np.uint8).tobytes())
    fake = bytearray(rng.integers(0, 256, 2000, dtype=np.uint8).tobytes())
    fake[4:8] = b"TFL3"  # right identifier, garbage tables
    for _ in range(50):
        fake[0:4] = int(rng.integers(0, 2000)).to_bytes(4, "little")
        _assert_clean(bytes(fake))
    text = tmp_path / "notes.tflite"
    text.write_text("this is not a model\n" * 20)
    with pytest.raises(ModelError, match="not a TensorFlow Lite flatbuffer"):
        load_model(text)
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "missing.tflite")
    with pytest.raises(ModelError, match="folder"):
        load_model(tmp_path)
