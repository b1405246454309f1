"""Transfer learning for a student's own classes: the lab's trained layers, a new head.

Thirty clips a class are far too few to train a DS-CNN from random weights (12 classes x 30
clips trained to chance). The lab's reference model already turns MFCCs (or IMU spectra,
images) into useful features; only the last layer is specific to the lab's classes. So:
take the float Keras model saved beside the lab's reference model (models/<lab>/model.keras),
replace its `classifier` layer with one for the student's classes, train that head with the
feature layers frozen, then fine-tune every layer briefly at a small learning rate
(BatchNorm statistics stay frozen: a few hundred clips would only make them noisy).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from kit.errors import ModelError
from kit.train.reference import reference_dir

KERAS_NAME = "model.keras"
HEAD_LAYER = "classifier"
BASE_FALLBACK_SIZE = "small"   # generated data for a base model when models/<lab> has no Keras file
HEAD_EPOCHS, HEAD_LEARNING_RATE = 60, 0.01
FINE_TUNE_EPOCHS, FINE_TUNE_LEARNING_RATE = 4, 0.0003


@dataclass(frozen=True)
class BaseModel:
    """The float model whose feature layers are reused, and where it came from (for the card)."""

    path: Path
    description: str


def reference_keras(lab: str) -> Path | None:
    path = reference_dir(lab) / KERAS_NAME
    return path if path.is_file() else None


def base_model(lab: str, log: Callable[[str], None], progress: bool = True) -> BaseModel:
    """models/<lab>/model.keras, else a model trained on the lab's generated data (cached)."""
    committed = reference_keras(lab)
    if committed is not None:
        log(f"{lab}: transfer learning from the reference model's trained layers ({committed})")
        return BaseModel(committed, f"reference model {committed}")
    from kit.train.pipeline import train_lab

    log(f"{lab}: models/{lab} has no {KERAS_NAME} yet: training the base model on the lab's generated data "
        f"(size {BASE_FALLBACK_SIZE}; cached after the first time)")
    result = train_lab(lab, seed=0, size=BASE_FALLBACK_SIZE, progress=progress)
    path = result.tflite_path.parent / KERAS_NAME
    if not path.is_file():
        raise ModelError(f"the base model for {lab} has no float Keras file ({path})",
                         hint=f"retrain it: kit train {lab} --size {BASE_FALLBACK_SIZE} --force")
    return BaseModel(path, f"trained on the {lab} lab's generated data (size {BASE_FALLBACK_SIZE}): {path}")


def base_identity(lab: str) -> str:
    """What decides the base model, for the training cache key."""
    committed = reference_keras(lab)
    if committed is None:
        return f"generated:{BASE_FALLBACK_SIZE}"
    import hashlib

    return "reference:" + hashlib.sha256(committed.read_bytes()).hexdigest()


def _class_weights(y: np.ndarray, classes: int) -> dict[int, float]:
    """Inverse frequency: a class with fewer clips counts as much as a large one."""
    counts = np.bincount(y, minlength=classes).astype(np.float64)
    return {i: float(len(y) / (classes * c)) if c else 0.0 for i, c in enumerate(counts)}


def new_head_model(base, classes: int, input_shape: tuple[int, ...]):
    """The base's layers up to its classifier, with a fresh softmax layer of `classes` units."""
    import keras

    if tuple(base.input_shape[1:]) != tuple(input_shape):
        raise ModelError(f"the base model takes {tuple(base.input_shape[1:])}, the lab's features are {input_shape}",
                         hint="retrain the lab's reference model (scripts/make_reference_models.sh LAB)")
    try:
        features = base.get_layer(HEAD_LAYER).input
    except ValueError:
        raise ModelError(f"the base model {base.name} has no '{HEAD_LAYER}' layer to replace",
                         hint="use a model built by kit train (its last layer is named classifier)") from None
    outputs = keras.layers.Dense(classes, activation="softmax", name=HEAD_LAYER)(features)
    return keras.Model(base.input, outputs, name=f"{base.name}_own"), keras.Model(base.input, features)


def fit_transfer(base_path: Path, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
                 classes: int, batch_size: int, callbacks_for: Callable[[str, int, int], list]):
    """Head on frozen features (trained on the features computed once), then a short fine-tune."""
    import keras

    base = keras.models.load_model(base_path, compile=False)
    model, extractor = new_head_model(base, classes, tuple(x_train.shape[1:]))
    weights = _class_weights(y_train, classes)
    validation = (x_val, y_val) if len(x_val) else None

    head_input = keras.Input(shape=tuple(extractor.output.shape[1:]))
    head = keras.Model(head_input, model.get_layer(HEAD_LAYER)(head_input))
    head.compile(optimizer=keras.optimizers.Adam(HEAD_LEARNING_RATE), loss="sparse_categorical_crossentropy",
                 metrics=["accuracy"])
    embedded_val = (extractor.predict(x_val, verbose=0), y_val) if validation else None
    steps = int(np.ceil(len(x_train) / batch_size))
    head.fit(extractor.predict(x_train, batch_size=256, verbose=0), y_train, batch_size=batch_size,
             epochs=HEAD_EPOCHS, shuffle=True, verbose=0, class_weight=weights, validation_data=embedded_val,
             callbacks=callbacks_for("head", HEAD_EPOCHS, steps))

    for layer in model.layers:
        layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
    model.compile(optimizer=keras.optimizers.Adam(FINE_TUNE_LEARNING_RATE), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=batch_size, epochs=FINE_TUNE_EPOCHS, shuffle=True, verbose=0,
              class_weight=weights, validation_data=validation,
              callbacks=callbacks_for("fine-tune", FINE_TUNE_EPOCHS, steps))
    return model
