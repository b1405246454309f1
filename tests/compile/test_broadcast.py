"""ADD and MUL decide broadcasting by shape, not element count: [1,4] x [4,1] -> [4,4]."""

from __future__ import annotations

import numpy as np
import pytest

from kit.compile.planner import build_plan
from kit.compile.tflite import load_model

from . import tiny_models


@pytest.fixture(scope="module")
def outer_mul() -> bytes:
    return tiny_models.outer_product_mul()


def _mul(plan):
    return next(op for op in plan.ops if op.op == "MUL" and all(plan.tensors[t].offset is not None for t in op.inputs))


def test_equal_element_counts_with_different_shapes_broadcast(outer_mul):
    plan = build_plan(load_model(outer_mul))
    mul = _mul(plan)
    first, second = (plan.tensors[t] for t in mul.inputs)
    assert first.shape != second.shape and first.nbytes == second.nbytes == 4
    assert mul.params["requires_broadcast"] is True
    assert mul.params["output_shape4"] == [1, 1, 4, 4]
    assert mul.params["input1_shape4"] != mul.params["input2_shape4"]


def test_same_shapes_do_not_broadcast(mlperf_models):
    plan = build_plan(load_model(mlperf_models["pretrainedResnet_quant"]))
    adds = [op for op in plan.ops if op.op == "ADD"]
    assert all(
        op.params["requires_broadcast"] == (plan.tensors[op.inputs[0]].shape != plan.tensors[op.inputs[1]].shape)
        for op in adds
    )
    # resnet's residual sums (same shapes) are fused into the CONV_2D before them (kit.compile.fuse)
    fused = [op.params["fused_add"] for op in plan.ops if "fused_add" in op.params]
    assert fused and not any(params["requires_broadcast"] for params in fused)


def test_outer_product_mul_matches_tflm(outer_mul, tmp_path):
    from kit.runtime_host import compile_model, invoke
    from kit.tflm import TflmInterpreter

    path = tmp_path / "outer_mul.tflite"
    path.write_bytes(outer_mul)
    compiled = compile_model(path)
    inputs = np.random.default_rng(1).integers(-128, 128, size=(50, 4), dtype=np.int8)
    expected = TflmInterpreter(path).run(inputs)
    actual = invoke(compiled, inputs)
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(actual, expected)
