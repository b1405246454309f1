"""K-means anomaly detection beside a classifier, as the book's motion lab does it (Edge Impulse's
"anomaly detection (K-means)" block): cluster the training windows' features, then score a
window by its distance to the nearest centroid; far from every cluster = a motion the
classifier never learned.

Scale: each feature is standardised by the training windows' mean and standard deviation
(z = (x - mean) * inv_std) before clustering, so no feature dominates by its units; the score
is the Euclidean distance in those standard deviations, with no per-cluster radius subtracted.

The board computes the same score in C (firmware/harness/kit_sensing.c, `kmeans_score`) in float32
with the same order of operations as `kmeans_scores` here: for each centroid in order, for each
feature in order, acc = acc + d * d; keep the smallest (strictly smaller wins); then the square
root by the same five Newton steps (`newton_sqrt`; kit links no libm). Builds use
-ffp-contract=off, so no fused multiply-add changes a rounding: host and board agree to the bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kit.errors import DataError, ModelError

ITERATIONS = 100
MIN_STD = 1e-6


@dataclass(frozen=True)
class KMeans:
    """A fitted detector: float32 standardisation, centroids (clusters, features), threshold."""

    mean: np.ndarray
    inv_std: np.ndarray
    centroids: np.ndarray
    threshold: float = 0.0

    def to_card(self) -> dict[str, Any]:
        """The numbers the card stores (float32 values written as Python floats, exact)."""
        return {"mean": [float(v) for v in self.mean], "inv_std": [float(v) for v in self.inv_std],
                "centroids": [[float(v) for v in row] for row in self.centroids], "threshold": float(self.threshold)}

    @classmethod
    def from_card(cls, block: dict[str, Any]) -> "KMeans":
        """The detector a card's `anomaly` block describes, checked for shape and finiteness."""
        try:
            mean = np.asarray(block["mean"], np.float32)
            inv_std = np.asarray(block["inv_std"], np.float32)
            centroids = np.asarray(block["centroids"], np.float32)
            threshold = float(block["threshold"])
        except (KeyError, TypeError, ValueError) as error:
            raise ModelError(f"the model card's K-means block is incomplete ({error})",
                             hint="retrain the lab: kit train LAB") from None
        if mean.ndim != 1 or inv_std.shape != mean.shape or centroids.ndim != 2 or centroids.shape[1] != mean.size \
                or not all(np.isfinite(a).all() for a in (mean, inv_std, centroids)) or not threshold > 0:
            raise ModelError("the model card's K-means block has inconsistent shapes or values",
                             hint="retrain the lab: kit train LAB")
        return cls(mean, inv_std, centroids, threshold)


def standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, 1 / std) per feature as float32; a constant feature gets inv_std 1/MIN_STD."""
    x = np.asarray(x, np.float64)
    std = np.maximum(x.std(axis=0), MIN_STD)
    return x.mean(axis=0).astype(np.float32), (1.0 / std).astype(np.float32)


def _standardise(x: np.ndarray, mean: np.ndarray, inv_std: np.ndarray) -> np.ndarray:
    return (np.asarray(x, np.float32) - mean) * inv_std


def _plus_plus(z: np.ndarray, clusters: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding: each next centre drawn with probability proportional to d^2."""
    centres = [z[rng.integers(len(z))]]
    nearest = ((z - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, clusters):
        total = nearest.sum()
        index = int(rng.choice(len(z), p=nearest / total)) if total > 0 else int(rng.integers(len(z)))
        centres.append(z[index])
        nearest = np.minimum(nearest, ((z - z[index]) ** 2).sum(axis=1))
    return np.stack(centres)


def fit_kmeans(x: np.ndarray, clusters: int, seed: int, iterations: int = ITERATIONS) -> KMeans:
    """Lloyd's algorithm (float64) from a seeded k-means++ start on standardised features."""
    x = np.asarray(x, np.float32).reshape(len(x), -1)
    if len(x) < clusters:
        raise DataError(f"K-means with {clusters} clusters needs at least that many training windows, got {len(x)}",
                        hint="lower [anomaly] clusters in the lab file or train on more data")
    mean, inv_std = standardiser(x)
    z = _standardise(x, mean, inv_std).astype(np.float64)
    centres = _plus_plus(z, clusters, np.random.default_rng([seed, 77]))
    for _ in range(iterations):
        assign = ((z[:, None, :] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
        moved = np.stack([z[assign == k].mean(axis=0) if np.any(assign == k) else centres[k] for k in range(clusters)])
        if np.allclose(moved, centres, atol=1e-9, rtol=0):
            break
        centres = moved
    return KMeans(mean, inv_std, centres.astype(np.float32))


def kmeans_scores(model: KMeans, x: np.ndarray) -> np.ndarray:
    """float32 distance of each window to its nearest centroid, in the C's order of operations."""
    x = np.asarray(x, np.float32).reshape(len(x), -1)
    if x.shape[1] != model.mean.size:
        raise DataError(f"K-means expects {model.mean.size} features per window, got {x.shape[1]}",
                        hint="score the lab's own features (kit.features.extract)")
    z = (x - model.mean) * model.inv_std  # float32, element by element as the C does
    best = np.full(len(x), np.inf, np.float32)
    for centroid in model.centroids:
        acc = np.zeros(len(x), np.float32)
        for i in range(x.shape[1]):
            d = z[:, i] - centroid[i]
            acc = acc + d * d
        best = np.where(acc < best, acc, best)
    return newton_sqrt(best)


def newton_sqrt(x: np.ndarray) -> np.ndarray:
    """float32 square root exactly as the board's kmeans_sqrt: a bit-level first guess, then
    five Newton steps y = 0.5 * (y + x / y); 0 for x <= 0."""
    x = np.asarray(x, np.float32)
    positive = x > 0
    safe = np.where(positive, x, np.float32(1.0)).astype(np.float32)
    y = (np.uint32(0x1FBD1DF5) + (safe.view(np.uint32) >> np.uint32(1))).astype(np.uint32).view(np.float32)
    half = np.float32(0.5)
    for _ in range(5):
        y = (half * (y + safe / y)).astype(np.float32)
    return np.where(positive, y, np.float32(0.0)).astype(np.float32)


def with_threshold(model: KMeans, x_val: np.ndarray, percentile: float) -> KMeans:
    """The detector with its threshold at `percentile` of the known classes' validation scores."""
    scores = kmeans_scores(model, x_val)
    if len(scores) == 0:
        raise DataError("the K-means threshold needs validation windows", hint="check [dataset] validation_fraction")
    threshold = float(np.float32(np.percentile(scores.astype(np.float64), percentile)))
    return KMeans(model.mean, model.inv_std, model.centroids, threshold)


def balanced_accuracy(known_scores: np.ndarray, unseen_scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Known windows should score at most the threshold, unseen ones above it: the mean of the
    two recalls (balanced accuracy), each recall, and the ROC AUC of the score."""
    from kit.train.evaluate import roc_auc

    known_ok = float(np.mean(np.asarray(known_scores) <= threshold)) if len(known_scores) else 0.0
    unseen_ok = float(np.mean(np.asarray(unseen_scores) > threshold)) if len(unseen_scores) else 0.0
    scores = np.concatenate([known_scores, unseen_scores])
    positive = np.concatenate([np.zeros(len(known_scores), bool), np.ones(len(unseen_scores), bool)])
    return {"balanced_accuracy": (known_ok + unseen_ok) / 2, "known_recall": known_ok, "unseen_recall": unseen_ok,
            "auc": roc_auc(scores, positive)}


SCORE_TEXT = ("distance to the nearest centroid of the standardised features, z = (x - mean) * inv_std "
              "(training mean and standard deviation); no cluster radius subtracted")


def unseen_figures(model: KMeans, catalog_lab: Any, known_scores: np.ndarray, seed: int,
                   per_kind: int) -> dict[str, Any] | None:
    """Known test windows vs windows of motions never seen in training (kit.train.unseen_motion),
    or None when the lab's data does not come from the imu-motion generator."""
    from kit.features import extract
    from kit.train.unseen_motion import unseen_windows

    dataset = catalog_lab.dataset.model_dump()
    if dataset.get("generator") != "imu-motion":
        return None
    windows, kinds, names = unseen_windows(dataset, seed, per_kind)
    features = extract(catalog_lab.features.model_dump(), dataset, windows).reshape(len(windows), -1)
    scores = kmeans_scores(model, features)
    figures = balanced_accuracy(known_scores, scores, model.threshold)
    recalls = {name: float(np.mean(scores[kinds == index] > model.threshold)) for index, name in enumerate(names)}
    return {"kinds": names, "windows_per_kind": int(per_kind), "known_windows": int(len(known_scores)),
            **{key: round(float(value), 6) for key, value in figures.items()},
            "per_kind_recall": {key: round(value, 6) for key, value in recalls.items()}}


def detector_card(settings: dict[str, Any], catalog_lab: Any, x_train: np.ndarray, x_val: np.ndarray,
                  x_test: np.ndarray, seed: int) -> dict[str, Any]:
    """Fit the lab's [anomaly] K-means on the training features, set its threshold on the
    validation windows and score known test windows against unseen motions: the card's block."""
    clusters = int(settings.get("clusters", 32))
    percentile = float(settings.get("threshold_percentile", 99.0))
    model = with_threshold(fit_kmeans(x_train, clusters, seed), x_val, percentile)
    known = kmeans_scores(model, x_test)
    unseen = unseen_figures(model, catalog_lab, known, seed, int(settings.get("unseen_windows_per_kind", 100)))
    block: dict[str, Any] = {"method": "kmeans", "clusters": clusters, "features": int(model.mean.size),
                             "score": SCORE_TEXT, "threshold_percentile": percentile, **model.to_card(),
                             "known_test_false_alarms": round(float(np.mean(known > model.threshold)), 6),
                             "unseen": unseen}
    minimum = settings.get("min_balanced_accuracy")
    if minimum is not None:
        achieved = None if unseen is None else unseen["balanced_accuracy"]
        block["targets"] = {"min_balanced_accuracy": float(minimum),
                            "met": achieved is not None and achieved >= float(minimum)}
    return block


def anomaly_rows(block: dict[str, Any]) -> list[tuple[str, str]]:
    """The card summary's lines for a K-means block."""
    rows = [("anomaly (K-means)", f"{block['clusters']} clusters on {block['features']} features, "
                                  f"threshold {block['threshold']:.3f} (p{block['threshold_percentile']:g} of validation)")]
    unseen = block.get("unseen")
    if unseen:
        kinds = ", ".join(f"{k} {100 * v:.0f}%" for k, v in unseen["per_kind_recall"].items())
        rows.append(("anomaly on unseen motions", f"balanced accuracy {100 * unseen['balanced_accuracy']:.1f}% "
                     f"(known kept {100 * unseen['known_recall']:.1f}%, unseen flagged {100 * unseen['unseen_recall']:.1f}%: "
                     f"{kinds}; AUC {unseen['auc']:.3f})"))
    if block.get("targets"):
        target = block["targets"]
        rows.append(("anomaly target", ("met" if target["met"] else "NOT met")
                     + f" (balanced accuracy >= {100 * target['min_balanced_accuracy']:.1f}%)"))
    return rows
