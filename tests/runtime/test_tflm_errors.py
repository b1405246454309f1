"""When TFLM itself cannot allocate a model, kit's message carries TFLM's reason (what its
MicroPrintf wrote), not the Python wrapper's bare RuntimeError or an empty colon."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit.errors import ModelError
from kit.tflm import TflmInterpreter, measure_arena_bytes, tflm_reason

MLPERF_KWS = "kws_ref_model"


def _model(mlperf_models) -> Path:
    return Path(mlperf_models[MLPERF_KWS])


def test_arena_probe_names_tflm_reason(mlperf_models):
    with pytest.raises(ModelError) as raised:
        measure_arena_bytes(_model(mlperf_models), arena_bytes=2000)
    message = str(raised.value)
    assert "could not allocate this model: " in message
    assert "Failed to allocate" in message  # TFLM's own words
    assert "Traceback" not in message and "RuntimeError" not in message
    assert not message.rstrip().endswith(":")


def test_interpreter_names_tflm_reason(mlperf_models):
    with pytest.raises(ModelError) as raised:
        TflmInterpreter(_model(mlperf_models), arena_bytes=2000)
    assert "Failed to allocate" in str(raised.value)


def test_reason_is_the_log_without_the_traceback():
    log = ("Failed to allocate tail memory. Requested: 104\r\nNode CONV_2D (number 0) failed to prepare\r\n"
           "Traceback (most recent call last):\n  File \"x\", line 1\nRuntimeError: TFLM failed to allocate tensors\n")
    assert tflm_reason(log) == "Failed to allocate tail memory. Requested: 104 | Node CONV_2D (number 0) failed to prepare"
    assert tflm_reason("", RuntimeError("bad flatbuffer")) == "bad flatbuffer"
    assert tflm_reason("Traceback (most recent call last):\nRuntimeError: boom\n") == "RuntimeError: boom"
    assert tflm_reason("") == "TFLM gave no reason"
