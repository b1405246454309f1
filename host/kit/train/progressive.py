"""Progressive resizing: most epochs on the lab's frames downscaled, then a few at the lab's size.

A MobileNet at 160 or 224 px costs 3-5x the compute of 96 px per epoch; trained from scratch at
full size it does not converge in a workshop's minutes. Its layers up to the global pool are
convolutions, so the weights learnt at 96 px run at every size: train there first, rebuild the
model at the next size, copy the weights over by layer name and fine-tune. The lab's [training]
asks for it with `progressive_sizes` (square sizes, ascending, below the lab's) and
`progressive_epochs` (epochs at each); `epochs` stays the epochs at the lab's own size. The first
stage learns at `learning_rate`; every later one fine-tunes at `fine_tune_learning_rate`
(default: learning_rate). The arrays are resized here, in
training: the lab's data and features stay those of its own size (what the board sees).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

RESIZE_BATCH = 256  # frames resized at once: bounds the float32 copy TensorFlow makes


@dataclass(frozen=True)
class Stage:
    """One training stage: input size (None = the lab's own), epochs and peak learning rate."""

    size: int | None
    epochs: int
    learning_rate: float


def stages(training: dict[str, Any]) -> list[Stage]:
    """The stages a lab's [training] asks for (without progressive_sizes: one stage at the lab's
    size, at learning_rate). The catalog (kit.catalog.models.LabTraining) has checked the lists already."""
    learning_rate = float(training.get("learning_rate", 0.001))
    sizes = [int(size) for size in training.get("progressive_sizes", [])]
    epochs = [int(count) for count in training.get("progressive_epochs", [])]
    fine_tune = float(training.get("fine_tune_learning_rate", learning_rate))
    sized: list[int | None] = [*sizes, None]
    counts = [*epochs, int(training.get("epochs", 10))]
    return [Stage(size, count, learning_rate if index == 0 else fine_tune)  # the first stage learns from scratch
            for index, (size, count) in enumerate(zip(sized, counts))]


def resize_frames(x: np.ndarray, size: int) -> np.ndarray:
    """Frames (N, H, W, C) downscaled to (N, size, size, C) with area averaging, as a camera
    binning its sensor would; float32 in, float32 out."""
    import tensorflow as tf

    if len(x) == 0:
        return np.zeros((0, size, size, x.shape[-1]), np.float32)
    parts = [tf.image.resize(x[start:start + RESIZE_BATCH], (size, size), method="area").numpy()
             for start in range(0, len(x), RESIZE_BATCH)]
    return np.concatenate(parts).astype(np.float32, copy=False)


def transfer_weights(source, target) -> None:
    """Copy every layer's weights from `source` into the same-named layer of `target` (same
    architecture, other input size: the shapes of all weights agree)."""
    by_name = {layer.name: layer for layer in source.layers}
    for layer in target.layers:
        if layer.name in by_name and layer.weights:
            layer.set_weights(by_name[layer.name].get_weights())


def fit_progressive(
    build: Callable[[tuple[int, ...]], Any],
    fit_stage: Callable[[Any, Stage, np.ndarray, np.ndarray], None],
    input_shape: tuple[int, ...],
    x_train: np.ndarray,
    x_val: np.ndarray,
    plan: list[Stage],
):
    """Run the stages in order. `build(shape)` makes the model for one input shape (no batch
    axis); `fit_stage(model, stage, x_train, x_val)` compiles and fits it. Returns the model at
    the lab's size."""
    previous = None
    for stage in plan:
        size = stage.size
        shape = input_shape if size is None else (size, size, *input_shape[2:])
        model = build(shape)
        if previous is not None:
            transfer_weights(previous, model)
        xs = (x_train, x_val) if size is None else (resize_frames(x_train, size), resize_frames(x_val, size))
        fit_stage(model, stage, *xs)
        previous = model
    return previous
