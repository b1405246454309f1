"""kit.data.augment: augmented copies are new versions of the training examples only, of the
same shape and kind, different from the original, and the same for the same seed."""

from __future__ import annotations

import numpy as np
import pytest

from kit.data.audio import rms
from kit.data.augment import augment_training
from kit.data.raw import RawData


def raw_of(x: np.ndarray) -> RawData:
    y = np.arange(len(x)) % 2
    split = np.asarray(["train", "train", "train", "val", "test", "train"][:len(x)], dtype=str)
    return RawData(x=x, y=y, split=split, group=np.asarray([f"f{i}" for i in range(len(x))], dtype=str))


@pytest.mark.parametrize("kind", ["audio", "imu", "image"])
def test_only_training_examples_are_copied_and_changed(kind):
    rng = np.random.default_rng(0)
    x = {"audio": lambda: (0.1 * np.sin(np.arange(16000) / 7) * np.hanning(16000))[None].repeat(6, 0),
         "imu": lambda: rng.normal(0, 0.2, (6, 100, 3)) + [0, 0, 1],
         "image": lambda: rng.integers(0, 255, (6, 24, 32, 3))}[kind]().astype(np.uint8 if kind == "image" else np.float32)
    raw = raw_of(x)
    out = augment_training(raw, kind, 16000, seed=1, copies=3)
    train = np.flatnonzero(raw.split == "train")
    assert out.x.shape == (6 + 3 * train.size, *x.shape[1:]) and out.x.dtype == x.dtype
    assert (out.split[6:] == "train").all() and np.array_equal(out.y[6:], np.tile(raw.y[train], 3))
    assert np.array_equal(out.group[6:], np.tile(raw.group[train], 3))  # copies keep their source file
    assert np.array_equal(out.x[:6], x) and out.info["augmented_copies"] == 3
    assert all(not np.array_equal(copy, x[index]) for copy, index in zip(out.x[6:], np.tile(train, 3)))
    again = augment_training(raw, kind, 16000, seed=1, copies=3)
    assert np.array_equal(again.x, out.x)


def test_audio_copies_keep_speech_above_the_added_noise():
    clip = (0.1 * np.sin(np.arange(16000) / 7) * np.hanning(16000)).astype(np.float32)
    out = augment_training(raw_of(clip[None].repeat(6, 0)), "audio", 16000, seed=2, copies=4)
    levels = [20 * np.log10(rms(copy) / rms(clip)) for copy in out.x[6:]]
    assert all(-7.0 < level < 7.0 for level in levels)  # gain +-6 dB, noise 8 dB or more below


def test_no_copies_leaves_the_data_alone():
    raw = raw_of(np.zeros((6, 10, 3), np.float32))
    assert augment_training(raw, "imu", 50, seed=0, copies=0) is raw
