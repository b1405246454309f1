"""Files that parse but hold nonsense values are refused with a ModelError, never a traceback."""

from __future__ import annotations

import dataclasses
import struct

import pytest

from kit.compile.planner import build_plan
from kit.compile.tflite import _schema, load_model
from kit.errors import ModelError


def _scale_position(data: bytes, tensor_index: int) -> int:
    """Byte offset of the tensor's first float32 scale inside the flatbuffer."""
    schema = _schema()
    tensor = schema.Model.GetRootAs(data, 0).Subgraphs(0).Tensors(tensor_index)
    quant = tensor.Quantization()
    return quant._tab.Vector(quant._tab.Offset(8))  # QuantizationParameters.scale (field 2)


def _patched_scale(data: bytes, tensor_index: int, value: float) -> bytes:
    patched = bytearray(data)
    position = _scale_position(data, tensor_index)
    patched[position : position + 4] = struct.pack("<f", value)
    return bytes(patched)


@pytest.fixture(scope="module")
def kws(mlperf_models) -> bytes:
    return mlperf_models["kws_ref_model"].read_bytes()


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 0.0, -0.5])
@pytest.mark.parametrize("role", ["activation", "weights"])
def test_bad_scales_are_refused_naming_the_node(kws, role, value):
    model = load_model(kws)
    first = model.operators[0]
    tensor_index = first.inputs[0] if role == "activation" else first.inputs[1]
    patched = load_model(_patched_scale(kws, tensor_index, value))
    assert patched.tensors[tensor_index].quantization.scale[0] != model.tensors[tensor_index].quantization.scale[0]
    with pytest.raises(ModelError, match=r"node 0 \(CONV_2D\): .*finite and positive"):
        build_plan(patched)


@pytest.mark.parametrize("value", [1e-9, 1e-30, 1e30])
def test_extreme_but_finite_scales_plan_or_refuse_cleanly(kws, value):
    model = load_model(kws)
    for tensor_index in {model.operators[0].inputs[0], model.operators[0].inputs[1], model.operators[0].outputs[0]}:
        try:
            build_plan(load_model(_patched_scale(kws, tensor_index, value)))
        except ModelError as error:
            assert error.message.startswith("node "), error.message


def test_huge_input_scale_is_refused_not_miscomputed(kws):
    """A conv whose rescaling would need a left shift above 30 (int32 overflow in the kernel)."""
    model = load_model(kws)
    with pytest.raises(ModelError, match=r"node 0 \(CONV_2D\): .*left shift"):
        build_plan(load_model(_patched_scale(kws, model.operators[0].inputs[0], 1e30)))


def test_zero_size_dimension_is_refused(kws):
    model = load_model(kws)
    model.tensors[model.operators[0].outputs[0]].shape = (1, 0, 5, 64)
    with pytest.raises(ModelError, match="zero-size dimension"):
        build_plan(model)


def test_quant_math_errors_become_model_errors(mlperf_models):
    model = load_model(mlperf_models["pretrainedResnet_quant"])
    add = next(op for op in model.operators if op.op == "ADD")
    output = model.tensors[add.outputs[0]]
    # finite and positive, but ADD's output multiplier leaves (0, 1)
    output.quantization = dataclasses.replace(output.quantization, scale=(1e-30,))
    with pytest.raises(ModelError, match=rf"node {add.index} \(ADD\): cannot resolve its parameters"):
        build_plan(model)


def test_pad_with_constant_values_input_is_refused():
    from . import tiny_models

    model_keras, shape = tiny_models.varied()
    model = load_model(tiny_models.convert(model_keras, shape, "int8"))
    pad = next(op for op in model.operators if op.op == "PAD")
    pad.inputs = [*pad.inputs, pad.inputs[1]]
    with pytest.raises(ModelError, match=rf"node {pad.index} \(PAD\): .*constant_values"):
        build_plan(model)
