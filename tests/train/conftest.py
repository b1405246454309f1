"""Small models shared by the training tests (built once per session)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from train_helpers import TINY_CLASSES, TINY_INPUT, tiny_data


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """(keras model, int8 .tflite path, x_test, y_test) for a trained conv + depthwise + dense model."""
    import keras

    from kit.train.pipeline import configure_determinism
    from kit.train.quantize import quantize_int8, representative_samples

    configure_determinism(0)
    inputs = keras.Input(shape=TINY_INPUT)
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(TINY_CLASSES, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x_train, y_train = tiny_data(600, seed=1)
    model.fit(x_train, y_train, epochs=8, batch_size=32, verbose=0)
    path = Path(tmp_path_factory.mktemp("tiny")) / "tiny.tflite"
    path.write_bytes(quantize_int8(model, representative_samples(x_train, 0, 200)))
    x_test, y_test = tiny_data(200, seed=2)
    return SimpleNamespace(keras=model, tflite=path, x_test=x_test, y_test=y_test)
