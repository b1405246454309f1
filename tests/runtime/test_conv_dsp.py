"""CONV_2D's Arm DSP path (conv_dsp in firmware/runtime/kernels/conv_2d.c) gives TFLM's bytes
on the Cortex-M4 and M7 twins, in each of its shapes and requantization forms:

* 1x1 convolutions read in place whose taps are a multiple of 16 (the loop without tail tests),
  of 4 but not 16, and not of 4 (int8 tail taps), with odd channel counts (the last channel
  alone) and odd pixel counts (the last pixel twice);
* im2col windows: 3x3 on 5 channels (45 taps), SAME borders and stride 2, and the kws-like
  first layer: a 10x4 filter on 1 input channel, stride 2;
* requantization: SMMULR where every sum fits 31 bits, the 64-bit form where a channel's bias
  is near 2^30 (a near-dead channel: tiny weights, a real bias, as in MobileNet v1), and
  kit_requantize where a channel has a left shift (an effective scale >= 0.5).

Each model is checked to hold the case it is there for (the tests fail if the converter
stops producing it), then run over random and edge inputs against TFLM.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kit.compile.tflite import load_model
from kit.runtime_host import compile_model
from tests.runtime.conftest import random_inputs
from tests.runtime.twin_runner import Twin, output_bytes
from kit.tflm import TflmInterpreter

BOARDS = ("emu-cortex-m4", "emu-cortex-m7")
SAMPLES = 24


def _quantize(tf, model, shape: tuple[int, ...], seed: int, data_scale: float = 1.0) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    rng = np.random.default_rng(seed)

    def representative():
        for _ in range(24):
            yield [(data_scale * rng.normal(0.0, 1.0, size=(1, *shape))).astype(np.float32)]

    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def _pointwise(tf, layers):
    """1x1 convolutions: 16 -> 32 taps (multiples of 16), 32 -> 7 (odd channels), 7 -> 12
    (7 taps: 4 widened, 3 int8), 12 -> 5 (12 taps: 4 but not 16), on 5x5 = 25 pixels."""
    inputs = tf.keras.Input(shape=(5, 5, 16), batch_size=1)
    x = layers.Conv2D(32, 1, activation="relu", bias_initializer="random_normal")(inputs)
    x = layers.Conv2D(7, 1, bias_initializer="random_normal")(x)
    x = layers.Conv2D(12, 1, activation="relu6", bias_initializer="random_normal")(x)
    x = layers.Conv2D(5, 1, bias_initializer="random_normal")(x)
    return tf.keras.Model(inputs, x), (5, 5, 16), 1.0


def _windows(tf, layers):
    """im2col: the kws-like 10x4 filter on 1 channel (stride 2, SAME), then 3x3 on 5 channels
    (45 taps) with SAME borders, and a strided 3x3 to an odd channel count."""
    inputs = tf.keras.Input(shape=(13, 7, 1), batch_size=1)
    x = layers.Conv2D(5, (10, 4), strides=2, padding="same", activation="relu",
                      bias_initializer="random_normal")(inputs)
    x = layers.Conv2D(9, 3, padding="same", bias_initializer="random_normal")(x)
    x = layers.Conv2D(3, 3, strides=2, padding="same", activation="relu", bias_initializer="random_normal")(x)
    return tf.keras.Model(inputs, x), (13, 7, 1), 1.0


def _near_dead(tf, layers):
    """A 1x1 convolution (32 taps) where channels 1 and 4 have weights ~1e-7 and a bias of 2:
    their int32 bias is near 2^30, so conv_dsp takes its 64-bit requantization."""
    inputs = tf.keras.Input(shape=(3, 5, 32), batch_size=1)
    conv = layers.Conv2D(6, 1, bias_initializer="random_normal")
    x = conv(inputs)
    kernel, bias = conv.get_weights()
    for channel in (1, 4):
        kernel[..., channel] = 1e-7 * np.sign(kernel[..., channel] + 1e-12)
        bias[channel] = 2.0
    conv.set_weights([kernel, bias])
    x = layers.Conv2D(4, 1, bias_initializer="random_normal")(layers.ReLU()(x))
    return tf.keras.Model(inputs, x), (3, 5, 32), 1.0


def _left_shift(tf, layers):
    """Inputs ~1000 times the usual range into a RELU6 1x1 convolution with large weights: the
    effective scale is far above 0.5 (a left shift), so conv_dsp keeps kit_requantize."""
    inputs = tf.keras.Input(shape=(4, 3, 8), batch_size=1)
    conv = layers.Conv2D(6, 1, activation="relu6", bias_initializer="random_normal")
    x = conv(inputs)
    kernel, bias = conv.get_weights()
    conv.set_weights([kernel * 10.0, bias])
    x = layers.Conv2D(3, 1, bias_initializer="random_normal")(x)
    return tf.keras.Model(inputs, x), (4, 3, 8), 1000.0


MODELS = {"pointwise": _pointwise, "windows": _windows, "near_dead": _near_dead, "left_shift": _left_shift}


@pytest.fixture(scope="module")
def conv_models(tmp_path_factory) -> dict[str, Path]:
    import tensorflow as tf

    folder = tmp_path_factory.mktemp("conv_dsp")
    paths = {}
    for seed, (name, build) in enumerate(MODELS.items()):
        tf.keras.utils.set_random_seed(200 + seed)
        model, shape, scale = build(tf, tf.keras.layers)
        paths[name] = folder / f"{name}.tflite"
        paths[name].write_bytes(_quantize(tf, model, shape, 200 + seed, scale))
    return paths


@pytest.fixture(scope="module")
def twins(tmp_path_factory) -> dict[str, Twin]:
    work = tmp_path_factory.mktemp("conv_dsp_twins")
    return {board: Twin(board, work) for board in BOARDS}


def _conv_ops(path: Path) -> list:
    model = load_model(path)
    return [op for op in model.operators if op.op == "CONV_2D"]


def _conv_quantization(path: Path) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Per CONV_2D: the per-channel effective scales, the kernel bias (the int32 bias plus the
    input offset times the channel's weight sum, as kit.compile.emit_c folds it) and the taps."""
    model = load_model(path)
    found = []
    for op in _conv_ops(path):
        source, weights, bias, output = (model.tensors[i] for i in (*op.inputs[:3], op.outputs[0]))
        effective = source.quantization.scale[0] * np.asarray(weights.quantization.scale) / output.quantization.scale[0]
        filters = weights.array().astype(np.int64).reshape(weights.shape[0], -1)
        kernel_bias = bias.array().astype(np.int64) - source.quantization.zero_point[0] * filters.sum(axis=1)
        found.append((effective, kernel_bias, filters.shape[1]))
    return found


def test_models_hold_their_cases(conv_models):
    """The near-dead channels' int32 bias leaves the SMMULR bound (2^30 - taps * 2^14), and the
    left-shift model has an effective scale >= 0.5, so those forms really run."""
    effective, kernel_bias, taps = _conv_quantization(conv_models["near_dead"])[0]
    assert np.abs(kernel_bias).max() >= 2**30 - taps * 2**14, f"near-dead bias only {np.abs(kernel_bias).max()}"
    assert effective.max() < 0.5
    effective, _, _ = _conv_quantization(conv_models["left_shift"])[0]
    assert effective.max() >= 0.5, f"largest effective scale {effective.max()}"
    assert len(_conv_ops(conv_models["pointwise"])) == 4 and len(_conv_ops(conv_models["windows"])) == 3


def _edge_inputs(shape: tuple[int, ...]) -> np.ndarray:
    return np.stack([np.full(shape[1:], value, dtype=np.int8) for value in (-128, 127, 0)])


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("board", BOARDS)
def test_conv_dsp_on_twin_matches_tflm(board, name, twins, conv_models):
    twin = twins[board]
    missing = twin.missing_tool()
    if missing:
        pytest.skip(f"{missing} is not installed (see deps/apt-packages.txt)")
    compiled = compile_model(conv_models[name])
    inputs = np.concatenate([random_inputs(compiled.input_shape, SAMPLES, seed=9), _edge_inputs(compiled.input_shape)])
    run = twin.run(compiled.directory, inputs, f"conv_dsp_{name}")
    interpreter = TflmInterpreter(conv_models[name])
    expected = output_bytes(np.stack([interpreter.run(x[None]) for x in inputs]))
    assert run.outputs.shape == expected.shape
    differing = np.flatnonzero((run.outputs != expected).any(axis=1))
    assert differing.size == 0, (
        f"{name} on {board}: {differing.size} of {len(inputs)} inputs differ from TFLM; first #{differing[0]}: "
        f"kit {run.outputs[differing[0]].tolist()[:16]} tflm {expected[differing[0]].tolist()[:16]}")
