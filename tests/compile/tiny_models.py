"""Small Keras models converted by TF's own converter, for compiler tests (built once per session)."""

from __future__ import annotations

import numpy as np


def _tf():
    import tensorflow as tf

    return tf


def convert(model, input_shape: tuple[int, ...], mode: str = "int8") -> bytes:
    """mode: 'int8' (full integer, int8 in/out), 'float' (no quantization) or 'int16' (16x8)."""
    tf = _tf()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode != "float":
        rng = np.random.default_rng(0)

        def representative():
            for _ in range(16):
                yield [rng.uniform(-1, 1, (1, *input_shape)).astype(np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        if mode == "int8":
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        else:
            converter.target_spec.supported_ops = [
                tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
            ]
            converter.inference_input_type = tf.int16
            converter.inference_output_type = tf.int16
    return converter.convert()


def small_conv(input_shape=(8, 8, 2)):
    keras = _tf().keras
    inputs = keras.Input(shape=input_shape, batch_size=1)
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(3)(x)
    return keras.Model(inputs, outputs), input_shape


def with_elu(input_shape=(6,)):
    """An op TFLM runs and kit does not (ELU), for the refusal paths."""
    tf = _tf()
    keras = tf.keras
    inputs = keras.Input(shape=input_shape, batch_size=1)
    x = keras.layers.Dense(5)(inputs)
    outputs = keras.layers.Activation("elu")(x)
    return keras.Model(inputs, outputs), input_shape


def varied(input_shape=(9, 9, 3)):
    """Exercises PAD, dilation, depth multiplier, MAX_POOL, CONCATENATION, MUL, LOGISTIC, MEAN, ADD."""
    keras = _tf().keras
    inputs = keras.Input(shape=input_shape, batch_size=1)
    x = keras.layers.ZeroPadding2D(((1, 2), (0, 1)))(inputs)
    x = keras.layers.Conv2D(4, 3, dilation_rate=2, activation="relu6")(x)
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2)(x)
    x = keras.layers.MaxPooling2D(2, padding="same")(x)
    branch = keras.layers.Conv2D(3, 1)(x)
    x = keras.layers.Concatenate()([x, branch])
    gate = keras.layers.Activation("sigmoid")(x)
    x = keras.layers.Multiply()([x, gate])
    x = keras.layers.Add()([x, keras.layers.Conv2D(11, 1)(x)])
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(4, activation="softmax")(x)
    return keras.Model(inputs, outputs), input_shape


def outer_product_mul() -> bytes:
    """A broadcasting MUL: [1,1,4] x [1,4,1] -> [1,4,4] (equal element counts, different shapes)."""
    tf = _tf()

    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
    def outer(x):
        return tf.reshape(x, [1, 1, 4]) * tf.reshape(x, [1, 4, 1])

    converter = tf.lite.TFLiteConverter.from_concrete_functions([outer.get_concrete_function()], outer)
    rng = np.random.default_rng(0)

    def representative():
        for _ in range(16):
            yield [rng.uniform(-1, 1, (1, 4)).astype(np.float32)]

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()
