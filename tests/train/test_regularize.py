"""[training] masks, mixup and label smoothing (kit.train.regularize): what a batch looks like,
that the batches are a function of the seed, and that Keras' fit is fed them epoch by epoch."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from kit.train.regularize import BatchPlan, Regularization, mask_features, mixup, one_hot, training_batches

MASKS = Regularization(time_masks=2, time_mask_frames=8, coefficient_masks=1, coefficient_mask_width=3)


def features(count: int = 16, seed: int = 0) -> np.ndarray:
    """MFCC-like batches (N, 49 frames, 10 coefficients, 1) with no two values alike."""
    return np.random.default_rng(seed).normal(0.0, 5.0, (count, 49, 10, 1)).astype(np.float32)


def masked_positions(x: np.ndarray, masked: np.ndarray) -> np.ndarray:
    return ~np.isclose(x, masked)


def test_masks_hide_whole_frames_and_coefficients_with_the_samples_own_mean():
    x = features()
    masked = mask_features(x, MASKS, np.random.default_rng(1))
    assert masked.shape == x.shape and masked.dtype == np.float32
    changed = masked_positions(x, masked)[..., 0]
    assert changed.any() and not changed.all()
    fill = x.mean(axis=1)[..., 0]  # (N, coefficients)
    for sample in range(len(x)):
        rows = np.flatnonzero(changed[sample].all(axis=1))  # frames masked across every coefficient
        cols = np.flatnonzero(changed[sample].all(axis=0))  # coefficients masked in every frame
        assert len(rows) <= 2 * 8 and len(cols) <= 3
        hidden = changed[sample]
        # every changed value sits in a masked frame or coefficient and is that sample's mean
        in_masks = np.zeros_like(hidden)
        in_masks[rows] = True
        in_masks[:, cols] = True
        assert not (hidden & ~in_masks).any()
        np.testing.assert_allclose(masked[sample, hidden, 0], np.broadcast_to(fill[sample], hidden.shape)[hidden], rtol=1e-6)
    assert np.array_equal(masked, mask_features(x, MASKS, np.random.default_rng(1)))  # seeded
    assert not np.array_equal(masked, mask_features(x, MASKS, np.random.default_rng(2)))
    assert np.array_equal(x, features())  # the input is left alone


def test_mixup_blends_pairs_and_keeps_each_samples_own_label_on_top():
    x, labels = features(32), np.arange(32) % 4
    y = one_hot(labels, 4)
    mixed_x, mixed_y = mixup(x, y, 0.4, np.random.default_rng(0))
    np.testing.assert_allclose(mixed_y.sum(axis=1), 1.0, rtol=1e-6)
    assert (mixed_y.max(axis=1) >= 0.5).all() and (mixed_y[np.arange(32), labels] >= 0.5).all()
    assert not np.allclose(mixed_x, x)


def test_every_sample_once_per_epoch_in_a_new_order_and_the_same_for_the_same_seed():
    x, y = features(100), np.arange(100) % 5
    x[:, 0, 0, 0] = np.arange(100)  # the sample's index, unmasked (masks need settings)
    plan = BatchPlan(x, y, 32, 5, Regularization(), seed=7)
    assert len(plan) == 4

    def epoch_order() -> list[int]:
        return [int(v) for index in range(len(plan)) for v in plan.batch(index)[0][:, 0, 0, 0]]

    first = epoch_order()
    assert sorted(first) == list(range(100))
    assert epoch_order() == first  # a batch is a function of (seed, epoch, index)
    plan.next_epoch()
    second = epoch_order()
    assert sorted(second) == list(range(100)) and second != first
    again = BatchPlan(x, y, 32, 5, Regularization(), seed=7)
    again.next_epoch()
    assert epoch_order() == [int(v) for i in range(4) for v in again.batch(i)[0][:, 0, 0, 0]]
    labels = plan.batch(0)[1]
    assert labels.dtype.kind == "i"  # without mixup or smoothing the targets stay class numbers
    soft = BatchPlan(x, y, 32, 5, Regularization(label_smoothing=0.1), seed=7).batch(0)[1]
    assert soft.shape == (32, 5) and (soft.sum(axis=1) == 1).all()


def test_off_unless_a_key_asks():
    assert not Regularization.from_training({"epochs": 6, "batch_size": 64}).active
    settings = Regularization.from_training({"time_masks": 2, "time_mask_frames": 6})
    assert settings.masks and settings.changes_batches and not settings.soft_labels
    smoothing = Regularization.from_training({"label_smoothing": 0.1})
    assert smoothing.active and smoothing.soft_labels and not smoothing.changes_batches
    averaging = Regularization.from_training({"ema_momentum": 0.99})
    assert averaging.active and not averaging.soft_labels and not averaging.changes_batches


def test_fit_sees_the_plans_batches_epoch_by_epoch():
    """Keras fit on the PyDataset asks for every batch of an epoch in order: the plan's epoch
    (which seeds the shuffle and the masks) is a new one for each epoch of fit, after the two
    batches Keras reads for their shapes."""
    import keras

    from kit.train.pipeline import configure_determinism

    configure_determinism(0)
    x, y = features(96), np.arange(96) % 3
    plan = BatchPlan(x, y, 32, 3, MASKS, seed=3)
    seen: list[tuple[int, int]] = []
    batch = plan.batch
    plan.batch = lambda index: (seen.append((plan.epoch, index)), batch(index))[1]  # type: ignore[method-assign]
    model = keras.Sequential([keras.Input((49, 10, 1)), keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(training_batches(plan), epochs=3, shuffle=False, verbose=0)
    assert plan.epoch == 3
    assert seen == [(0, 0), (0, 1)] + [(epoch, index) for epoch in (1, 2, 3) for index in range(3)]


@pytest.mark.slow
def test_a_regularized_lab_trains_the_same_weights_twice_and_the_same_graph(tmp_path):
    """kws with masks, mixup and smoothing: same seed, same .tflite bytes; the ops and tensor
    shapes are those of the lab without them (nothing is added to the model)."""
    from kit.train.card import sha256_of
    from kit.train.lab import load_lab
    from kit.train.pipeline import train_on_dataset

    from train_helpers import synthetic_dataset

    lab = load_lab("kws")
    dataset = synthetic_dataset(lab, 256, 0)
    plain = replace(lab, training={**lab.training, "epochs": 2})
    regularized = replace(plain, training={**plain.training, "time_masks": 2, "time_mask_frames": 6,
                                           "coefficient_masks": 1, "coefficient_mask_width": 2,
                                           "mixup_alpha": 0.2, "label_smoothing": 0.1})
    cards = [train_on_dataset(chosen, dataset, 0, tmp_path / name, "test", progress=False).card
             for name, chosen in (("a", regularized), ("b", regularized), ("plain", plain))]
    assert cards[0]["sha256"] == cards[1]["sha256"] == sha256_of(tmp_path / "a" / "model.tflite")
    assert cards[0]["sha256"] != cards[2]["sha256"]
    assert [layer["op"] for layer in cards[0]["layers"]] == [layer["op"] for layer in cards[2]["layers"]]
    assert cards[0]["params"] == cards[2]["params"] and cards[0]["input"]["shape"] == cards[2]["input"]["shape"]
