"""`load_dataset`: generate (or read) a lab's data, compute its features, cache the result."""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from kit.data.augment import DEFAULT_COPIES
from kit.data.raw import SPLITS, RawData
from kit.data.spec import LabSpec, lab_spec
from kit.errors import DataError
from kit.features import extract, scale_pixels
from kit.features.image import SCALES
from kit.features.native import source_files as feature_c_sources
from kit.paths import cache_dir

GENERATOR_VERSION = 1
SIZES = {"tiny": 0.03, "small": 0.15, "medium": 0.5, "full": 1.0}
PREVIEW_PER_CLASS = 3
Progress = Callable[[int, int], None]


@dataclass
class Dataset:
    """A lab's features split three ways. x_* are float32 in the lab's input shape (no batch dim)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    labels: list[str]
    test_groups: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    previews: dict[str, np.ndarray] = field(default_factory=dict)

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")


def size_fraction(size: str | float | None) -> float:
    """'tiny'/'small'/'medium'/'full', a fraction in (0, 1] or None (full) -> a fraction."""
    if size is None:
        return 1.0
    if isinstance(size, str) and size in SIZES:
        return SIZES[size]
    try:
        value = float(size)
    except (TypeError, ValueError):
        value = -1.0
    if not 0.0 < value <= 1.0:
        raise DataError(f"dataset size '{size}' is not understood",
                        hint=f"use one of {', '.join(SIZES)} or a fraction between 0 and 1")
    return value


def _code_fingerprint() -> str:
    """Hash of the generator and feature sources (Python and C): editing them invalidates cached datasets."""
    digest = hashlib.sha256(str(GENERATOR_VERSION).encode())
    root = Path(__file__).resolve().parents[1]
    for folder in ("data", "features"):
        for path in sorted((root / folder).glob("*.py")):
            digest.update(path.name.encode() + path.read_bytes())
    for path in feature_c_sources():  # the C every pipeline runs (kit.features.native)
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def _source_fingerprint(source: Path) -> list[tuple[str, int, int]]:
    return [(str(p.relative_to(source)), p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(source.rglob("*")) if p.is_file()]


def cache_key(spec: LabSpec, seed: int, fraction: float, source: Path | None,
              splits: tuple[str, ...] = SPLITS) -> str:
    payload = {**({"splits": list(splits)} if tuple(splits) != SPLITS else {}),"lab": spec.name, "labels": spec.labels, "dataset": spec.dataset, "features": spec.features,
               "input_shape": spec.input_shape, "seed": seed, "fraction": fraction, "code": _code_fingerprint(),
               "source": None if source is None else [str(source.resolve()), _source_fingerprint(source)]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]


def dataset_key(lab: Any, seed: int = 0, source: Path | str | None = None, size: str | float | None = None) -> str:
    """The identity of the data `load_dataset` would return (lab sections, seed, size, user folder
    listing, generator code): include it in downstream cache keys so new data retrains models."""
    return cache_key(lab_spec(lab), seed, size_fraction(size), Path(source).expanduser() if source is not None else None)


def _generate_raw(spec: LabSpec, seed: int, fraction: float, progress: Progress | None,
                  splits: tuple[str, ...] = SPLITS) -> RawData:
    """The generated samples of `splits` only: the speech, scene and detection generators skip the
    other splits' work (a test split costs a fifth of the whole), with the samples unchanged."""
    generator = spec.generator
    if generator == "speech-espeak":
        from kit.data.kws import kws_raw
        return kws_raw(spec, seed, fraction, progress, splits)
    if generator == "scenes-rendered":
        from kit.data.scenes import scenes_raw
        return scenes_raw(spec, seed, fraction, progress, splits)
    if generator == "scenes-detection":
        from kit.data.detection import detection_raw
        return detection_raw(spec, seed, fraction, progress, splits)
    if generator == "imu-motion":
        from kit.data.motion import motion_raw
        return motion_raw(spec, seed, fraction, progress).only(splits)
    if generator == "imu-vibration":
        from kit.data.vibration import vibration_raw
        return vibration_raw(spec, seed, fraction, progress).only(splits)
    raise DataError(f"lab {spec.name} names an unknown dataset generator '{generator}'",
                    hint="use speech-espeak, scenes-rendered, scenes-detection, imu-motion or imu-vibration in [dataset] generator")


def load_raw(lab: Any, seed: int = 0, size: str | float | None = None, progress: Progress | None = None,
             splits: tuple[str, ...] = SPLITS) -> RawData:
    """The lab's generated raw samples (audio clips, IMU windows, uint8 images) before features:
    what a board's sensor would deliver (tests feed them to boards and compare the features).
    `splits=("test",)` generates the held-out split alone, sample for sample the same."""
    unknown = [name for name in splits if name not in SPLITS]
    if unknown:
        raise DataError(f"unknown split(s) {', '.join(unknown)}", hint=f"use {', '.join(SPLITS)}")
    return _generate_raw(lab_spec(lab), seed, size_fraction(size), progress, tuple(splits))


def _features(spec: LabSpec, raw: np.ndarray) -> np.ndarray:
    shape = spec.sample_shape
    if raw.shape[0] == 0:
        return np.zeros((0, *shape), np.float32)
    feats = extract(spec.features, spec.dataset, raw)
    if shape and feats.shape[1:] != shape:
        raise DataError(f"lab {spec.name}: features have shape {list(feats.shape[1:])} but [io] input_shape "
                        f"says {list(shape)}", hint="make [io] input_shape match the [features] settings")
    return feats.astype(np.float32)


def _holds(y: np.ndarray, index: int) -> np.ndarray:
    """Per sample: is it of class `index`? (a detection grid: does any cell hold the class?)"""
    hits = y == index
    return hits.reshape(len(y), -1).any(axis=1) if y.ndim > 1 else hits


def _previews(raw: RawData, labels: list[str]) -> dict[str, np.ndarray]:
    out = {}
    for index, label in enumerate(labels):
        picks = np.flatnonzero(_holds(raw.y, index))[:PREVIEW_PER_CLASS]
        if picks.size:
            out[label] = raw.x[picks]
    return out


def _metadata(spec: LabSpec, raw: RawData, seed: int, fraction: float, source: Path | None) -> dict[str, Any]:
    counts = {name: {label: int(np.sum(raw.y[raw.split == name] == i)) for i, label in enumerate(spec.labels)}
              for name in SPLITS}  # a detection grid counts cells: objects, and background cells
    groups = {name: sorted(set(raw.group[raw.split == name].tolist())) for name in SPLITS}
    return {"lab": spec.name, "generator": "user-folder" if source else spec.generator, "seed": seed,
            "feature_type": spec.features.get("type"), "pixel_scale": spec.features.get("scale", "unit"),
            "size_fraction": fraction, "source": str(source) if source else None, "counts": counts,
            "group_counts": {name: len(values) for name, values in groups.items()},
            "test_group_names": groups["test"], **raw.info}


def build_dataset(spec: LabSpec, raw: RawData, seed: int, fraction: float, source: Path | None) -> Dataset:
    parts = {name: raw.part(name) for name in SPLITS}
    feats = {name: _features(spec, parts[name][0]) for name in SPLITS}
    return Dataset(x_train=feats["train"], y_train=parts["train"][1].astype(np.int64),
                   x_val=feats["val"], y_val=parts["val"][1].astype(np.int64),
                   x_test=feats["test"], y_test=parts["test"][1].astype(np.int64),
                   labels=list(spec.labels), test_groups=parts["test"][2].astype(str),
                   metadata=_metadata(spec, raw, seed, fraction, source), previews=_previews(raw, spec.labels))


def _pixels_to_uint8(x: np.ndarray, scale: str) -> np.ndarray:
    """Undo the pixel scaling exactly (features came from uint8), so image caches are 4x smaller."""
    factor, offset = SCALES[scale]
    return np.round((x.astype(np.float64) - offset) / factor).astype(np.uint8)


def _save(path: Path, dataset: Dataset) -> None:
    arrays = {f"{kind}_{name}": getattr(dataset, f"{kind}_{name}") for kind in "xy" for name in SPLITS}
    if dataset.metadata.get("feature_type") == "image":
        for name in SPLITS:
            arrays[f"x_{name}"] = _pixels_to_uint8(arrays[f"x_{name}"], dataset.metadata["pixel_scale"])
    arrays["test_groups"] = dataset.test_groups
    for label, examples in dataset.previews.items():
        arrays[f"preview::{label}"] = examples
    arrays["meta"] = np.frombuffer(json.dumps({"labels": dataset.labels, "metadata": dataset.metadata}).encode(),
                                   np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, path)


def _load(path: Path) -> Dataset | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            previews = {key.split("::", 1)[1]: data[key] for key in data.files if key.startswith("preview::")}
            split_arrays = {f"{kind}_{name}": data[f"{kind}_{name}"] for kind in "xy" for name in SPLITS}
            if meta["metadata"].get("feature_type") == "image":
                for name in SPLITS:
                    split_arrays[f"x_{name}"] = scale_pixels(split_arrays[f"x_{name}"], meta["metadata"]["pixel_scale"])
            return Dataset(**split_arrays, labels=meta["labels"], test_groups=data["test_groups"],
                           metadata=meta["metadata"], previews=previews)
    except (OSError, ValueError, KeyError):
        return None


def load_dataset(lab: Any, seed: int = 0, source: Path | str | None = None, size: str | float | None = None,
                 progress: Progress | None = None, use_cache: bool = True,
                 splits: tuple[str, ...] = SPLITS) -> Dataset:
    """Generate (or read from `source`) the lab's dataset and its features; cached per inputs.

    `lab` is a kit.catalog Lab (or a lab name / dict); `size` shrinks the generated data for quick
    runs ('tiny', 'small', a fraction); `progress(done, total)` is called with absolute counts
    (speakers, frames, windows or files) as generation advances. `splits=("test",)` generates only
    the held-out split (the others come back empty): what validation and scoring need. A cached
    full dataset serves it too.
    """
    spec = lab_spec(lab)
    fraction = size_fraction(size)
    source_path = Path(source).expanduser() if source is not None else None
    layout = None
    splits = tuple(splits)
    if splits != SPLITS and source_path is not None:
        raise DataError("a user folder is read whole: generating only some splits is for generated data",
                        hint="leave out splits when passing a data folder")
    key = cache_key(spec, seed, fraction, source_path, splits)
    if source_path is not None and spec.task == "detection":
        if not source_path.is_dir():
            raise DataError(f"data folder {source_path} does not exist",
                            hint="pass a folder of images with boxes (bounding_boxes.labels, COCO .json or YOLO .txt)")
    elif source_path is not None:
        from kit.data.layout import check_source

        layout = check_source(spec, source_path)  # the classes are the folders: checked before any reading
        spec = replace(spec, labels=layout.labels)
    path = cache_dir("datasets") / f"{spec.name}-{key}.npz"
    whole = cache_dir("datasets") / f"{spec.name}-{cache_key(spec, seed, fraction, source_path)}.npz"
    if use_cache and splits != SPLITS and whole.is_file():
        path = whole  # the full dataset holds every split
    if use_cache and path.is_file():
        cached = _load(path)
        if cached is not None:
            cached.metadata["cache"] = str(path)
            return cached
    if source_path is not None and spec.task == "detection":
        from kit.data.detection_user import read_detection_folder
        raw = read_detection_folder(spec, source_path, seed, progress)
    elif source_path is not None:
        from kit.data.augment import augment_training
        from kit.data.user import read_user_folder

        raw = read_user_folder(spec, source_path, seed, progress, layout)
        raw = augment_training(raw, layout.modality, int(spec.dataset.get("sample_rate_hz", 16000)), seed,
                               int(spec.dataset.get("own_augment_copies", DEFAULT_COPIES)))
    else:
        raw = _generate_raw(spec, seed, fraction, progress, splits)
    dataset = build_dataset(spec, raw, seed, fraction, source_path)
    if use_cache:
        _save(path, dataset)
        dataset.metadata["cache"] = str(path)
    return dataset


def load_source_examples(lab: Any, source: Path | str, labels: list[str],
                         files: list[str] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, label index in `labels`, file per example) of a user folder, or of the named
    files in it: what `kit validate --source` runs on a board. Folders must be `labels` classes."""
    from kit.data.layout import check_source
    from kit.data.user import read_files

    spec = lab_spec(lab)
    layout = check_source(spec, Path(source).expanduser())
    unknown = [label for label in layout.labels if label not in labels]
    if unknown:
        raise DataError(f"{source}: folder(s) {', '.join(unknown)} are not classes of this model "
                        f"({', '.join(labels)})", hint="validate with the model trained on this folder (its card names its classes)")
    x, y, names = read_files(spec, layout, labels, only=set(files) if files is not None else None)
    return _features(replace(spec, labels=list(labels)), x), y, names
