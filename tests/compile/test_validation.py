"""Models outside kit's supported set are refused with the op name, node index and the
supported list; a model using every supported feature gets a complete plan."""

from __future__ import annotations

from collections import Counter

import pytest

from kit.compile import quant
from kit.compile.plan import SUPPORTED_OPS
from kit.compile.planner import build_plan
from kit.compile.tflite import load_model
from kit.errors import ModelError
from kit.tflm import measure_arena_bytes

from . import tiny_models


@pytest.fixture(scope="session")
def converted() -> dict[str, bytes]:
    models = {}
    model, shape = tiny_models.small_conv()
    models["float"] = tiny_models.convert(model, shape, "float")
    models["int16"] = tiny_models.convert(model, shape, "int16")
    models["int8"] = tiny_models.convert(model, shape, "int8")
    model, shape = tiny_models.with_elu()
    models["elu"] = tiny_models.convert(model, shape, "int8")
    model, shape = tiny_models.varied()
    models["varied"] = tiny_models.convert(model, shape, "int8")
    return models


def _refusal(data: bytes) -> ModelError:
    with pytest.raises(ModelError) as info:
        build_plan(load_model(data))
    return info.value


@pytest.mark.slow
def test_unsupported_op_names_op_index_and_supported_list(converted):
    model = load_model(converted["elu"])
    index = model.op_names.index("ELU")
    error = _refusal(converted["elu"])
    assert f"node {index} (ELU)" in error.message
    assert all(op in error.message for op in SUPPORTED_OPS)
    assert error.hint


@pytest.mark.slow
def test_float_model_is_refused_at_its_first_op(converted):
    model = load_model(converted["float"])
    error = _refusal(converted["float"])
    assert f"node 0 ({model.op_names[0]})" in error.message
    assert "float32" in error.message and "int8" in error.message


@pytest.mark.slow
def test_int16_model_is_refused_naming_the_node(converted):
    """16x8 quantization: the FIRST op touching an int16 activation and that tensor are named,
    and the hint says how to get int8 (kit train, or the converter's int8 options)."""
    model = load_model(converted["int16"])
    error = _refusal(converted["int16"])
    first = next(op for op in model.operators
                 if any(model.tensors[t].dtype == "int16" and not model.tensors[t].is_constant
                        for t in (*op.inputs, *op.outputs) if t >= 0))
    tensor = next(model.tensors[t] for t in (*first.inputs, *first.outputs)
                  if t >= 0 and model.tensors[t].dtype == "int16")
    assert f"node {first.index} ({first.op}): tensor '{tensor.name}' is an int16 activation" in error.message
    assert "16x8" in error.message
    assert "kit train" in error.hint and "TFLITE_BUILTINS_INT8" in error.hint and "tf.int8" in error.hint


@pytest.mark.slow
def test_supported_int8_models_plan(converted):
    plan = build_plan(load_model(converted["int8"]))
    assert [op.op for op in plan.ops][0] == "CONV_2D"


@pytest.mark.slow
def test_varied_model_resolves_every_feature(converted):
    data = converted["varied"]
    model = load_model(data)
    ops = Counter(model.op_names)
    for op in ("PAD", "CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "CONCATENATION", "LOGISTIC", "MUL", "ADD", "MEAN", "FULLY_CONNECTED", "SOFTMAX"):
        assert ops[op] >= 1, (op, ops)
    plan = build_plan(model)
    by_op = {op.op: op for op in plan.ops}
    dilated = next(op for op in plan.ops if op.op == "CONV_2D" and op.params["dilation_h"] == 2)
    source_op = model.operators[dilated.index]
    assert source_op.options["fused_activation_function"] == "RELU6"
    out = plan.tensors[dilated.outputs[0]]
    expected = quant.activation_range("RELU6", out.scale[0], out.zero_point[0])
    assert (dilated.params["activation_min"], dilated.params["activation_max"]) == expected
    assert by_op["DEPTHWISE_CONV_2D"].params["depth_multiplier"] == 2
    assert by_op["DEPTHWISE_CONV_2D"].params["stride_h"] == 2
    assert by_op["PAD"].params["paddings"][1:3] == [[1, 2], [0, 1]]
    adds = [op.params for op in plan.ops if op.op == "ADD"]
    adds += [op.params["fused_add"] for op in plan.ops if "fused_add" in op.params]  # kit.compile.fuse
    assert adds and all(params["left_shift"] == 20 for params in adds)
    mean = by_op["MEAN"].params
    assert mean["axes"] == [1, 2] and mean["num_elements_in_axis"] > 1
    assert not {"scratch_bytes", "scratch_offset", "scale", "bias", "same_scale"} & set(mean)
    # only the convolutions' fast paths take arena scratch (kit.compile.scratch)
    assert not any(key.startswith("scratch") for op in plan.ops for key in op.params
                   if op.op not in ("CONV_2D", "DEPTHWISE_CONV_2D"))
    assert by_op["LOGISTIC"].params["input_multiplier"] > 0
    assert sum(by_op["CONCATENATION"].params["copy_sizes"]) > 0
    assert plan.arena_bytes <= measure_arena_bytes(data)


def test_multiple_inputs_and_bad_options_refused(mlperf_models):
    model = load_model(mlperf_models["kws_ref_model"])
    model.inputs = model.inputs * 2
    with pytest.raises(ModelError, match="2 inputs"):
        build_plan(model)
    model = load_model(mlperf_models["kws_ref_model"])
    model.operators[0].options["fused_activation_function"] = "TANH"
    with pytest.raises(ModelError, match=r"node 0 \(CONV_2D\): fused activation TANH"):
        build_plan(model)
    model = load_model(mlperf_models["kws_ref_model"])
    model.operators[0].options["stride_h"] = 3  # output shape no longer matches
    with pytest.raises(ModelError, match=r"node 0 \(CONV_2D\): output size"):
        build_plan(model)
    model = load_model(mlperf_models["kws_ref_model"])
    model.num_subgraphs = 2
    with pytest.raises(ModelError, match="2 subgraphs"):
        build_plan(model)
