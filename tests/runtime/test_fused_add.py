"""A CONV_2D with its residual ADD fused in (kit.compile.fuse) gives TFLM's bytes on every kernel
path that stores the sum: the portable register blocks (two-pixel words, and the 4-channel x
3-pixel block for more than KIT_SWAR_TAPS taps or a -128 weight) on the host and the rv32
twin, the Arm DSP pairs (conv_pairs, and conv_dsp_add for 16-tap multiples and even channel
counts) on the Cortex-M4 twin and the Helium pairs on the Cortex-M55 twin.
The shapes leave partial blocks everywhere (35 pixels: 3 over a multiple of 4, 2 over one of
3, 1 over one of 2; odd channel counts), the convolution is the ADD's first operand in one
block and its second in the next (the ADD's rounding is not symmetric in its operands), and
the planner writes some sums over their shortcut, where a block's repeated pixel or channel
must not add the shortcut's byte twice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kit.compile.planner import build_plan
from kit.compile.tflite import load_model
from kit.runtime_host import compile_model, invoke
from tests.runtime.conftest import random_inputs
from tests.runtime.model_zoo import _quantized
from tests.runtime.references import reference_outputs
from tests.runtime.twin_runner import Twin, output_bytes

SAMPLES = 24


def _residual_blocks(channels: int, kernel: int):
    """Two ResNet blocks (two convolutions, the second's output plus the block's input) after
    a 1x1 to `channels`: the shortcut is not the fused convolution's input, so the planner may
    write the sum right over it."""

    def conv(layers, x, activation=None):
        return layers.Conv2D(channels, kernel, padding="same", activation=activation,
                             bias_initializer="random_normal")(x)

    def body(tf, layers, x):
        x = layers.Conv2D(channels, 1, activation="relu", bias_initializer="random_normal")(x)
        y = layers.Add()([x, conv(layers, conv(layers, x, "relu"))])  # the convolution second
        return layers.Add()([conv(layers, conv(layers, y, "relu"), "relu"), y])  # the convolution first

    return body


def _with_min_weight(path: Path) -> Path:
    """A copy of the model whose convolutions after the first (the fused ones among them) each hold a
    -128 weight (TFLite writes [-127, 127]): their filters' first bytes replaced in the file."""
    model = load_model(path)
    data = bytearray(path.read_bytes())
    for conv in [op for op in model.operators if op.op == "CONV_2D"][1:]:
        weights = model.tensors[conv.inputs[1]].data
        at = data.find(weights)
        assert at >= 0 and data.find(weights, at + 1) < 0
        data[at] = 0x80
    patched = path.with_name(path.stem + "_min_weight.tflite")
    patched.write_bytes(bytes(data))
    return patched


# name: (input shape, body, per-tensor quantization)
MODELS = {
    "fused_pairs": ((5, 7, 3), _residual_blocks(5, 3), False),       # k 45: two-pixel words; 5 channels
    "fused_direct": ((7, 5, 4), _residual_blocks(6, 1), True),       # 1x1 read in place; 6 channels
    "fused_wide_taps": ((5, 7, 2), _residual_blocks(33, 3), False),  # k 297 > KIT_SWAR_TAPS: 4x3 blocks
    # k 144, a multiple of 16, and 16 channels: the Arm DSP's conv_dsp_add, its last pixel repeated
    "fused_dsp_whole16": ((5, 7, 3), _residual_blocks(16, 3), False),
}
TWINS = ("emu-rv32", "emu-cortex-m4", "emu-cortex-m55")


@pytest.fixture(scope="module")
def fused_models(tmp_path_factory) -> dict[str, Path]:
    import tensorflow as tf

    out = tmp_path_factory.mktemp("fused")
    paths: dict[str, Path] = {}
    for seed, (name, (shape, body, per_tensor)) in enumerate(MODELS.items()):
        tf.keras.utils.set_random_seed(300 + seed)
        inputs = tf.keras.Input(shape=shape, batch_size=1)
        model = tf.keras.Model(inputs, body(tf, tf.keras.layers, inputs))
        paths[name] = out / f"{name}.tflite"
        paths[name].write_bytes(_quantized(tf, model, shape, 300 + seed, per_tensor, False))
    paths["fused_min_weight"] = _with_min_weight(paths["fused_pairs"])  # a -128 weight: 4x3 blocks
    return paths


NAMES = [*MODELS, "fused_min_weight"]


def _inputs(shape: tuple[int, ...], seed: int) -> np.ndarray:
    edges = np.stack([np.full(shape[1:], v, dtype=np.int8) for v in (-128, 127, 0)])
    return np.concatenate([random_inputs(shape, SAMPLES, seed=seed), edges])


def test_every_residual_sum_is_fused_and_some_are_written_over_their_shortcut(fused_models):
    """What the other tests rely on: both ADDs fused, both operand orders, sums over shortcuts."""
    over_shortcut = 0
    for name in NAMES:
        plan = build_plan(load_model(fused_models[name]))
        fused = [op for op in plan.ops if "fused_add" in op.params]
        assert "ADD" not in [op.op for op in plan.ops] and len(fused) == 2, name
        assert sorted(op.params["fused_conv_is_input2"] for op in fused) == [False, True], name
        over_shortcut += sum(plan.tensors[op.outputs[0]].offset == plan.tensors[op.inputs[3]].offset for op in fused)
    assert over_shortcut > 0


@pytest.mark.parametrize("name", NAMES)
def test_fused_add_on_host_matches_tflm(name, fused_models):
    compiled = compile_model(fused_models[name])
    inputs = _inputs(compiled.input_shape, NAMES.index(name))
    expected = reference_outputs(fused_models[name], inputs)
    actual = invoke(compiled, inputs)
    differing = np.flatnonzero((actual != expected).reshape(len(inputs), -1).any(axis=1))
    assert differing.size == 0, f"{name}: {differing.size} of {len(inputs)} inputs differ from TFLM"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("board", TWINS)
def test_fused_add_on_twin_matches_tflm(board, name, fused_models, tmp_path):
    twin = Twin(board, tmp_path)
    missing = twin.missing_tool()
    if missing:
        pytest.skip(f"{missing} is not installed (see deps/apt-packages.txt)")
    compiled = compile_model(fused_models[name])
    inputs = _inputs(compiled.input_shape, NAMES.index(name))
    run = twin.run(compiled.directory, inputs, name)
    expected = output_bytes(reference_outputs(fused_models[name], inputs))
    assert run.outputs.shape == expected.shape
    differing = np.flatnonzero((run.outputs != expected).any(axis=1))
    assert differing.size == 0, f"{name} on {board}: {differing.size} of {len(inputs)} inputs differ from TFLM"
