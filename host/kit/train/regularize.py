"""Training-time regularisation of a classifier's batches: SpecAugment-style masks, mixup and
label smoothing, asked for by optional [training] keys.

The kws model fits its training synthesizers (espeak-ng, festival) better with every epoch and
hears the held-out one (flite) worse: these make the training features harder without changing
the exported model (no layer is added; the masks are applied to the batches fed to `fit`).

- `time_masks` masks of up to `time_mask_frames` whole frames and `coefficient_masks` masks of up
  to `coefficient_mask_width` MFCC coefficients per training sample, fresh each epoch. A masked
  value becomes that sample's mean of its coefficient over time: the mask hides what was said
  there, not the loudness of the clip (coefficient 0 is the log energy).
- `mixup_alpha`: each batch is blended with a shuffled copy of itself, features and one-hot
  labels alike, in a share drawn from Beta(alpha, alpha) per sample.
- `label_smoothing`: the one-hot targets lose this share to the other classes (Keras' loss).
- `ema_momentum`: the model keeps the exponential moving average of its weights over the steps
  (Keras' Adam `use_ema`), written into it when fit ends: the average of the last epochs' weights
  sits in a flatter spot than the last step's.

Every draw comes from NumPy generators seeded by (seed, epoch, batch): the same seed gives the
same batches, and so the same weights, on every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

TIME_AXIS, COEFFICIENT_AXIS = 1, 2  # of a batch (N, frames, coefficients, 1)


@dataclass(frozen=True)
class Regularization:
    """The [training] regularisation keys of one lab (all off by default)."""

    time_masks: int = 0
    time_mask_frames: int = 0
    coefficient_masks: int = 0
    coefficient_mask_width: int = 0
    mixup_alpha: float = 0.0
    label_smoothing: float = 0.0
    ema_momentum: float = 0.0

    @classmethod
    def from_training(cls, training: dict[str, Any]) -> "Regularization":
        """The lab's settings; the catalog (kit.catalog.models.LabTraining) has checked them."""
        return cls(
            time_masks=int(training.get("time_masks") or 0),
            time_mask_frames=int(training.get("time_mask_frames") or 0),
            coefficient_masks=int(training.get("coefficient_masks") or 0),
            coefficient_mask_width=int(training.get("coefficient_mask_width") or 0),
            mixup_alpha=float(training.get("mixup_alpha") or 0.0),
            label_smoothing=float(training.get("label_smoothing") or 0.0),
            ema_momentum=float(training.get("ema_momentum") or 0.0),
        )

    @property
    def masks(self) -> bool:
        return (self.time_masks > 0 and self.time_mask_frames > 0) or \
            (self.coefficient_masks > 0 and self.coefficient_mask_width > 0)

    @property
    def changes_batches(self) -> bool:
        """Whether fit needs batches made here (label smoothing alone is the loss's business)."""
        return self.masks or self.mixup_alpha > 0

    @property
    def soft_labels(self) -> bool:
        """Whether the targets are one-hot rows (mixup blends them; smoothing needs them)."""
        return self.mixup_alpha > 0 or self.label_smoothing > 0

    @property
    def active(self) -> bool:
        return self.changes_batches or self.soft_labels or self.ema_momentum > 0


def _mask_axis(x: np.ndarray, fill: np.ndarray, axis: int, count: int, widest: int, rng: np.random.Generator) -> None:
    """`count` masks of 0..`widest` positions along `axis` of every sample, set in place to the
    sample's `fill` (its mean of each coefficient over time, shape (N, coefficients, ...))."""
    size = x.shape[axis]
    for sample in range(len(x)):
        for _ in range(count):
            width = int(rng.integers(0, widest + 1))
            start = int(rng.integers(0, size - width + 1))
            if axis == TIME_AXIS:
                x[sample, start:start + width] = fill[sample]
            else:
                x[sample, :, start:start + width] = fill[sample, start:start + width]


def mask_features(x: np.ndarray, settings: Regularization, rng: np.random.Generator) -> np.ndarray:
    """A masked copy of a batch (N, frames, coefficients, ...): time masks, then coefficient masks."""
    masked = np.array(x, dtype=np.float32, copy=True)
    fill = masked.mean(axis=TIME_AXIS)  # per sample and coefficient, before any mask
    if settings.time_masks and settings.time_mask_frames:
        _mask_axis(masked, fill, TIME_AXIS, settings.time_masks, settings.time_mask_frames, rng)
    if settings.coefficient_masks and settings.coefficient_mask_width:
        _mask_axis(masked, fill, COEFFICIENT_AXIS, settings.coefficient_masks, settings.coefficient_mask_width, rng)
    return masked


def mixup(x: np.ndarray, y: np.ndarray, alpha: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each sample blended with another of the batch: share lam ~ Beta(alpha, alpha) of its own."""
    partner = rng.permutation(len(x))
    lam = rng.beta(alpha, alpha, size=len(x)).astype(np.float32)
    lam = np.maximum(lam, 1.0 - lam)  # the sample keeps the larger share: its label stays the top one
    x_shape = (len(x),) + (1,) * (x.ndim - 1)
    mixed_x = lam.reshape(x_shape) * x + (1.0 - lam.reshape(x_shape)) * x[partner]
    mixed_y = lam[:, None] * y + (1.0 - lam[:, None]) * y[partner]
    return mixed_x.astype(np.float32), mixed_y.astype(np.float32)


def one_hot(y: np.ndarray, classes: int) -> np.ndarray:
    return np.eye(classes, dtype=np.float32)[np.asarray(y, dtype=np.int64)]


class BatchPlan:
    """The training batches of every epoch: a seeded shuffle, then masks and mixup per batch.
    Plain NumPy (the Keras PyDataset below only hands its batches to fit)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, classes: int, settings: Regularization, seed: int):
        self.x, self.y = np.asarray(x, np.float32), np.asarray(y)
        self.batch_size, self.classes, self.settings, self.seed = batch_size, classes, settings, int(seed)
        self.epoch = 0
        self._order = self._shuffled(0)

    def __len__(self) -> int:
        return int(np.ceil(len(self.x) / self.batch_size))

    def _shuffled(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch, 0]).permutation(len(self.x))

    def next_epoch(self) -> None:
        self.epoch += 1
        self._order = self._shuffled(self.epoch)

    def batch(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch `index` of the current epoch, the same for the same (seed, epoch, index)."""
        chosen = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, self.epoch, index + 1])
        x = self.x[chosen]
        if self.settings.masks:
            x = mask_features(x, self.settings, rng)
        if not self.settings.soft_labels:
            return x, self.y[chosen]
        y = one_hot(self.y[chosen], self.classes)
        if self.settings.mixup_alpha > 0:
            x, y = mixup(x, y, self.settings.mixup_alpha, rng)
        return x, y


def training_batches(plan: BatchPlan):
    """`plan` as a keras.utils.PyDataset for fit (one worker, batches in order, no shuffle by
    Keras). Each request for batch 0 after the first starts the plan's next epoch: the batches
    follow from the order of the requests alone, not from when Keras' on_epoch_end runs (tf.data
    may start reading the next epoch before it does). Keras reads two batches of epoch 0 for their
    shapes before fitting, so fit's epochs are the plan's epochs 1, 2, ..."""
    import keras

    class TrainingBatches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__(workers=1, use_multiprocessing=False)
            self.started = False

        def __len__(self) -> int:
            return len(plan)

        def __getitem__(self, index: int):
            if index == 0 and self.started:
                plan.next_epoch()
            self.started = True
            return plan.batch(index)

    return TrainingBatches()
