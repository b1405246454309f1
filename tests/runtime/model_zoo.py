"""Varied small int8 models for the bit-exactness tests, generated from a seed.

Each seed picks an input shape, 2-4 feature blocks (the first fixed by the seed, so that every
block is in the first len(BLOCKS) seeds) and a head, so that over a few dozen
seeds every kernel meets its awkward cases: strides with SAME padding (asymmetric pads),
dilations, depth multipliers, fused relu/relu6/none, per-tensor and per-channel weights,
broadcast ADD, SUB and MUL, MAXIMUM / MINIMUM, concatenation, requantizing QUANTIZE, PAD, MEAN, SUM, LOGISTIC, SOFTMAX,
standalone RELU / RELU6 / LEAKY_RELU / HARD_SWISH / TANH, PRELU, RELU_N1_TO_1, TRANSPOSE, STRIDED_SLICE / SLICE of activations, RESIZE_*, TILE, TRANSPOSE_CONV and a
DEQUANTIZE to float outputs. TFLM has no TILE: a model with UpSampling2D also gets a TFLM twin
(ZooModel.reference) that TFLM runs for the expected outputs. TFLM has no RELU_N1_TO_1 either:
a model with it is compared with TensorFlow Lite's reference kernels (tests/runtime/references.py).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

INPUT_SHAPES = ((8, 8, 3), (10, 7, 2), (12, 12, 4), (9, 9, 1), (6, 11, 3))
ACTIVATIONS = (None, "relu", "relu6")


@dataclass(frozen=True)
class ZooModel:
    seed: int
    path: Path
    description: str
    reference: Path  # what TFLM runs for the expected outputs: `path`, or its twin (see _tflm_twin)


def _activation(rng: random.Random) -> str | None:
    return rng.choice(ACTIVATIONS)


def _conv(tf, x, rng: random.Random, notes: list[str]):
    kernel = rng.choice((1, 2, 3, 5))
    dilation = rng.choice((1, 1, 2)) if kernel > 1 else 1
    stride = 1 if dilation > 1 else rng.choice((1, 2))
    padding = rng.choice(("same", "valid"))
    if padding == "valid" and min(x.shape[1], x.shape[2]) < (kernel - 1) * dilation + 1:
        padding = "same"
    filters = rng.choice((4, 6, 8))
    act = _activation(rng)
    notes.append(f"conv k{kernel} s{stride} d{dilation} {padding} f{filters} {act}")
    return tf.keras.layers.Conv2D(
        filters, kernel, strides=stride, padding=padding, dilation_rate=dilation, activation=act,
        bias_initializer="random_normal",
    )(x)


def _depthwise(tf, x, rng: random.Random, notes: list[str]):
    kernel = rng.choice((2, 3))
    dilation = rng.choice((1, 2))
    stride = 1 if dilation > 1 else rng.choice((1, 2))
    padding = rng.choice(("same", "valid"))
    if padding == "valid" and min(x.shape[1], x.shape[2]) < (kernel - 1) * dilation + 1:
        padding = "same"
    multiplier = rng.choice((1, 2))
    act = _activation(rng)
    notes.append(f"dw k{kernel} s{stride} d{dilation} {padding} m{multiplier} {act}")
    return tf.keras.layers.DepthwiseConv2D(
        kernel, strides=stride, padding=padding, depth_multiplier=multiplier, dilation_rate=dilation,
        activation=act, bias_initializer="random_normal",
    )(x)


def _pool(tf, x, rng: random.Random, notes: list[str]):
    size = rng.choice((2, 3))
    stride = rng.choice((1, 2))
    padding = rng.choice(("same", "valid"))
    if padding == "valid" and min(x.shape[1], x.shape[2]) < size:
        padding = "same"
    kind = rng.choice(("max", "avg"))
    notes.append(f"{kind}pool p{size} s{stride} {padding}")
    layer = tf.keras.layers.MaxPooling2D if kind == "max" else tf.keras.layers.AveragePooling2D
    return layer(size, strides=stride, padding=padding)(x)


def _residual_add(tf, x, rng: random.Random, notes: list[str]):
    branch = tf.keras.layers.Conv2D(x.shape[-1], 3, padding="same", activation=_activation(rng))(x)
    notes.append("add residual")
    return tf.keras.layers.Add()([x, branch])


def _broadcast_add(tf, x, rng: random.Random, notes: list[str]):
    notes.append("add broadcast mean")
    pooled = tf.keras.layers.Lambda(lambda t: tf.reduce_mean(t, axis=[1, 2], keepdims=True))(x)
    return tf.keras.layers.Lambda(lambda ts: ts[0] + ts[1])([x, pooled])


def _subtract(tf, x, rng: random.Random, notes: list[str]):
    """SUB, elementwise (x - branch) or broadcast (x - its spatial mean: a centring)."""
    if rng.random() < 0.5:
        notes.append("sub residual")
        branch = tf.keras.layers.Conv2D(x.shape[-1], 1, activation=_activation(rng))(x)
        return tf.keras.layers.Subtract()([x, branch])
    notes.append("sub broadcast mean")
    pooled = tf.keras.layers.Lambda(lambda t: tf.reduce_mean(t, axis=[1, 2], keepdims=True))(x)
    return tf.keras.layers.Lambda(lambda ts: ts[0] - ts[1])([x, pooled])


def _maximum_minimum(tf, x, rng: random.Random, notes: list[str]):
    """MAXIMUM then MINIMUM of x and a conv branch (a learned clip)."""
    notes.append("maximum minimum")
    low = tf.keras.layers.Conv2D(x.shape[-1], 1)(x)
    high = tf.keras.layers.Conv2D(x.shape[-1], 1)(x)
    return tf.keras.layers.Minimum()([tf.keras.layers.Maximum()([x, low]), high])


def _reduce_sum(tf, x, rng: random.Random, notes: list[str]):
    """SUM over the spatial axes (kept), broadcast back onto x: a pooled context."""
    notes.append("sum context")
    summed = tf.keras.layers.Lambda(lambda t: tf.reduce_sum(t, axis=[1, 2], keepdims=True))(x)
    return tf.keras.layers.Lambda(lambda ts: ts[0] + ts[1])([x, summed])


def _slices(tf, x, rng: random.Random, notes: list[str]):
    """STRIDED_SLICE of an activation (offset start, a step, sometimes a negative step) and a
    SLICE (tf.slice), concatenated back on the channel axis."""
    step = rng.choice((1, 2))
    reverse = rng.random() < 0.4
    notes.append(f"slices step {step}{' reversed' if reverse else ''}")
    h, w = x.shape[1], x.shape[2]
    strided = tf.keras.layers.Lambda(lambda t: t[:, 1:, ::-step if reverse else step, :])(x)
    sliced = tf.keras.layers.Lambda(lambda t: tf.slice(t, [0, 0, 0, 0], [1, h - 1, strided.shape[2], t.shape[3]]))(x)
    del w
    return tf.keras.layers.Concatenate()([strided, sliced])


def _prelu(tf, x, rng: random.Random, notes: list[str]):
    """Keras PReLU after a conv: alpha per channel (shared_axes=[1, 2], as MobileNet-style
    nets write it), one alpha for all, or one per element; alphas drawn to be non-trivial."""
    shared = rng.choice(([1, 2], [1, 2, 3], None))
    notes.append(f"prelu shared {shared}")
    x = tf.keras.layers.Conv2D(rng.choice((3, 4)), 1, bias_initializer="random_normal")(x)
    return tf.keras.layers.PReLU(alpha_initializer=tf.keras.initializers.RandomUniform(-0.5, 1.5),
                                 shared_axes=shared)(x)


def _clip(tf, x, rng: random.Random, notes: list[str]):
    """tf.clip_by_value(x, -1, 1) after a concatenation: a standalone RELU_N1_TO_1 (TFLM has no
    kernel; the zoo tests compare such a model with TensorFlow Lite's reference kernels)."""
    notes.append("concat clip -1..1")
    x = tf.keras.layers.Concatenate(axis=-1)([x, tf.keras.layers.Conv2D(rng.choice((2, 3)), 1)(x)])
    return tf.keras.layers.Lambda(lambda t: tf.clip_by_value(t, -1.0, 1.0))(x)


def _gate(tf, x, rng: random.Random, notes: list[str]):
    notes.append("mul sigmoid gate")
    gate = tf.keras.layers.Activation("sigmoid")(tf.keras.layers.Conv2D(x.shape[-1], 1)(x))
    return tf.keras.layers.Multiply()([x, gate])


def _concat(tf, x, rng: random.Random, notes: list[str]):
    notes.append("concat")
    other = tf.keras.layers.Conv2D(rng.choice((2, 4)), 1, activation=_activation(rng))(x)
    return tf.keras.layers.Concatenate(axis=-1)([x, other])


def _requantized_concat(tf, x, rng: random.Random, notes: list[str]):
    """A sigmoid branch has a fixed output scale (1/256), so joining it to another branch
    makes the converter insert a requantizing QUANTIZE op."""
    notes.append("concat sigmoid branch")
    gate = tf.keras.layers.Activation("sigmoid")(tf.keras.layers.Conv2D(2, 1)(x))
    other = tf.keras.layers.Conv2D(rng.choice((2, 4)), 1)(x)
    return tf.keras.layers.Concatenate(axis=-1)([gate, other])


def _channel_softmax(tf, x, rng: random.Random, notes: list[str]):
    """Softmax over the channels of every pixel: SOFTMAX with many rows (outer_size > 1)."""
    notes.append("softmax per pixel")
    return tf.keras.layers.Activation("softmax")(tf.keras.layers.Conv2D(rng.choice((3, 5)), 1)(x))


def _pad(tf, x, rng: random.Random, notes: list[str]):
    pads = ((rng.randint(0, 2), rng.randint(0, 2)), (rng.randint(0, 2), rng.randint(0, 2)))
    notes.append(f"pad {pads}")
    return tf.keras.layers.ZeroPadding2D(pads)(x)


def _standalone_activation(kind: str):
    """A block ending in a standalone `kind` activation: after a concatenation the converter
    cannot fuse it, so RELU, RELU6, LEAKY_RELU, HARD_SWISH and TANH become ops of their own
    (with their own output scale)."""

    def block(tf, x, rng: random.Random, notes: list[str]):
        notes.append(f"concat {kind}")
        x = tf.keras.layers.Concatenate(axis=-1)([x, tf.keras.layers.Conv2D(rng.choice((2, 3)), 1)(x)])
        if kind == "relu":
            return tf.keras.layers.ReLU()(x)
        if kind == "relu6":
            return tf.keras.layers.ReLU(max_value=6.0)(x)
        if kind == "leaky_relu":
            return tf.keras.layers.LeakyReLU(negative_slope=rng.choice((0.1, 0.3)))(x)
        return tf.keras.layers.Activation(kind)(x)

    return block


def _permute(tf, x, rng: random.Random, notes: list[str]):
    """Height and width swap (channels stay last, so the following blocks keep their shapes)."""
    notes.append("permute (2, 1, 3)")
    return tf.keras.layers.Permute((2, 1, 3))(x)


def _resize(kind: str):
    """RESIZE_BILINEAR or RESIZE_NEAREST_NEIGHBOR, half-pixel centres (Keras Resizing) or
    aligned corners (tf.compat.v1.image), to a size that is not a whole multiple."""

    def block(tf, x, rng: random.Random, notes: list[str]):
        size = (max(x.shape[1] + rng.choice((-2, 3, 5)), 2), max(x.shape[2] + rng.choice((1, 4)), 2))
        aligned = rng.random() < 0.4
        notes.append(f"resize {kind} {size} {'align_corners' if aligned else 'half_pixel'}")
        if not aligned:
            return tf.keras.layers.Resizing(*size, interpolation=kind)(x)
        resize = tf.compat.v1.image.resize_bilinear if kind == "bilinear" else tf.compat.v1.image.resize_nearest_neighbor
        return tf.keras.layers.Lambda(lambda t: resize(t, size, align_corners=True))(x)

    return block


def _upsample(tf, x, rng: random.Random, notes: list[str]):
    """Keras UpSampling2D (nearest) converts to RESHAPE -> TILE -> RESHAPE chains."""
    factor = rng.choice(((2, 1), (1, 2), (2, 2)))
    notes.append(f"upsample {factor}")
    return tf.keras.layers.UpSampling2D(factor)(x)


def _transpose_conv(tf, x, rng: random.Random, notes: list[str]):
    """Conv2DTranspose (a decoder's upsampling): strides, SAME / VALID, bias or none."""
    kernel = rng.choice((2, 3, 4))
    stride = rng.choice(((1, 1), (2, 2), (2, 1)))
    padding = rng.choice(("same", "valid"))
    use_bias = rng.random() < 0.7
    notes.append(f"transpose conv k{kernel} s{stride} {padding} {'bias' if use_bias else 'no bias'}")
    return tf.keras.layers.Conv2DTranspose(rng.choice((3, 4)), kernel, strides=stride, padding=padding,
                                           use_bias=use_bias, bias_initializer="random_normal")(x)


BLOCKS = (_conv, _conv, _depthwise, _pool, _residual_add, _broadcast_add, _gate, _concat, _requantized_concat,
          _channel_softmax, _pad, *(_standalone_activation(kind) for kind in ("relu", "relu6", "leaky_relu",
          "hard_swish", "tanh")), _permute, _resize("bilinear"), _resize("nearest"), _upsample,
          _transpose_conv, _subtract, _maximum_minimum, _reduce_sum, _slices, _prelu, _clip)
# Seed s < len(BLOCKS) starts with BLOCKS[s], so every block (and so every op) is in the zoo.


def _head(tf, x, rng: random.Random, notes: list[str]):
    kind = rng.choice(("gap_softmax", "flatten_dense", "gap_sigmoid", "flatten_softmax"))
    notes.append(kind)
    units = rng.choice((3, 5, 10))
    if kind.startswith("gap"):
        x = tf.keras.layers.GlobalAveragePooling2D()(x)
    else:
        x = tf.keras.layers.Flatten()(x)
    act = {"gap_softmax": "softmax", "flatten_softmax": "softmax", "gap_sigmoid": "sigmoid"}.get(kind)
    return tf.keras.layers.Dense(units, activation=act, bias_initializer="random_normal")(x)


def _quantized(tf, model, shape, seed: int, per_tensor: bool, float_output: bool) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    data_rng = np.random.default_rng(seed)

    def representative():
        for _ in range(24):
            yield [data_rng.normal(0.0, 1.0, size=(1, *shape)).astype(np.float32)]

    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.float32 if float_output else tf.int8
    if per_tensor:
        converter._experimental_disable_per_channel = True
        converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    return converter.convert()


def _tflm_twin(tf, model):
    """The model with every UpSampling2D replaced by a nearest-neighbour Resizing to the same
    size (half-pixel centres pick the same source pixels for factors 1 and 2) and every other
    layer shared, so the same weights; None when it has no UpSampling2D. TFLM has no TILE,
    which UpSampling2D converts to, so TFLM runs the twin for the reference outputs."""
    if not any(isinstance(layer, tf.keras.layers.UpSampling2D) for layer in model.layers):
        return None

    def replace(layer):
        if isinstance(layer, tf.keras.layers.UpSampling2D):
            return tf.keras.layers.Resizing(*layer.output.shape[1:3], interpolation="nearest")
        return layer

    return tf.keras.models.clone_model(model, clone_function=replace)


def build_model(seed: int, out_dir: Path) -> ZooModel:
    """Build, quantize (full int8) and save one random model for `seed` (and its TFLM twin)."""
    import tensorflow as tf

    rng = random.Random(seed)
    tf.keras.utils.set_random_seed(seed)
    shape = rng.choice(INPUT_SHAPES)
    notes = [f"input {shape}"]
    inputs = tf.keras.Input(shape=shape, batch_size=1)
    x = _conv(tf, inputs, rng, notes) if rng.random() < 0.5 else inputs
    blocks = [BLOCKS[seed % len(BLOCKS)]] + [rng.choice(BLOCKS) for _ in range(rng.randint(1, 3))]
    for block in blocks:
        x = block(tf, x, rng, notes)
    outputs = _head(tf, x, rng, notes)
    model = tf.keras.Model(inputs, outputs)
    per_tensor = rng.random() < 0.3
    float_output = rng.random() < 0.2  # a DEQUANTIZE op ends the model
    notes.append("per-tensor" if per_tensor else "per-channel")
    notes.append("float output" if float_output else "int8 output")
    path = Path(out_dir) / f"zoo_{seed:03d}.tflite"
    path.write_bytes(_quantized(tf, model, shape, seed, per_tensor, float_output))
    reference = path
    twin = _tflm_twin(tf, model)
    if twin is not None:
        reference = Path(out_dir) / f"zoo_{seed:03d}_tflm_twin.tflite"
        reference.write_bytes(_quantized(tf, twin, shape, seed, per_tensor, float_output))
    return ZooModel(seed=seed, path=path, description="; ".join(notes), reference=reference)


# Wide depthwise stacks for the vector depthwise kernels (Helium: 8 channels per vector, the
# last one tail-predicated; Arm DSP: 4 per pass): channel counts with full vectors and a
# tail (12, 20), the border windows of SAME padding with strides 1 and 2, a dilation and a
# depth multiplier of 2 (which stays on the general path). Per-tensor and per-channel.
# dw_stack_shapes: the Arm DSP group-major kernel's window moves (odd widths and heights,
# SAME with strides 1 and 2 clipped on both sides, VALID down to an output one pixel wide),
# channels 12, 4 and 8, and an input under 3 x 3 (the per-pixel path).
DEPTHWISE_STACKS = ("dw_stack_per_channel", "dw_stack_per_tensor", "dw_stack_shapes")


def _depthwise_shapes_stack(tf, seed: int, path: Path) -> ZooModel:
    """dw_stack_shapes (see DEPTHWISE_STACKS), per-channel int8."""
    shape = (7, 5, 12)
    layers = tf.keras.layers
    inputs = tf.keras.Input(shape=shape, batch_size=1)
    x = layers.DepthwiseConv2D(3, padding="same", activation="relu", bias_initializer="random_normal")(inputs)
    x = layers.DepthwiseConv2D(3, strides=2, padding="same", bias_initializer="random_normal")(x)  # 7x5 -> 4x3
    x = layers.Conv2D(4, 1, activation="relu6", bias_initializer="random_normal")(x)
    x = layers.DepthwiseConv2D(3, padding="same", bias_initializer="random_normal")(x)  # 4 channels
    x = layers.Conv2D(8, 1, bias_initializer="random_normal")(x)
    x = layers.DepthwiseConv2D(3, padding="valid", activation="relu", bias_initializer="random_normal")(x)  # -> 2x1
    x = layers.DepthwiseConv2D(3, padding="same", bias_initializer="random_normal")(x)  # a 2x1 input
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(5, activation="softmax", bias_initializer="random_normal")(x)
    model = tf.keras.Model(inputs, outputs)
    path.write_bytes(_quantized(tf, model, shape, seed, False, False))
    return ZooModel(seed=seed, path=path, description="dw_stack_shapes", reference=path)


def build_depthwise_stack(name: str, out_dir: Path) -> ZooModel:
    """One of DEPTHWISE_STACKS, quantized full int8."""
    import tensorflow as tf

    seed = DEPTHWISE_STACKS.index(name) + 101
    tf.keras.utils.set_random_seed(seed)
    layers = tf.keras.layers
    if name == "dw_stack_shapes":
        return _depthwise_shapes_stack(tf, seed, Path(out_dir) / f"{name}.tflite")
    shape = (9, 10, 20)
    inputs = tf.keras.Input(shape=shape, batch_size=1)
    x = layers.DepthwiseConv2D(3, padding="same", activation="relu", bias_initializer="random_normal")(inputs)
    x = layers.DepthwiseConv2D(3, strides=2, padding="same", bias_initializer="random_normal")(x)
    x = layers.Conv2D(12, 1, activation="relu6", bias_initializer="random_normal")(x)
    x = layers.DepthwiseConv2D(3, padding="same", dilation_rate=2, bias_initializer="random_normal")(x)
    x = layers.DepthwiseConv2D(3, padding="valid", depth_multiplier=2, bias_initializer="random_normal")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(5, activation="softmax", bias_initializer="random_normal")(x)
    model = tf.keras.Model(inputs, outputs)
    path = Path(out_dir) / f"{name}.tflite"
    path.write_bytes(_quantized(tf, model, shape, seed, name.endswith("per_tensor"), False))
    return ZooModel(seed=seed, path=path, description=name, reference=path)
