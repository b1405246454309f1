"""Keras model builders for the lab architectures named in a lab's [model] section.

Every builder uses only layers that convert to ops the kit runtime executes (CONV_2D,
DEPTHWISE_CONV_2D, FULLY_CONNECTED, AVERAGE_POOL_2D, RESHAPE, SOFTMAX ...): BatchNorm folds
into the preceding convolution, ReLU fuses into it, Dropout disappears at conversion.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from kit.errors import CatalogError

DEFAULT_BATCHNORM_MOMENTUM = 0.9


def _keras():
    import keras

    return keras


def _conv_bn_relu(x, filters: int, kernel: tuple[int, int], strides: tuple[int, int], momentum: float, name: str):
    layers = _keras().layers
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=momentum, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _depthwise_separable(x, filters: int, strides: tuple[int, int], momentum: float, name: str):
    layers = _keras().layers
    x = layers.DepthwiseConv2D((3, 3), strides=strides, padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = layers.BatchNormalization(momentum=momentum, name=f"{name}_dw_bn")(x)
    x = layers.ReLU(name=f"{name}_dw_relu")(x)
    return _conv_bn_relu(x, filters, (1, 1), (1, 1), momentum, f"{name}_pw")


def _pool_and_classify(x, classes: int, dropout: float):
    """Average pool over the whole feature map (AVERAGE_POOL_2D, like MLPerf), then a dense softmax."""
    layers = _keras().layers
    if dropout > 0:
        x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.AveragePooling2D(pool_size=tuple(int(d) for d in x.shape[1:3]), name="avg_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    return layers.Dense(classes, activation="softmax", name="classifier")(x)


def build_ds_cnn(input_shape: Sequence[int], classes: int, model: dict, training: dict):
    """MLPerf Tiny kws01-like DS-CNN: conv 10x4 stride 2, N depthwise-separable blocks, pool, dense."""
    keras = _keras()
    filters = int(model.get("filters", 64))
    blocks = int(model.get("blocks", 4))
    momentum = float(training.get("batchnorm_momentum", DEFAULT_BATCHNORM_MOMENTUM))
    inputs = keras.Input(shape=tuple(input_shape), name="input")
    x = _conv_bn_relu(inputs, filters, (10, 4), (2, 2), momentum, "stem")
    for index in range(blocks):
        x = _depthwise_separable(x, filters, (1, 1), momentum, f"block{index + 1}")
    outputs = _pool_and_classify(x, classes, float(model.get("dropout", 0.2)))
    return keras.Model(inputs, outputs, name="ds_cnn")


# MobileNetV1 depthwise-separable blocks: (filters at alpha=1, stride)
_MOBILENET_V1_BLOCKS = [
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
]


def build_mobilenet_v1(input_shape: Sequence[int], classes: int, model: dict, training: dict):
    """MobileNetV1 (width `alpha`) truncated to its first `blocks` blocks so it trains in minutes."""
    keras = _keras()
    alpha = float(model.get("alpha", 0.25))
    blocks = int(model.get("blocks", len(_MOBILENET_V1_BLOCKS)))
    if not 1 <= blocks <= len(_MOBILENET_V1_BLOCKS):
        raise CatalogError(
            f"mobilenet_v1 blocks = {blocks} is out of range",
            f"set [model] blocks between 1 and {len(_MOBILENET_V1_BLOCKS)} in the lab file",
        )
    momentum = float(training.get("batchnorm_momentum", DEFAULT_BATCHNORM_MOMENTUM))
    inputs = keras.Input(shape=tuple(input_shape), name="input")
    x = _conv_bn_relu(inputs, max(8, int(32 * alpha)), (3, 3), (2, 2), momentum, "stem")
    for index, (width, stride) in enumerate(_MOBILENET_V1_BLOCKS[:blocks]):
        x = _depthwise_separable(x, max(8, int(width * alpha)), (stride, stride), momentum, f"block{index + 1}")
    outputs = _pool_and_classify(x, classes, float(model.get("dropout", 0.1)))
    return keras.Model(inputs, outputs, name="mobilenet_v1")


def build_dense(input_shape: Sequence[int], classes: int, model: dict, training: dict):
    """A small multilayer perceptron over hand-made features (the motion lab)."""
    keras = _keras()
    inputs = keras.Input(shape=tuple(input_shape), name="input")
    x = inputs
    for index, units in enumerate(model.get("units", [32])):
        x = keras.layers.Dense(int(units), activation="relu", name=f"dense{index + 1}")(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name="classifier")(x)
    return keras.Model(inputs, outputs, name="dense")


def build_conv1d(input_shape: Sequence[int], classes: int, model: dict, training: dict):
    """The book's KWS model (Edge Impulse's 1-D CNN): convolutions over time with the MFCC
    coefficients as channels, each followed by max pooling by 2 and dropout, then a softmax.
    Conv1D itself converts to EXPAND_DIMS / SQUEEZE around CONV_2D; the same maths as CONV_2D
    with a (kernel, 1) window on the features reshaped to time x 1 x coefficients (a RESHAPE
    that moves no byte) converts to ops every kit target runs."""
    keras = _keras()
    layers = keras.layers
    frames, coefficients = int(input_shape[0]), int(np.prod(input_shape[1:]))
    kernel = int(model.get("kernel", 3))
    dropout = float(model.get("dropout", 0.25))
    inputs = keras.Input(shape=tuple(input_shape), name="input")
    x = layers.Reshape((frames, 1, coefficients), name="time_by_coefficients")(inputs)
    for index, filters in enumerate(model.get("filters", [8, 16])):
        x = layers.Conv2D(int(filters), (kernel, 1), padding="same", activation="relu", name=f"conv1d_{index + 1}")(x)
        x = layers.MaxPooling2D((2, 1), padding="same", name=f"pool{index + 1}")(x)
        if dropout > 0:
            x = layers.Dropout(dropout, name=f"dropout{index + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(classes, activation="softmax", name="classifier")(x)
    return keras.Model(inputs, outputs, name="conv1d")


def build_autoencoder(input_shape: Sequence[int], classes: int, model: dict, training: dict):
    """Fully connected autoencoder like MLPerf Tiny ad01; its output reconstructs its input."""
    keras = _keras()
    inputs = keras.Input(shape=tuple(input_shape), name="input")
    x = inputs
    for index, units in enumerate(model.get("units", [64, 32, 8, 32, 64])):
        x = keras.layers.Dense(int(units), activation="relu", name=f"dense{index + 1}")(x)
    outputs = keras.layers.Dense(int(input_shape[-1]), name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="autoencoder")


def _divisible(value: float, divisor: int = 8) -> int:
    """MobileNetV2's channel rounding: to a multiple of 8, never below 90% of the exact width."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _inverted_residual(x, expansion: int, filters: int, stride: int, momentum: float, name: str):
    """MobileNetV2 block: 1x1 expand + ReLU6, 3x3 depthwise + ReLU6, 1x1 linear project (+ ADD)."""
    layers = _keras().layers
    inputs, channels = x, int(x.shape[-1])
    if expansion != 1:
        x = layers.Conv2D(channels * expansion, 1, use_bias=False, name=f"{name}_expand")(x)
        x = layers.BatchNormalization(momentum=momentum, name=f"{name}_expand_bn")(x)
        x = layers.ReLU(6.0, name=f"{name}_expand_relu")(x)
    x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = layers.BatchNormalization(momentum=momentum, name=f"{name}_dw_bn")(x)
    x = layers.ReLU(6.0, name=f"{name}_dw_relu")(x)
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_project")(x)
    x = layers.BatchNormalization(momentum=momentum, name=f"{name}_project_bn")(x)
    if stride == 1 and channels == filters:
        x = layers.Add(name=f"{name}_add")([inputs, x])
    return x


# MobileNetV2 up to 1/8 of the input (expansion, filters at alpha=1, repeats, first stride): FOMO's cut
_MOBILENET_V2_TO_STRIDE_8 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2)]


def _mobilenet_v2_trunk(inputs, alpha: float, momentum: float, blocks):
    """The stride-2 stem and the inverted-residual stages of `blocks` (the FOMO cut or the whole)."""
    layers = _keras().layers
    x = layers.Conv2D(_divisible(32 * alpha), 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(momentum=momentum, name="stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_relu")(x)
    for stage, (expansion, width, repeats, stride) in enumerate(blocks):
        for repeat in range(repeats):
            x = _inverted_residual(x, expansion, _divisible(width * alpha), stride if repeat == 0 else 1, momentum,
                                   f"block{stage + 1}_{repeat + 1}")
    return x


def build_fomo_mobilenet_v2(input_shape: Sequence[int], classes: int, model: dict, training: dict):
    """FOMO: a MobileNetV2 trunk (width `alpha`) cut at 1/8 of the input, then 1x1 convolutions
    to a per-cell softmax over background + classes (a 96x96 input gives a 12x12 grid)."""
    keras = _keras()
    layers = keras.layers
    alpha = float(model.get("alpha", 0.35))
    momentum = float(training.get("batchnorm_momentum", DEFAULT_BATCHNORM_MOMENTUM))
    inputs = keras.Input(shape=tuple(input_shape), name="input")
    x = _mobilenet_v2_trunk(inputs, alpha, momentum, _MOBILENET_V2_TO_STRIDE_8)
    x = layers.Conv2D(int(model.get("head_filters", 32)), 1, activation="relu", name="head_conv")(x)
    outputs = layers.Conv2D(classes, 1, activation="softmax", name="cell_classes")(x)
    return keras.Model(inputs, outputs, name="fomo_mobilenet_v2")


# The whole MobileNetV2 feature extractor (expansion, filters at alpha=1, repeats, first stride)
_MOBILENET_V2_BLOCKS = [*_MOBILENET_V2_TO_STRIDE_8, (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def build_mobilenet_v2(input_shape: Sequence[int], classes: int, model: dict, training: dict):
    """MobileNetV2 classifier (width `alpha`): the full inverted-residual trunk, a 1x1 conv to
    `last_filters` (1280 as in the paper, which keeps it at 1280 for alpha < 1), global average
    pooling, dropout and a dense softmax. Fully convolutional up to the pool, so the same
    weights run at every input size (progressive resizing in kit.train.progressive)."""
    keras = _keras()
    layers = keras.layers
    alpha = float(model.get("alpha", 0.35))
    momentum = float(training.get("batchnorm_momentum", DEFAULT_BATCHNORM_MOMENTUM))
    inputs = keras.Input(shape=tuple(input_shape), name="input")
    x = _mobilenet_v2_trunk(inputs, alpha, momentum, _MOBILENET_V2_BLOCKS)
    x = _conv_bn_relu6(x, int(model.get("last_filters", 1280)), momentum, "last")
    outputs = _pool_and_classify(x, classes, float(model.get("dropout", 0.2)))
    return keras.Model(inputs, outputs, name="mobilenet_v2")


def _conv_bn_relu6(x, filters: int, momentum: float, name: str):
    layers = _keras().layers
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=momentum, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x)


BUILDERS: dict[str, Callable[..., Any]] = {
    "fomo_mobilenet_v2": build_fomo_mobilenet_v2,
    "ds_cnn": build_ds_cnn,
    "mobilenet_v1": build_mobilenet_v1,
    "dense": build_dense,
    "conv1d": build_conv1d,
    "autoencoder": build_autoencoder,
    "mobilenet_v2": build_mobilenet_v2,
}


def build_model(arch: str, input_shape: Sequence[int], classes: int, model: dict, training: dict):
    """Build the Keras model a lab's [model] section names (input_shape without the batch axis)."""
    builder = BUILDERS.get(arch)
    if builder is None:
        raise CatalogError(
            f"unknown model architecture '{arch}'",
            f"set [model] arch to one of: {', '.join(sorted(BUILDERS))}",
        )
    return builder(input_shape, classes, model, training)
