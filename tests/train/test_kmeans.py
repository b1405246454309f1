"""The motion lab's K-means anomaly detector (kit.train.kmeans) and the unseen motions it is
tested on (kit.train.unseen_motion): hand-checkable cases, the card round trip, the header a
flash writes, and the committed reference card's figures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kit.catalog import get_lab
from kit.errors import ModelError
from kit.paths import MODELS_DIR
from kit.train.kmeans import (KMeans, balanced_accuracy, fit_kmeans, kmeans_scores, newton_sqrt,
                              with_threshold)
from kit.train.unseen_motion import UNSEEN_MOTIONS, unseen_windows


def test_newton_sqrt_is_a_square_root_and_zero_for_non_positive():
    x = np.array([0.0, -1.0, 1e-8, 0.25, 2.0, 9.0, 1234.5, 3e7], np.float32)
    root = newton_sqrt(x)
    assert root.dtype == np.float32 and root[0] == 0 and root[1] == 0
    assert np.allclose(root[2:], np.sqrt(x[2:].astype(np.float64)), rtol=2e-7, atol=0)


def test_score_is_the_distance_to_the_nearest_centroid_in_standard_deviations():
    model = KMeans(mean=np.array([1.0, 0.0], np.float32), inv_std=np.array([0.5, 1.0], np.float32),
                   centroids=np.array([[0.0, 0.0], [2.0, 2.0]], np.float32), threshold=1.0)
    # x = (7, 1) -> z = (3, 1): distance to (0, 0) is sqrt(10), to (2, 2) is sqrt(2)
    # x = (1, 0) -> z = (0, 0): on the first centroid
    scores = kmeans_scores(model, np.array([[7.0, 1.0], [1.0, 0.0]], np.float32))
    assert scores == pytest.approx([np.sqrt(2.0), 0.0], abs=1e-6)


def test_fit_finds_two_blobs_and_the_threshold_flags_a_far_point():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-5, 0.3, (200, 3)), rng.normal(5, 0.3, (200, 3))]).astype(np.float32)
    model = with_threshold(fit_kmeans(x, 2, seed=0), x[::7], 99.0)
    centres = sorted(model.centroids[:, 0] / model.inv_std[0] + model.mean[0])
    assert centres == pytest.approx([-5, 5], abs=0.15)
    far, near = kmeans_scores(model, np.array([[0, 0, 0], [5, 5, 5]], np.float32))
    assert far > model.threshold >= near
    assert fit_kmeans(x, 2, seed=0).centroids.tobytes() == fit_kmeans(x, 2, seed=0).centroids.tobytes()


def test_balanced_accuracy_by_hand():
    figures = balanced_accuracy(np.array([0.1, 0.2, 0.9, 0.3]), np.array([0.8, 0.4]), 0.5)
    # known: 3 of 4 kept (0.9 is a false alarm); unseen: 1 of 2 flagged
    assert figures["known_recall"] == 0.75 and figures["unseen_recall"] == 0.5
    assert figures["balanced_accuracy"] == pytest.approx(0.625)
    assert figures["auc"] == pytest.approx(6 / 8)


def test_card_round_trip_and_bad_blocks_are_clear_errors():
    model = KMeans(np.zeros(3, np.float32), np.ones(3, np.float32), np.eye(3, dtype=np.float32), 1.5)
    again = KMeans.from_card(json.loads(json.dumps(model.to_card())))
    assert again.centroids.tobytes() == model.centroids.tobytes() and again.threshold == 1.5
    broken = model.to_card()
    broken["centroids"] = [[0.0, 1.0]]
    with pytest.raises(ModelError, match="inconsistent"):
        KMeans.from_card(broken)
    with pytest.raises(ModelError, match="incomplete"):
        KMeans.from_card({"mean": [0.0]})


def test_unseen_motions_are_deterministic_windows_of_the_labs_shape():
    dataset = get_lab("motion").dataset.model_dump()
    windows, kinds, names = unseen_windows(dataset, seed=0, per_kind=3)
    assert windows.shape == (3 * len(UNSEEN_MOTIONS), 100, 3) and windows.dtype == np.float32
    assert names == list(UNSEEN_MOTIONS) and np.bincount(kinds).tolist() == [3] * len(names)
    assert np.array_equal(unseen_windows(dataset, 0, 3)[0], windows)
    assert not np.array_equal(unseen_windows(dataset, 1, 3)[0], windows)
    drop = windows[kinds == names.index("drop")]
    assert np.linalg.norm(drop, axis=2).min(axis=1).max() < 0.3  # free fall: the sensor reads ~0 g


def test_the_motion_reference_card_carries_the_detector_and_meets_its_target():
    card = json.loads((MODELS_DIR / "motion" / "card.json").read_text())
    block, settings = card["anomaly"], get_lab("motion").anomaly
    model = KMeans.from_card(block)
    assert model.centroids.shape == (settings.clusters, 57) and block["threshold_percentile"] == settings.threshold_percentile
    assert block["unseen"]["kinds"] == list(UNSEEN_MOTIONS)
    assert block["targets"] == {"min_balanced_accuracy": settings.min_balanced_accuracy, "met": True}
    assert block["unseen"]["balanced_accuracy"] >= settings.min_balanced_accuracy
    assert "anomaly on unseen motions" in (MODELS_DIR / "motion" / "card.md").read_text()


def test_the_motion_header_carries_the_cards_detector_as_exact_floats():
    from kit.build.lab import lab_header

    card = json.loads((MODELS_DIR / "motion" / "card.json").read_text())
    header = lab_header(card, get_lab("motion"))
    model = KMeans.from_card(card["anomaly"])
    assert "#define KIT_LAB_KMEANS 1" in header and f"#define KIT_LAB_KMEANS_CLUSTERS {len(model.centroids)}u" in header
    body = header.split("kit_lab_kmeans_centroids[", 1)[1].split("};", 1)[0].split("{", 1)[1]
    values = np.array([float.fromhex(v.strip().rstrip("f")) for v in body.replace("\n", "").split(",") if v.strip()],
                      np.float32)
    assert values.tobytes() == model.centroids.reshape(-1).tobytes()
    without = {key: value for key, value in card.items() if key != "anomaly"}
    assert "#define KIT_LAB_KMEANS 0" in lab_header(without, get_lab("motion"))
    assert "#define KIT_LAB_KMEANS 0" in lab_header(json.loads((MODELS_DIR / "kws" / "card.json").read_text()),
                                                   get_lab("kws"))


def test_a_kit_run_record_carries_the_boards_kmeans_score_and_verdict():
    from kit.device.live import parse_live

    base = "m-kit-live-[n=3,label=1,feature_ticks=10,infer_ticks=20,dropped=0,end=100,out=80ff0000,scores=0.000;1.000;0.000;0.000"
    record = parse_live(base + ",anomaly=7.125,anomalous=1]", 4)
    assert record.label == 1 and record.kmeans_score == 7.125 and record.anomalous is True
    plain = parse_live(base + "]", 4)
    assert plain.kmeans_score is None and plain.anomalous is None
    assert parse_live(base + ",anomaly=7.125,anomalous=2]", 4) is None  # not a kit-run record


def test_kit_train_warns_when_the_detector_misses_its_target(capsys):
    from kit.cli.train import warn_unmet_targets

    card = json.loads((MODELS_DIR / "motion" / "card.json").read_text())
    warn_unmet_targets(card)
    assert capsys.readouterr().err == ""
    missed = {**card["anomaly"], "targets": {"min_balanced_accuracy": 0.99, "met": False}}
    warn_unmet_targets({**card, "anomaly": missed})
    assert "K-means anomaly detector misses the lab's target" in " ".join(capsys.readouterr().err.split())


def test_the_motion_cards_detector_is_what_todays_code_fits():
    """K-means is numpy float64 Lloyd from a seeded start on today's features: refitting gives the
    committed card's block (centroids to float32 rounding, the same threshold and figures)."""
    from kit.data import load_dataset
    from kit.train.lab import load_lab
    from kit.train.pipeline import kmeans_block

    lab = load_lab("motion")
    block = kmeans_block(lab, load_dataset(lab.catalog_lab, seed=0), seed=0)
    card = json.loads((MODELS_DIR / "motion" / "card.json").read_text())["anomaly"]
    assert np.allclose(block["centroids"], card["centroids"], atol=1e-5, rtol=0)
    assert block["threshold"] == pytest.approx(card["threshold"], abs=1e-5)
    assert block["unseen"]["balanced_accuracy"] == pytest.approx(card["unseen"]["balanced_accuracy"], abs=0.01)
