"""A PyTorch-style network through ONNX (kit's onnx2tf importer) compiles with kit and gives
TFLM's bytes. nn.Flatten after a convolution flattens NCHW, so onnx2tf puts a TRANSPOSE back
to channel-first order before the RESHAPE and the Linear (FULLY_CONNECTED): the op that
blocked such models. The ONNX graph is written with onnx.helper, as torch.onnx.export writes
Conv -> Relu -> MaxPool -> Flatten -> Gemm (no torch needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

INPUT_NCHW = (1, 2, 8, 10)


def _torch_like_onnx(path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    pooled = 6 * (INPUT_NCHW[2] // 2) * (INPUT_NCHW[3] // 2)
    initializers = [
        numpy_helper.from_array(rng.normal(0, 0.3, (6, INPUT_NCHW[1], 3, 3)).astype(np.float32), "conv.weight"),
        numpy_helper.from_array(rng.normal(0, 0.1, 6).astype(np.float32), "conv.bias"),
        numpy_helper.from_array(rng.normal(0, 0.1, (5, pooled)).astype(np.float32), "fc.weight"),
        numpy_helper.from_array(rng.normal(0, 0.1, 5).astype(np.float32), "fc.bias"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight", "conv.bias"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], transB=1),
    ]
    graph = helper.make_graph(nodes, "torch_like", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(INPUT_NCHW))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def test_pytorch_flatten_linear_through_onnx_matches_tflm(tmp_path):
    from kit.compile.tflite import load_model
    from kit.importers.onnx import convert_onnx
    from kit.runtime_host import compile_model, invoke
    from kit.tflm import TflmInterpreter
    from tests.runtime.conftest import random_inputs
    from tests.runtime.test_user_models import edge_inputs

    _torch_like_onnx(tmp_path / "net.onnx")
    calibration = np.random.default_rng(1).normal(size=(20, *INPUT_NCHW[1:])).astype(np.float32)
    tflite = convert_onnx(tmp_path / "net.onnx", calibration, tmp_path / "net.tflite").tflite_path
    assert "TRANSPOSE" in load_model(tflite).op_names
    compiled = compile_model(tflite)
    assert "TRANSPOSE" in compiled.op_names
    inputs = np.concatenate([random_inputs(compiled.input_shape, 100, seed=2), edge_inputs(compiled.input_shape)])
    expected = TflmInterpreter(tflite).run(inputs)
    assert np.array_equal(invoke(compiled, inputs), expected)


def _torch_prelu_pools_onnx(path: Path) -> None:
    """As torch.onnx.export writes nn.PReLU(channels) and PyTorch's pooling options that Keras
    lacks: MaxPool2d(ceil_mode=True), AvgPool2d(padding=1) with count_include_pad True and False."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    channels = 4
    initializers = [
        numpy_helper.from_array(rng.normal(0, 0.3, (channels, INPUT_NCHW[1], 3, 3)).astype(np.float32), "conv.weight"),
        numpy_helper.from_array(rng.uniform(-0.3, 0.6, (channels, 1, 1)).astype(np.float32), "prelu.weight"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("PRelu", ["c", "prelu.weight"], ["p"]),
        helper.make_node("MaxPool", ["p"], ["m"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
        helper.make_node("AveragePool", ["m"], ["a"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1],
                         count_include_pad=1),
        helper.make_node("AveragePool", ["a"], ["y"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1],
                         count_include_pad=0),
    ]
    graph = helper.make_graph(nodes, "torch_prelu_pools",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(INPUT_NCHW))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 2, 3])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def test_pytorch_prelu_and_pooling_paddings_through_onnx_match_tflm(tmp_path):
    from kit.importers.onnx import convert_onnx
    from kit.runtime_host import compile_model, invoke
    from kit.tflm import TflmInterpreter
    from tests.runtime.conftest import random_inputs
    from tests.runtime.test_user_models import edge_inputs

    _torch_prelu_pools_onnx(tmp_path / "net.onnx")
    calibration = np.random.default_rng(4).normal(size=(20, *INPUT_NCHW[1:])).astype(np.float32)
    tflite = convert_onnx(tmp_path / "net.onnx", calibration, tmp_path / "net.tflite").tflite_path
    compiled = compile_model(tflite)
    assert {"PRELU", "MAX_POOL_2D", "AVERAGE_POOL_2D"} <= set(compiled.op_names), compiled.op_names
    inputs = np.concatenate([random_inputs(compiled.input_shape, 100, seed=5), edge_inputs(compiled.input_shape)])
    assert np.array_equal(invoke(compiled, inputs), TflmInterpreter(tflite).run(inputs))
