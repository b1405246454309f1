"""The vision and IMU generators: shapes, balance, anomaly split rules, determinism, physics."""

from __future__ import annotations

import numpy as np
import pytest

from kit.data import load_dataset
from kit.data.motion import motion_window
from kit.data.scenes import render_scene
from kit.data.spec import lab_spec
from kit.data.vibration import motor_window
from kit.errors import DataError
from kit.features import vibration_spectrum


@pytest.mark.parametrize("fixture, lab", [("fruit_tiny", "image-classification"), ("vww_tiny", "visual-wake-words"),
                                          ("motion_tiny", "motion")])
def test_classification_sets_have_every_class_in_every_split(request, fixture, lab):
    dataset = request.getfixturevalue(fixture)
    spec = lab_spec(lab)
    assert dataset.labels == spec.labels
    for name in ("train", "val", "test"):
        x, y = dataset.split(name)
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.shape[1:] == spec.sample_shape
        assert np.isfinite(x).all()
        counts = np.bincount(y, minlength=len(spec.labels))
        assert counts.min() > 0 and counts.max() - counts.min() <= 1, (name, counts)


def test_images_are_unit_scaled_and_varied(fruit_tiny):
    x = fruit_tiny.x_train
    assert 0.0 <= x.min() and x.max() <= 1.0
    flat = x.reshape(x.shape[0], -1)
    assert len({row.tobytes() for row in flat}) == x.shape[0]        # no two frames alike
    assert x.std(axis=(1, 2, 3)).min() > 0.01                          # no blank frames


def test_scene_renderer_is_deterministic_per_rng():
    first, kind = render_scene("person", np.random.default_rng(5))
    again, kind_again = render_scene("person", np.random.default_rng(5))
    assert first.shape == (96, 96, 3) and first.dtype == np.uint8
    assert np.array_equal(first, again) and kind == kind_again


def test_unknown_scene_class_is_refused():
    spec = lab_spec("image-classification")
    odd = type(spec)(name="odd", labels=["background", "cat"], dataset=spec.dataset, features=spec.features,
                     input_shape=spec.input_shape)
    with pytest.raises(DataError, match="cat"):
        load_dataset(odd, size="tiny", use_cache=False)


def test_idle_board_measures_one_g_and_ship_tilts_gravity():
    rng = np.random.default_rng(3)
    idle = motion_window("idle", rng, 100, 50.0)
    assert idle.shape == (100, 3)
    assert abs(np.linalg.norm(idle.mean(axis=0)) - 1.0) < 0.06       # gravity, whatever the orientation
    assert idle.std(axis=0).max() < 0.03
    ship = motion_window("maritime", np.random.default_rng(4), 1000, 50.0)  # 20 s: a whole swell period
    magnitude = np.linalg.norm(ship, axis=1)
    assert abs(magnitude.mean() - 1.0) < 0.06
    road = motion_window("terrestrial", np.random.default_rng(5), 100, 50.0)
    assert road.std(axis=0).max() > idle.std(axis=0).max() * 3


def test_anomaly_training_data_is_only_normal(anomaly_tiny):
    assert (anomaly_tiny.y_train == 0).all() and (anomaly_tiny.y_val == 0).all()
    assert set(np.unique(anomaly_tiny.y_test)) == {0, 1}
    assert anomaly_tiny.x_train.shape[1:] == (96,)
    faults = set(anomaly_tiny.test_groups[anomaly_tiny.y_test == 1].tolist())
    assert faults == {"imbalance", "misalignment", "bearing", "looseness"}
    assert set(anomaly_tiny.test_groups[anomaly_tiny.y_test == 0].tolist()) == {"normal"}


def test_faults_change_the_spectrum_where_expected():
    def spectrum(fault):
        windows = [motor_window(np.random.default_rng([9, i]), 256, 1000.0, fault) for i in range(40)]
        return vibration_spectrum(np.stack(windows)).reshape(40, 3, 32).mean(axis=(0, 1))
    normal, imbalance, bearing = spectrum(None), spectrum("imbalance"), spectrum("bearing")
    assert imbalance[1] > normal[1] + 1.0        # 1x (23-31 Hz) lives in band 2
    assert bearing[20:30].mean() > normal[20:30].mean() + 1.0   # impacts ring at 320-450 Hz


def test_generators_are_deterministic(motion_tiny, anomaly_tiny):
    for lab, first in (("motion", motion_tiny), ("anomaly", anomaly_tiny)):
        again = load_dataset(lab, seed=0, size="tiny", use_cache=False)
        assert np.array_equal(first.x_train, again.x_train) and np.array_equal(first.y_test, again.y_test)
        other = load_dataset(lab, seed=7, size="tiny", use_cache=False)
        assert not np.array_equal(first.x_train, other.x_train)


def test_bad_size_is_a_clear_error():
    with pytest.raises(DataError, match="size"):
        load_dataset("motion", size="huge")
    with pytest.raises(DataError):
        load_dataset("motion", size=1.5)


def test_image_cache_round_trips_exactly(fruit_tiny):
    cached = load_dataset("image-classification", seed=0, size="tiny")
    assert cached.metadata["cache"] == fruit_tiny.metadata["cache"]
    fresh = load_dataset("image-classification", seed=0, size="tiny", use_cache=False)
    assert np.array_equal(cached.x_train, fresh.x_train) and cached.x_train.dtype == np.float32


def test_progress_reports_absolute_counts_up_to_the_total():
    calls = []
    load_dataset("motion", seed=2, size="tiny", use_cache=False, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1]
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


@pytest.mark.parametrize("lab", ["image-classification", "object-detection", "kws", "motion", "anomaly"])
def test_one_split_alone_is_sample_for_sample_the_whole_sets_split(lab):
    """Validation and the reference-model check generate only the test split: it must be the
    very samples (and order) the whole dataset's test split holds, or the card's figure moves."""
    from kit.data import load_raw

    whole = load_raw(lab, seed=3, size=0.02)
    alone = load_raw(lab, seed=3, size=0.02, splits=("test",))
    x, y, group = whole.part("test")
    assert len(alone.x) == len(x) > 0
    assert set(alone.split.tolist()) == {"test"}
    np.testing.assert_array_equal(alone.x, x)
    np.testing.assert_array_equal(alone.y, y)
    assert alone.group.tolist() == group.tolist()


def test_an_unknown_split_is_refused():
    from kit.data import load_raw

    with pytest.raises(DataError, match="unknown split"):
        load_raw("motion", splits=("testing",))
