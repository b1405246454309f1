"""Hand counts, a tiny learnable dataset and a stand-in for kit.data used by the training tests."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

# Hand-counted cost of `tiny_keras_model` (input 8x8x2):
#   CONV_2D 4 filters 3x3, stride 1, same  -> 8x8x4 outputs, each 3*3*2 MACs   = 4608 MACs, 3*3*2*4 + 4 = 76 params
#   DEPTHWISE_CONV_2D 3x3, stride 2, same  -> 4x4x4 outputs, each 3*3 MACs     =  576 MACs, 3*3*4 + 4   = 40 params
#   RESHAPE (flatten)                                                          =    0
#   FULLY_CONNECTED 64 -> 3                -> 3 outputs, each 64 MACs          =  192 MACs, 64*3 + 3    = 195 params
#   SOFTMAX                                                                    =    0
TINY_HAND_COUNT = [("CONV_2D", 4608, 76), ("DEPTHWISE_CONV_2D", 576, 40), ("RESHAPE", 0, 0),
                   ("FULLY_CONNECTED", 192, 195), ("SOFTMAX", 0, 0)]
TINY_INPUT = (8, 8, 2)
TINY_CLASSES = 3


def tiny_data(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three classes told apart by which channel/quadrant carries energy: learnable in seconds."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, TINY_CLASSES, count)
    x = rng.normal(0.0, 0.3, (count, *TINY_INPUT)).astype(np.float32)
    for i, label in enumerate(y):
        row = 4 * (label % 2)
        x[i, row:row + 4, :4 if label < 2 else 8, label % 2] += 1.5
    return x, y


def synthetic_dataset(lab, count: int, seed: int = 0):
    """A stand-in for kit.data with the lab's shapes: class k lifts feature block k (for anomaly:
    'anomaly' samples carry an extra pattern). Lets pipeline tests run without generating data."""
    rng = np.random.default_rng(seed)
    shape = tuple(lab.input_shape[1:])
    classes = len(lab.labels)

    def make(n: int):
        y = rng.integers(0, classes, n)
        x = rng.normal(0.0, 0.5, (n, int(np.prod(shape)))).astype(np.float32)
        width = max(1, x.shape[1] // (classes * 2))
        for k in range(classes):
            x[y == k, k * width:(k + 1) * width] += 2.0
        return x.reshape((n, *shape)), y

    (x_train, y_train), (x_val, y_val), (x_test, y_test) = make(count), make(count // 4), make(count // 4)
    return SimpleNamespace(x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, x_test=x_test,
                           y_test=y_test, labels=list(lab.labels), test_groups=np.zeros(len(y_test)), metadata={})
