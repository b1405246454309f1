"""FOMO detection on the host: decode a model's per-cell class scores into objects and score them.

A grid (rows, cols, classes) of softmax scores becomes objects: the cells whose best class is an
object class (index >= 1) with a score above the threshold, joined with their 8 neighbours of
the same class (a diagonal neighbour joins too); each blob is one object at the mean of its cell
centres, scored by its best cell.
Detections are matched to true centroids of the same class within a distance, greedily nearest
first; precision, recall and F1 follow, per class and over all classes, as the book's FOMO labs
report them. firmware/detect/kit_detect.c implements the same decoder for the boards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kit.train.evaluate import Evaluation, confusion_matrix


NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]  # 8-connected


@dataclass(frozen=True)
class Detection:
    """One object: centroid (row, col) in grid cells (cell centres at .5), class index, score."""

    row: float
    col: float
    label: int
    score: float


def decode_grid(scores: np.ndarray, threshold: float = 0.5) -> list[Detection]:
    """Objects in one (rows, cols, classes) score grid, in row-major order of their first cell."""
    scores = np.asarray(scores, dtype=np.float64)
    best = scores.argmax(axis=-1)
    best_score = scores.max(axis=-1)
    active = (best >= 1) & (best_score > threshold)
    seen = np.zeros(best.shape, dtype=bool)
    rows, cols = best.shape
    found: list[Detection] = []
    for r in range(rows):
        for c in range(cols):
            if not active[r, c] or seen[r, c]:
                continue
            label, stack, cells = int(best[r, c]), [(r, c)], []
            seen[r, c] = True
            while stack:
                y, x = stack.pop()
                cells.append((y, x))
                for ny, nx in ((y + dy, x + dx) for dy, dx in NEIGHBOURS):
                    if 0 <= ny < rows and 0 <= nx < cols and not seen[ny, nx] and active[ny, nx] and best[ny, nx] == label:
                        seen[ny, nx] = True
                        stack.append((ny, nx))
            ys, xs = np.asarray(cells, dtype=np.float64).T
            found.append(Detection(float(ys.mean() + 0.5), float(xs.mean() + 0.5), label,
                                   float(max(best_score[y, x] for y, x in cells))))
    return found


def truth_objects(grid: np.ndarray) -> list[Detection]:
    """The true objects of a FOMO target grid: every non-background cell, at its centre."""
    rows, cols = np.nonzero(np.asarray(grid))
    return [Detection(float(r + 0.5), float(c + 0.5), int(grid[r, c]), 1.0) for r, c in zip(rows, cols)]


def match_counts(found: list[Detection], truth: list[Detection], classes: int,
                 distance: float) -> np.ndarray:
    """(classes, 3) counts of true positives, false positives, false negatives for one image."""
    counts = np.zeros((classes, 3), dtype=np.int64)
    for label in range(1, classes):
        preds = [d for d in found if d.label == label]
        trues = [t for t in truth if t.label == label]
        pairs = sorted((np.hypot(p.row - t.row, p.col - t.col), i, j)
                       for i, p in enumerate(preds) for j, t in enumerate(trues))
        used_p, used_t = set(), set()
        for dist, i, j in pairs:
            if dist <= distance and i not in used_p and j not in used_t:
                used_p.add(i)
                used_t.add(j)
        counts[label] = (len(used_p), len(preds) - len(used_p), len(trues) - len(used_t))
    return counts


def precision_recall_f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Vacuous cases count as perfect: nothing claimed -> precision 1, nothing to find -> recall 1."""
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(precision), float(recall), float(f1)


def detection_evaluation(scores: np.ndarray, grids: np.ndarray, labels: list[str], threshold: float = 0.5,
                         distance: float = 1.5) -> Evaluation:
    """Centroid F1 over a batch: `accuracy` is the overall F1, `per_class_accuracy` each class's F1,
    `extra` holds precision / recall / f1 (overall and per class); the confusion matrix is per cell."""
    scores, grids = np.asarray(scores), np.asarray(grids)
    classes = len(labels)
    scores = scores.reshape(*grids.shape, classes)
    counts = np.zeros((classes, 3), dtype=np.int64)
    for grid_scores, grid in zip(scores, grids):
        counts += match_counts(decode_grid(grid_scores, threshold), truth_objects(grid), classes, distance)
    tp, fp, fn = (int(v) for v in counts[1:].sum(axis=0))
    precision, recall, f1 = precision_recall_f1(tp, fp, fn)
    extra = {"precision": precision, "recall": recall, "f1": f1}
    per_class: dict[str, float] = {}
    for index, label in enumerate(labels[1:], start=1):
        p, r, f = precision_recall_f1(*(int(v) for v in counts[index]))
        per_class[label] = f
        extra.update({f"precision_{label}": p, f"recall_{label}": r, f"f1_{label}": f})
    cells = confusion_matrix(grids.reshape(-1), scores.argmax(axis=-1).reshape(-1), classes)
    return Evaluation(f1, cells.tolist(), per_class, extra)
