"""Full-integer int8 post-training quantization, and the check that the result only uses ops the
kit runtime (and the lab firmware) can execute."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from kit.compile.ops import OP_NAMES
from kit.errors import ModelError

SUPPORTED_OPS = frozenset(OP_NAMES)  # the ops the kit C runtime executes
REPRESENTATIVE_SAMPLES = 300


def graph_ops(model: bytes | Path) -> list[str]:
    """Builtin op names of the main subgraph, in execution order."""
    from kit.compile.tflite import load_model

    return load_model(model).op_names


def check_supported_ops(model: bytes | Path) -> list[str]:
    """Raise ModelError naming the first op the kit runtime cannot run; return the op list."""
    ops = graph_ops(model)
    for index, op in enumerate(ops):
        if op not in SUPPORTED_OPS:
            raise ModelError(
                f"the converted model uses {op} (node {index}), which the kit runtime does not execute",
                f"change the lab's [model] section so it converts to: {', '.join(sorted(SUPPORTED_OPS))}",
            )
    return ops


def representative_samples(x_train: np.ndarray, seed: int, count: int = REPRESENTATIVE_SAMPLES) -> np.ndarray:
    """A seeded random subset of the training features: what calibration sees decides the scales."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x_train))[: min(count, len(x_train))]
    return np.asarray(x_train[order], dtype=np.float32)


@contextlib.contextmanager
def _quiet_native_output():
    """The converter prints pages of logs from C++ on fds 1 and 2; keep them out of the terminal
    (and out of `kit train --json`'s stdout) and hand them back for error messages."""
    with tempfile.TemporaryFile() as sink:
        saved = [os.dup(1), os.dup(2)]
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        log: list[str] = []
        try:
            yield log
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            log.extend(sink.read().decode(errors="replace").splitlines())


def _batch_one_clone(keras_model):
    """The same model and weights with a fixed batch of 1."""
    import keras

    inputs = keras.Input(batch_shape=(1, *keras_model.input_shape[1:]), name="input")
    clone = keras.models.clone_model(keras_model, input_tensors=inputs)
    clone.set_weights(keras_model.get_weights())
    return clone


def import_tensorflow():
    """Import TensorFlow without its C++ start-up log (CUDA probes, oneDNN notes) on the terminal."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with _quiet_native_output():
        import tensorflow

    return tensorflow


def quantize_int8(keras_model, calibration: np.ndarray) -> bytes:
    """Convert a Keras model to a full-integer .tflite with int8 input and output.

    The graph is traced with batch 1, as the device runs it: a dynamic batch would add
    SHAPE/STRIDED_SLICE/PACK ops around every reshape, which microcontroller runtimes lack.
    """
    import tensorflow as tf

    def representative_dataset():
        for sample in calibration:
            yield [sample[np.newaxis, ...].astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(_batch_one_clone(keras_model))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    try:
        with _quiet_native_output() as log, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Statistics for quantized inputs ...": we pass int8 on purpose
            return bytes(converter.convert())
    except Exception as error:  # the converter raises ConverterError / RuntimeError with its log
        detail = str(error).strip().splitlines()[:1] or log[-1:]
        raise ModelError(
            f"TensorFlow could not quantize the model to int8: {' '.join(detail)}",
            "use layers that have int8 TFLite kernels (see kit.train.models)",
        ) from error


def quantize_features(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Float features to the model's int8 input, exactly as a device front end would."""
    q = np.round(np.asarray(x, dtype=np.float32) / np.float32(scale)) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """int8 outputs to floats (probabilities, reconstructions)."""
    return (np.asarray(q, dtype=np.float32) - zero_point) * np.float32(scale)
