"""The FOMO grid decoder and the centroid precision / recall / F1 against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from kit.data.detection import Box, boxes_to_grid
from kit.train.detection import decode_grid, detection_evaluation, match_counts, precision_recall_f1, truth_objects


def scores_from(cells: dict[tuple[int, int], tuple[int, float]], shape=(12, 12), classes=3) -> np.ndarray:
    """A score grid that is background everywhere except the given cells: (row, col) -> (class, score)."""
    grid = np.zeros((*shape, classes), np.float32)
    grid[..., 0] = 1.0
    for (r, c), (label, score) in cells.items():
        grid[r, c] = (1 - score) / (classes - 1)
        grid[r, c, label] = score
    return grid


def test_decoder_joins_neighbour_cells_of_one_class_into_one_centroid():
    scores = scores_from({(2, 3): (1, 0.9), (2, 4): (1, 0.7), (3, 3): (1, 0.8), (3, 4): (1, 0.6),
                          (8, 8): (2, 0.95)})
    found = decode_grid(scores, 0.5)
    assert [(d.label, d.row, d.col, round(d.score, 2)) for d in found] == [(1, 3.0, 4.0, 0.9), (2, 8.5, 8.5, 0.95)]


def test_decoder_keeps_classes_apart_drops_weak_cells_and_joins_diagonals():
    scores = scores_from({(0, 0): (1, 0.9), (0, 1): (2, 0.9), (5, 5): (1, 0.4), (7, 7): (1, 0.9), (8, 8): (1, 0.6),
                          (10, 1): (2, 0.9), (10, 3): (2, 0.9)})
    found = decode_grid(scores, 0.5)
    assert [(d.label, d.row, d.col, d.score) for d in found] == [
        (1, 0.5, 0.5, pytest.approx(0.9)), (2, 0.5, 1.5, pytest.approx(0.9)), (1, 8.0, 8.0, pytest.approx(0.9)),
        (2, 10.5, 1.5, pytest.approx(0.9)), (2, 10.5, 3.5, pytest.approx(0.9))]


def test_match_counts_within_distance_only_and_one_to_one():
    truth = truth_objects(np.array([[1, 0, 0, 0], [0, 0, 0, 2], [0, 0, 0, 0], [1, 0, 0, 0]]))
    found = decode_grid(scores_from({(0, 1): (1, 0.9), (1, 3): (1, 0.9), (2, 3): (2, 0.9)}, shape=(4, 4)), 0.5)
    # apple: (0.5,1.5) matches (0.5,0.5) at 1 cell; (1.5,3.5) is an apple where a banana is: FP; (3.5,0.5) missed
    # banana: (2.5,3.5) is 1 cell from the true banana at (1.5,3.5): TP
    counts = match_counts(found, truth, 3, 1.5)
    assert counts[1].tolist() == [1, 1, 1] and counts[2].tolist() == [1, 0, 0]
    assert match_counts(found, truth, 3, 0.5)[2].tolist() == [0, 1, 1]
    twice = decode_grid(scores_from({(0, 1): (1, 0.9), (2, 0): (1, 0.9)}, shape=(4, 4)), 0.5)
    assert len(twice) == 2  # both within 2.5 cells of the one true apple: one matches, one is a FP
    assert match_counts(twice, truth_objects(np.array([[1, 0, 0, 0]] + [[0] * 4] * 3)), 3, 2.5)[1].tolist() == [1, 1, 0]


def test_precision_recall_f1_hand_values():
    assert precision_recall_f1(3, 1, 2) == pytest.approx((0.75, 0.6, 2 * 0.75 * 0.6 / 1.35))
    assert precision_recall_f1(0, 0, 0) == (1.0, 1.0, 1.0)
    assert precision_recall_f1(0, 2, 0) == (0.0, 1.0, 0.0)
    assert precision_recall_f1(0, 0, 3) == (1.0, 0.0, 0.0)


def test_evaluation_over_a_batch_overall_and_per_class():
    grids = np.zeros((2, 12, 12), np.int64)
    grids[0, 1, 1], grids[0, 6, 6], grids[1, 10, 2] = 1, 2, 2
    outputs = np.stack([scores_from({(1, 2): (1, 0.8), (6, 6): (2, 0.9), (0, 11): (2, 0.7)}),
                        scores_from({})])
    evaluation = detection_evaluation(outputs.reshape(2, -1), grids, ["background", "apple", "banana"], 0.5, 1.5)
    # apple 1 TP; banana 1 TP, 1 FP, 1 FN -> overall TP 2, FP 1, FN 1
    assert evaluation.extra["precision"] == pytest.approx(2 / 3) and evaluation.extra["recall"] == pytest.approx(2 / 3)
    assert evaluation.accuracy == pytest.approx(2 / 3)
    assert evaluation.per_class_accuracy == {"apple": 1.0, "banana": pytest.approx(0.5)}
    assert np.asarray(evaluation.confusion_matrix).sum() == 2 * 144


def test_boxes_to_grid_puts_each_centre_in_its_cell():
    grid = boxes_to_grid([Box(1, 0, 0, 10, 10), Box(2, 80, 40, 96, 60), Box(1, 90, 90, 96, 96)], (96, 96))
    assert grid.shape == (12, 12)
    assert {(int(r), int(c), int(grid[r, c])) for r, c in zip(*np.nonzero(grid))} == {(0, 0, 1), (6, 11, 2), (11, 11, 1)}
