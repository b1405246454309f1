"""The portable register-blocked kernels at their edges, bit for bit against TFLM, on the host
(the same C) and on the rv32 twin (emu-rv32, where they run): CONV_2D's two-pixels-per-word
blocks (channel and pixel counts that leave partial blocks, odd and 2 mod 4 tap counts,
stride 2, SAME borders), its 4-channel x 3-pixel fallback (more than KIT_SWAR_TAPS taps, and a
filter holding -128, which the packed form cannot take), the 3x3 depthwise sweeps (rows for
wide outputs, columns for tall ones, stride 1 and 2, SAME and VALID, a one-row image) and the
8-unit FULLY_CONNECTED blocks with a partial block after them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kit.compile.tflite import load_model
from kit.runtime_host import compile_model, invoke
from tests.runtime.conftest import random_inputs
from tests.runtime.model_zoo import _quantized
from tests.runtime.references import reference_outputs
from tests.runtime.twin_runner import Twin, output_bytes

SAMPLES = 24


def _conv_blocks(tf, layers, x):
    x = layers.Conv2D(7, 1, activation="relu", bias_initializer="random_normal")(x)       # 7 channels, k 5
    x = layers.Conv2D(9, 3, strides=2, padding="same", bias_initializer="random_normal")(x)  # k 63
    x = layers.Conv2D(6, (1, 2), padding="valid", bias_initializer="random_normal")(x)     # k 18 (2 mod 4)
    return layers.Conv2D(5, 3, padding="same", activation="relu6", bias_initializer="random_normal")(x)


def _conv_wide_taps(tf, layers, x):
    x = layers.Conv2D(40, 1, bias_initializer="random_normal")(x)
    return layers.Conv2D(10, 3, padding="same", activation="relu", bias_initializer="random_normal")(x)  # k 360


def _depthwise_sweeps(tf, layers, x):
    x = layers.DepthwiseConv2D(3, padding="same", activation="relu", bias_initializer="random_normal")(x)
    x = layers.DepthwiseConv2D(3, strides=2, padding="same", bias_initializer="random_normal")(x)
    x = layers.DepthwiseConv2D(3, padding="valid", bias_initializer="random_normal")(x)
    return layers.DepthwiseConv2D(3, strides=(2, 1), padding="same", bias_initializer="random_normal")(x)


def _dense_blocks(tf, layers, x):
    x = layers.Flatten()(x)
    x = layers.Dense(21, activation="relu", bias_initializer="random_normal")(x)  # 2 blocks of 8 + 5 units
    return layers.Dense(8, bias_initializer="random_normal")(x)


# name: (input shape, body, per-tensor quantization)
MODELS = {
    "conv_blocks": ((11, 7, 5), _conv_blocks, False),
    "conv_wide_taps": ((6, 5, 3), _conv_wide_taps, True),
    "dw_wide": ((5, 19, 6), _depthwise_sweeps, False),
    "dw_tall": ((23, 6, 5), _depthwise_sweeps, True),
    "dw_one_row": ((1, 13, 4), lambda tf, layers, x: layers.DepthwiseConv2D(3, padding="same")(x), False),
    "dense_blocks": ((3, 3, 7), _dense_blocks, False),
}


def _with_min_weight(path: Path) -> Path:
    """A copy of the model whose first CONV_2D filter holds -128 (TFLite writes [-127, 127]):
    the bytes of that filter's buffer are found in the file and their first one replaced."""
    model = load_model(path)
    conv = next(op for op in model.operators if op.op == "CONV_2D")
    weights = model.tensors[conv.inputs[1]].data
    data = bytearray(path.read_bytes())
    at = data.find(weights)
    assert at >= 0 and data.find(weights, at + 1) < 0
    data[at] = 0x80
    patched = path.with_name(path.stem + "_min_weight.tflite")
    patched.write_bytes(bytes(data))
    return patched


@pytest.fixture(scope="module")
def block_models(tmp_path_factory) -> dict[str, Path]:
    import tensorflow as tf

    out = tmp_path_factory.mktemp("blocks")
    paths: dict[str, Path] = {}
    for seed, (name, (shape, body, per_tensor)) in enumerate(MODELS.items()):
        tf.keras.utils.set_random_seed(200 + seed)
        inputs = tf.keras.Input(shape=shape, batch_size=1)
        model = tf.keras.Model(inputs, body(tf, tf.keras.layers, inputs))
        paths[name] = out / f"{name}.tflite"
        paths[name].write_bytes(_quantized(tf, model, shape, 200 + seed, per_tensor, False))
    paths["conv_min_weight"] = _with_min_weight(paths["conv_blocks"])
    return paths


NAMES = [*MODELS, "conv_min_weight"]


def _inputs(shape: tuple[int, ...], seed: int) -> np.ndarray:
    edges = np.stack([np.full(shape[1:], v, dtype=np.int8) for v in (-128, 127)])
    return np.concatenate([random_inputs(shape, SAMPLES, seed=seed), edges])


@pytest.mark.parametrize("name", NAMES)
def test_portable_blocks_on_host_match_tflm(name, block_models):
    compiled = compile_model(block_models[name])
    inputs = _inputs(compiled.input_shape, NAMES.index(name))
    expected = reference_outputs(block_models[name], inputs)
    actual = invoke(compiled, inputs)
    differing = np.flatnonzero((actual != expected).reshape(len(inputs), -1).any(axis=1))
    assert differing.size == 0, f"{name}: {differing.size} of {len(inputs)} inputs differ from TFLM"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_portable_blocks_on_rv32_twin_match_tflm(name, block_models, tmp_path):
    twin = Twin("emu-rv32", tmp_path)
    missing = twin.missing_tool()
    if missing:
        pytest.skip(f"{missing} is not installed (see deps/apt-packages.txt)")
    compiled = compile_model(block_models[name])
    inputs = _inputs(compiled.input_shape, NAMES.index(name))
    run = twin.run(compiled.directory, inputs, name)
    expected = output_bytes(reference_outputs(block_models[name], inputs))
    assert run.outputs.shape == expected.shape
    differing = np.flatnonzero((run.outputs != expected).any(axis=1))
    assert differing.size == 0, f"{name} on emu-rv32: {differing.size} of {len(inputs)} inputs differ from TFLM"
