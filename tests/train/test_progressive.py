"""Progressive resizing (kit.train.progressive): stages from [training], area downscaling, and
the MobileNetV2 weights learnt at one size carried to another."""

from __future__ import annotations

import numpy as np
import pytest

from kit.train.models import build_model
from kit.train.progressive import Stage, fit_progressive, resize_frames, stages, transfer_weights


def test_stages_follow_the_lab_training_table():
    training = {"progressive_sizes": [64, 96], "progressive_epochs": [5, 3], "epochs": 2,
                "learning_rate": 0.004, "fine_tune_learning_rate": 0.001}
    assert stages(training) == [Stage(64, 5, 0.004), Stage(96, 3, 0.001), Stage(None, 2, 0.001)]
    # every other lab: one stage at its learning rate, whatever fine_tune_learning_rate says
    assert stages({"epochs": 7, "learning_rate": 0.01, "fine_tune_learning_rate": 0.1}) == [Stage(None, 7, 0.01)]


def test_resize_averages_areas_of_each_frame():
    frames = np.zeros((3, 4, 4, 3), np.float32)
    frames[1, :2, :2, 0] = 1.0  # the top-left quarter of frame 1's red channel
    small = resize_frames(frames, 2)
    assert small.shape == (3, 2, 2, 3) and small.dtype == np.float32
    assert small[1, 0, 0, 0] == pytest.approx(1.0) and small[1, 1, 1, 0] == 0.0 and small[0].max() == 0.0
    assert resize_frames(frames[:0], 2).shape == (0, 2, 2, 3)


def test_mobilenet_v2_weights_carry_across_input_sizes():
    model = {"alpha": 0.35}
    small = build_model("mobilenet_v2", (32, 32, 3), 4, model, {})
    large = build_model("mobilenet_v2", (64, 64, 3), 4, model, {})
    assert small.count_params() == large.count_params()
    transfer_weights(small, large)
    for a, b in zip(small.weights, large.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert large.output_shape == (None, 4)


def test_fit_progressive_builds_each_size_and_ends_at_the_lab_size():
    seen: list[tuple] = []

    def build(shape):
        return build_model("mobilenet_v2", shape, 2, {"alpha": 0.35, "last_filters": 16}, {})

    def fit_stage(model, stage, x_fit, x_check):
        seen.append((stage.size, model.input_shape[1:], x_fit.shape[1:], x_check.shape[1:]))

    x = np.random.default_rng(0).random((4, 48, 48, 3), dtype=np.float32)
    final = fit_progressive(build, fit_stage, (48, 48, 3), x, x[:2], [Stage(32, 1, 0.01), Stage(None, 1, 0.01)])
    assert seen == [(32, (32, 32, 3), (32, 32, 3), (32, 32, 3)), (None, (48, 48, 3), (48, 48, 3), (48, 48, 3))]
    assert final.input_shape[1:] == (48, 48, 3)
