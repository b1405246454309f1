"""The .tflite reader and MAC counter on the five MLPerf Tiny reference models."""

from __future__ import annotations

import numpy as np
import pytest

from kit.compile.macs import count_macs, total_macs
from kit.compile.tflite import load_model

# MACs per inference: the sums that _macs_from_layer_shapes below derives from each model's
# layers (kept as numbers so a change to either the models or the rules shows up here).
EXPECTED = {
    "kws_ref_model": (2_656_768, (1, 49, 10, 1), (1, 12), {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"}),
    "vww_96_int8": (7_489_664, (1, 96, 96, 3), (1, 2), {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"}),
    "pretrainedResnet_quant": (12_501_632, (1, 32, 32, 3), (1, 10), {"CONV_2D", "ADD", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"}),
    "ad01_int8": (264_192, (1, 640), (1, 640), {"FULLY_CONNECTED"}),
    "str_ww_ref_model": (826_368, (1, 30, 1, 40), (1, 3), {"CONV_2D", "DEPTHWISE_CONV_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_mlperf_model_structure_and_macs(mlperf_models, name):
    macs, input_shape, output_shape, ops = EXPECTED[name]
    model = load_model(mlperf_models[name])
    assert model.num_subgraphs == 1
    assert set(model.op_names) == ops
    assert model.tensors[model.inputs[0]].shape == input_shape
    assert model.tensors[model.outputs[0]].shape == output_shape
    assert model.tensors[model.inputs[0]].dtype == "int8"
    assert total_macs(model) == macs
    assert [cost.index for cost in count_macs(model)] == list(range(len(model.operators)))


def _macs_from_layer_shapes(data: bytes) -> list[int]:
    """MACs per op straight from the flatbuffer (the schema's own accessors, not kit's reader):
    a convolution output element costs kh*kw*in_c (in_c/groups) multiply-accumulates, a
    depthwise one kh*kw, a fully-connected one the input depth; other ops cost none."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    names = {value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_")}
    model = schema.ModelT.InitFromPackedBuf(data, 0)
    graph = model.subgraphs[0]
    macs = []
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        name = names[max(code.builtinCode, code.deprecatedBuiltinCode)]
        out_elements = int(np.prod(graph.tensors[op.outputs[0]].shape))
        weights = [int(d) for d in graph.tensors[op.inputs[1]].shape] if len(op.inputs) > 1 else []
        if name == "CONV_2D":  # weights [out_c, kh, kw, in_c / groups]
            macs.append(out_elements * weights[1] * weights[2] * weights[3])
        elif name == "DEPTHWISE_CONV_2D":  # weights [1, kh, kw, out_c]
            macs.append(out_elements * weights[1] * weights[2])
        elif name == "FULLY_CONNECTED":  # weights [units, depth]
            macs.append(out_elements * weights[1])
        else:
            macs.append(0)
    return macs


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_mac_counts_follow_from_the_layer_shapes(mlperf_models, name):
    data = mlperf_models[name].read_bytes()
    derived = _macs_from_layer_shapes(data)
    assert [cost.macs for cost in count_macs(load_model(data))] == derived
    assert sum(derived) == EXPECTED[name][0]


def test_reader_resolves_options_and_quantization(mlperf_models):
    model = load_model(mlperf_models["kws_ref_model"])
    first = model.operators[0]
    assert first.op == "CONV_2D"
    assert first.options["padding"] == "SAME"
    assert (first.options["stride_h"], first.options["stride_w"]) == (2, 2)
    assert first.options["fused_activation_function"] == "RELU"
    assert first.options["dilation_h_factor"] == 1
    weights = model.tensors[first.inputs[1]]
    assert weights.is_constant and weights.dtype == "int8"
    assert weights.quantization.per_channel
    assert len(weights.quantization.scale) == weights.shape[0] == 64
    assert weights.array().shape == weights.shape
    bias = model.tensors[first.inputs[2]]
    assert bias.dtype == "int32" and bias.array().shape == (64,)
    assert model.sha256 and model.size_bytes == mlperf_models["kws_ref_model"].stat().st_size


def test_reader_accepts_bytes(mlperf_models):
    data = mlperf_models["ad01_int8"].read_bytes()
    model = load_model(data)
    assert model.op_names == ["FULLY_CONNECTED"] * 10
