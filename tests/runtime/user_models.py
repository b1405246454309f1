"""Small int8 models built the way users build them, for the op-coverage bit-exactness tests.

Unlike the seeded zoo (model_zoo.py, batch fixed to 1), these use `keras.Input(shape=...)`
with an open batch size, as tutorials and Edge Impulse-style notebooks do, so the converter
emits what users' files hold: SHAPE -> STRIDED_SLICE -> PACK before a Flatten's RESHAPE,
EXPAND_DIMS / SQUEEZE around Conv1D, SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND around a dilated
convolution, TRANSPOSE for Permute, standalone RELU / RELU6 / LEAKY_RELU / TANH, HARD_SWISH and
RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR.

Each model is quantized to full int8 with a representative dataset. `twin_of_dilated` is the
same dilated network with batch 1, where the converter writes native dilated convolutions:
TFLM cannot run the open-batch file correctly (it keeps the file's batch-1 shapes for the
space-to-batch tensors, so it computes one of the four phases), so kit's folded result is
compared with TFLM on this twin instead.
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


_BUILDERS: dict[str, tuple[tuple[int, ...], Callable, tuple[str, ...]]] = {
    "cnn_flatten": ((16, 16, 1), _cnn_flatten, ("SHAPE", "STRIDED_SLICE", "PACK")),
    "conv1d_imu": ((64, 6), _conv1d_imu, ("EXPAND_DIMS",)),
    "activations": ((8, 8, 3), _activations, ("SHAPE", "STRIDED_SLICE", "PACK")),
    "dilated": ((13, 11, 3), _dilated, ("SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND")),
    "mobilenet_v3_block": ((12, 12, 3), _mobilenet_v3_block, ("SHAPE", "STRIDED_SLICE", "PACK")),
    "permute": ((8, 6, 3), _permute, ("SHAPE", "STRIDED_SLICE", "PACK")),
    "fomo_upsample": ((12, 12, 3), _fomo_upsample, ()),
}
USER_MODELS: tuple[str, ...] = tuple(_BUILDERS)


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


def build_user_model(name: str, out_dir: Path, seed: int = 7) -> UserModel:
    """Build and quantize one named model (open batch); the dilated one also gets its twin."""
    import tensorflow as tf

    shape, builder, folded = _BUILDERS[name]
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input(shape=shape)  # open batch size, as users write it
    model = tf.keras.Model(inputs, builder(tf.keras.layers, inputs))
    path = Path(out_dir) / f"user_{name}.tflite"
    path.write_bytes(_quantize(tf, model, shape, seed))
    reference = path
    if name == "dilated":
        fixed_inputs = tf.keras.Input(shape=shape, batch_size=1)
        twin = tf.keras.Model(fixed_inputs, builder(tf.keras.layers, fixed_inputs))
        twin.set_weights(model.get_weights())
        reference = Path(out_dir) / f"user_{name}_batch1.tflite"
        reference.write_bytes(_quantize(tf, twin, shape, seed))
    return UserModel(name=name, path=path, reference=reference, folded_ops=folded)
