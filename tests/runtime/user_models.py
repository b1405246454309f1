"""Small int8 models built the way users build them, for the op-coverage bit-exactness tests.

Unlike the seeded zoo (model_zoo.py, batch fixed to 1), these use `keras.Input(shape=...)`
with an open batch size, as tutorials and Edge Impulse-style notebooks do, so the converter
emits what users' files hold: SHAPE -> STRIDED_SLICE -> PACK before a Flatten's RESHAPE,
EXPAND_DIMS / SQUEEZE around Conv1D, SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND around a dilated
convolution, TRANSPOSE for Permute, standalone RELU / RELU6 / LEAKY_RELU / TANH, HARD_SWISH and
RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR, TRANSPOSE_CONV, PRELU, RELU_N1_TO_1 (checked against TensorFlow Lite's reference
kernels: TFLM has none, see tests/runtime/references.py).

Each model is quantized to full int8 with a representative dataset. Two files TFLM cannot
run right get a twin (same weights) that TFLM runs instead: the dilated network with batch 1,
where the converter writes native dilated convolutions (on the open-batch file TFLM keeps the
file's batch-1 shapes for the space-to-batch tensors and computes one of the four phases),
and UpSampling2D's TILE chain (TFLM has no TILE), twinned by a nearest-neighbour Resizing
that picks the same pixels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@dataclass(frozen=True)
class UserModel:
    name: str
    path: Path
    reference: Path  # the file TFLM runs for the expected outputs (itself, or its batch-1 twin)
    folded_ops: tuple[str, ...]  # ops of the .tflite that kit must fold away (none may reach the plan)


def _cnn_flatten(layers, x):
    x = layers.Conv2D(8, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(12, 3, activation="relu")(x)
    x = layers.Flatten()(x)
    return layers.Dense(5, activation="softmax")(x)


def _conv1d_imu(layers, x):
    from keras import ops

    x = layers.Conv1D(12, 5, activation="relu")(x)
    x = layers.MaxPooling1D(2)(x)
    x = layers.Conv1D(16, 3, padding="same", activation="relu")(x)
    x = layers.Reshape((-1, 1, 16))(x)
    x = layers.Lambda(lambda t: ops.squeeze(t, axis=2))(x)  # a SQUEEZE, as ported PyTorch code writes
    x = layers.GlobalAveragePooling1D()(x)
    return layers.Dense(4, activation="softmax")(x)


def _activations(layers, x):
    """Standalone activations: after a concatenation the converter cannot fuse them."""
    x = layers.Concatenate()([x, layers.Conv2D(3, 1)(x)])
    relu = layers.ReLU()(x)
    relu6 = layers.ReLU(max_value=6.0)(layers.Concatenate()([relu, layers.Conv2D(4, 3, padding="same")(relu)]))
    leaky = layers.LeakyReLU(negative_slope=0.2)(layers.Concatenate()([relu6, layers.Conv2D(2, 1)(relu)]))
    tanh = layers.Activation("tanh")(layers.Conv2D(4, 1)(leaky))
    return layers.Dense(3)(layers.Flatten()(tanh))


def _dilated(layers, x):
    x = layers.Conv2D(6, 3, dilation_rate=2, padding="same")(x)
    x = layers.DepthwiseConv2D(3, dilation_rate=(2, 3), padding="same")(x)
    x = layers.Conv2D(4, 3, dilation_rate=2, padding="valid")(x)
    return layers.Dense(3)(layers.GlobalAveragePooling2D()(x))


def _mobilenet_v3_block(layers, x):
    """Hard-swish, a depthwise stage and a squeeze-excite gate with hard-sigmoid (MobileNetV3)."""
    x = layers.Activation("hard_swish")(layers.Conv2D(8, 3, strides=2, padding="same")(x))
    d = layers.Activation("hard_swish")(layers.DepthwiseConv2D(3, padding="same")(x))
    s = layers.GlobalAveragePooling2D(keepdims=True)(d)
    s = layers.Conv2D(4, 1, activation="relu")(s)
    s = layers.Activation("hard_sigmoid")(layers.Conv2D(8, 1)(s))
    x = layers.Multiply()([d, s])
    return layers.Dense(4)(layers.Flatten()(x))


def _prelu(layers, x):
    """PReLU as Keras users write it: per channel after a conv, then one alpha per element."""
    x = layers.Conv2D(6, 3, padding="same")(x)
    x = layers.PReLU(shared_axes=[1, 2], alpha_initializer="random_uniform")(x)
    x = layers.DepthwiseConv2D(3, strides=2, padding="same")(x)
    x = layers.PReLU(alpha_initializer="random_uniform")(x)
    return layers.Dense(3)(layers.Flatten()(x))


def _clip(layers, x):
    """Clipping to [-1, 1] as users write it (tf.clip_by_value, or minimum(maximum(.))):
    after a concatenation the converter emits standalone RELU_N1_TO_1 ops."""
    import tensorflow as tf

    x = layers.Concatenate()([x, layers.Conv2D(3, 1)(x)])
    x = layers.Lambda(lambda t: tf.clip_by_value(t, -1.0, 1.0))(x)
    x = layers.Concatenate()([x, layers.Conv2D(2, 3, padding="same")(x)])
    x = layers.Lambda(lambda t: tf.minimum(tf.maximum(t, -1.0), 1.0))(x)
    return layers.Dense(3)(layers.Flatten()(layers.Conv2D(4, 1)(x)))


# (kind, pool size, strides, padding) on a 7x6 input: SAME on odd and even sizes, asymmetric
# SAME padding, strides larger than the window, a window larger than the input (SAME), VALID.
_POOLINGS = (("max", (2, 2), (2, 2), "same"), ("avg", (3, 3), (2, 2), "same"), ("avg", (2, 3), (3, 1), "same"),
             ("max", (1, 1), (3, 3), "same"), ("avg", (8, 8), (1, 1), "same"), ("max", (9, 7), (2, 3), "same"),
             ("avg", (3, 2), (4, 5), "valid"), ("max", (3, 3), (1, 1), "valid"), ("avg", (4, 4), (2, 2), "same"))


def _poolings(layers, x):
    """Every padding case of MAX_POOL_2D / AVERAGE_POOL_2D side by side on one activation."""
    x = layers.Conv2D(3, 1)(x)
    branches = []
    for kind, size, strides, padding in _POOLINGS:
        pool = layers.MaxPooling2D if kind == "max" else layers.AveragePooling2D
        branches.append(layers.Flatten()(pool(size, strides=strides, padding=padding)(x)))
    return layers.Dense(4)(layers.Concatenate()(branches))


def _permute(layers, x):
    x = layers.Conv2D(4, 3)(x)
    x = layers.Permute((2, 1, 3))(x)
    return layers.Dense(3)(layers.Flatten()(x))


def _fomo_upsample(layers, x):
    """A FOMO / segmentation-style head: downsample, then back up with bilinear upsampling and a
    nearest-neighbour resize to the label grid."""
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.UpSampling2D(2, interpolation="bilinear")(x)
    x = layers.Resizing(6, 6, interpolation="nearest")(x)
    return layers.Conv2D(3, 1, activation="softmax")(x)


def _decoder(layers, x):
    """An autoencoder-style decoder: Conv2DTranspose upsampling, as users write it."""
    x = layers.Conv2D(6, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu")(x)
    return layers.Conv2DTranspose(2, 2, strides=1, padding="valid")(x)


def _upsample_nearest(layers, x, reference: bool = False):
    """Keras UpSampling2D (nearest) converts to RESHAPE -> TILE -> RESHAPE chains, which TFLM
    cannot run (it has no TILE). Its reference twin resizes with RESIZE_NEAREST_NEIGHBOR
    (half-pixel centres pick source index i // 2 for a factor 2: the same pixels)."""
    x = layers.Conv2D(4, 3, activation="relu")(x)
    size = (2 * x.shape[1], 3 * x.shape[2])
    x = layers.Resizing(*size, interpolation="nearest")(x) if reference else layers.UpSampling2D((2, 3))(x)
    return layers.Conv2D(3, 1)(x)


@dataclass(frozen=True)
class _Recipe:
    shape: tuple[int, ...]
    builder: Callable
    folded_ops: tuple[str, ...]
    open_batch: bool = True  # keras.Input(shape=...) as users write it; False: batch_size=1
    twin: bool = False  # TFLM cannot run the file right: compare with TFLM on a batch-1 twin
    twin_layers: bool = False  # the twin is builder(reference=True): other layers, same math


_RECIPES: dict[str, _Recipe] = {
    "cnn_flatten": _Recipe((16, 16, 1), _cnn_flatten, ("SHAPE", "STRIDED_SLICE", "PACK")),
    "conv1d_imu": _Recipe((64, 6), _conv1d_imu, ("EXPAND_DIMS",)),
    "activations": _Recipe((8, 8, 3), _activations, ("SHAPE", "STRIDED_SLICE", "PACK")),
    "dilated": _Recipe((13, 11, 3), _dilated, ("SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND"), twin=True),
    "mobilenet_v3_block": _Recipe((12, 12, 3), _mobilenet_v3_block, ("SHAPE", "STRIDED_SLICE", "PACK")),
    "permute": _Recipe((8, 6, 3), _permute, ("SHAPE", "STRIDED_SLICE", "PACK")),
    "fomo_upsample": _Recipe((12, 12, 3), _fomo_upsample, ()),
    "prelu": _Recipe((9, 8, 3), _prelu, ("SHAPE", "STRIDED_SLICE", "PACK")),
    "clip": _Recipe((7, 6, 3), _clip, ("SHAPE", "STRIDED_SLICE", "PACK")),
    "poolings": _Recipe((7, 6, 2), _poolings, ("SHAPE", "STRIDED_SLICE", "PACK")),
    "decoder": _Recipe((10, 8, 2), _decoder, ("SHAPE", "STRIDED_SLICE", "PACK")),
    # open batch would give TILE outputs whose file shapes are placeholders (see the report of
    # kit.compile.fold's limits): batch 1, as kit train exports
    "upsample_nearest": _Recipe((7, 6, 3), _upsample_nearest, (), open_batch=False, twin=True,
                                twin_layers=True),
}
USER_MODELS: tuple[str, ...] = tuple(_RECIPES)


def _quantize(tf, model, shape: tuple[int, ...], seed: int) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    data_rng = np.random.default_rng(seed)
    samples = [data_rng.normal(0.0, 1.0, size=(1, *shape)).astype(np.float32) for _ in range(32)]
    converter.representative_dataset = lambda: ([sample] for sample in samples)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def _keras_model(tf, recipe: _Recipe, batch_size: int | None, reference: bool = False):
    inputs = tf.keras.Input(shape=recipe.shape, batch_size=batch_size)
    outputs = recipe.builder(tf.keras.layers, inputs, reference=True) if reference else recipe.builder(tf.keras.layers, inputs)
    return tf.keras.Model(inputs, outputs)


def build_user_model(name: str, out_dir: Path, seed: int = 7) -> UserModel:
    """Build and quantize one named model; a model TFLM cannot run also gets its twin (same
    weights, batch 1, reference layers) for TFLM to run."""
    import tensorflow as tf

    recipe = _RECIPES[name]
    tf.keras.utils.set_random_seed(seed)
    model = _keras_model(tf, recipe, None if recipe.open_batch else 1)
    path = Path(out_dir) / f"user_{name}.tflite"
    path.write_bytes(_quantize(tf, model, recipe.shape, seed))
    reference = path
    if recipe.twin:
        twin = _keras_model(tf, recipe, 1, reference=recipe.twin_layers)
        twin.set_weights(model.get_weights())
        reference = Path(out_dir) / f"user_{name}_twin.tflite"
        reference.write_bytes(_quantize(tf, twin, recipe.shape, seed))
    return UserModel(name=name, path=path, reference=reference, folded_ops=recipe.folded_ops)
