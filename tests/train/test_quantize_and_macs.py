"""MACs against a hand count, int8 quantization, and int8-vs-float agreement on a tiny model."""

from __future__ import annotations

import numpy as np
import pytest

from kit.compile.tflite import load_model
from kit.errors import ModelError
from kit.train.card import layer_costs
from kit.train.evaluate import predict_float, predict_int8
from kit.train.quantize import SUPPORTED_OPS, check_supported_ops, dequantize, quantize_features

from train_helpers import TINY_HAND_COUNT


def test_macs_and_params_match_hand_count(tiny_model):
    layers = layer_costs(load_model(tiny_model.tflite))
    assert [(l["op"], l["macs"], l["params"]) for l in layers] == TINY_HAND_COUNT
    assert sum(l["macs"] for l in layers) == 4608 + 576 + 192


def test_quantized_model_is_full_int8(tiny_model):
    graph = load_model(tiny_model.tflite)
    model_input, model_output = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    assert model_input.dtype == "INT8" or model_input.dtype.lower() == "int8"
    assert model_output.dtype.lower() == "int8"
    assert model_input.shape == (1, 8, 8, 2)
    for tensor in (model_input, model_output):
        assert tensor.quantization is not None and tensor.quantization.scale[0] > 0
    # softmax output uses TFLM's fixed quantization
    assert model_output.quantization.scale[0] == pytest.approx(1 / 256)
    assert model_output.quantization.zero_point[0] == -128
    # every weight tensor is int8 with its scales (per channel for the convolution)
    conv = graph.operators[0]
    weights = graph.tensors[conv.inputs[1]]
    assert weights.dtype.lower() == "int8" and weights.quantization.per_channel
    assert set(check_supported_ops(tiny_model.tflite)) <= SUPPORTED_OPS


def test_int8_agrees_with_float(tiny_model):
    float_out = predict_float(tiny_model.keras, tiny_model.x_test)
    int8_out = predict_int8(tiny_model.tflite, tiny_model.x_test)
    agreement = np.mean(np.argmax(float_out, 1) == np.argmax(int8_out, 1))
    assert agreement >= 0.97
    assert np.max(np.abs(float_out - int8_out)) < 0.1  # probabilities within a few int8 steps
    float_accuracy = np.mean(np.argmax(float_out, 1) == tiny_model.y_test)
    int8_accuracy = np.mean(np.argmax(int8_out, 1) == tiny_model.y_test)
    assert float_accuracy > 0.9  # the model really learned: agreement is not agreement on noise
    assert abs(float_accuracy - int8_accuracy) <= 0.02


def test_feature_quantization_round_trips():
    x = np.array([-1.0, 0.0, 0.5, 100.0], dtype=np.float32)
    q = quantize_features(x, scale=0.01, zero_point=-3)
    assert q.dtype == np.int8
    assert q.tolist() == [-103, -3, 47, 127]  # saturates at 127
    assert dequantize(q[:3], 0.01, -3) == pytest.approx([-1.0, 0.0, 0.5])


def test_unsupported_op_is_refused(tmp_path):
    import keras

    from kit.train.quantize import quantize_int8

    inputs = keras.Input(shape=(4,))
    outputs = keras.layers.Dense(4, activation="elu")(inputs)  # ELU is not in the kit runtime
    tflite = quantize_int8(keras.Model(inputs, outputs), np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32))
    with pytest.raises(ModelError, match="ELU") as error:
        check_supported_ops(tflite)
    assert error.value.hint


def test_parallel_tflm_evaluation_equals_serial(tiny_model, monkeypatch):
    import kit.train.evaluate as evaluate

    monkeypatch.setattr(evaluate, "PARALLEL_MIN_SAMPLES", 0)
    serial = predict_int8(tiny_model.tflite, tiny_model.x_test, workers=1)
    parallel = predict_int8(tiny_model.tflite, tiny_model.x_test, workers=2)
    assert np.array_equal(serial, parallel)

