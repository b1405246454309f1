"""THE acceptance test: kit's runtime equals TFLM bit for bit on the MLPerf Tiny models."""

from __future__ import annotations

import numpy as np
import pytest

from kit.runtime_host import compile_model, invoke
from kit.tflm import TflmInterpreter
from tests.runtime.conftest import random_inputs

MODELS = [
    "kws_ref_model",
    "ad01_int8",
    "str_ww_ref_model",
    pytest.param("pretrainedResnet_quant", marks=pytest.mark.slow),
    pytest.param("vww_96_int8", marks=pytest.mark.slow),
]
SAMPLES = 100


@pytest.mark.parametrize("name", MODELS)
def test_outputs_match_tflm_bit_for_bit(name, mlperf_models):
    compiled = compile_model(mlperf_models[name])
    inputs = random_inputs(compiled.input_shape, SAMPLES, seed=len(name))
    expected = TflmInterpreter(mlperf_models[name]).run(inputs)
    actual = invoke(compiled, inputs)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    mismatched = np.flatnonzero((actual != expected).reshape(SAMPLES, -1).any(axis=1))
    assert mismatched.size == 0, (
        f"{mismatched.size} of {SAMPLES} samples differ; first {mismatched[0]}: "
        f"kit {actual[mismatched[0]].tolist()} tflm {expected[mismatched[0]].tolist()}"
    )
    # random inputs must still exercise the model: outputs are not all identical
    assert len({row.tobytes() for row in actual}) > 1


def test_kit_arena_is_no_larger_than_tflm(kws_model, mlperf_models):
    from kit.tflm import measure_arena_bytes

    assert kws_model.arena_bytes_kit <= measure_arena_bytes(mlperf_models["kws_ref_model"])
