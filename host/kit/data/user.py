"""The user's own examples: a folder with one sub-folder per class (WAV, PNG/JPEG or CSV).

The classes are the folder names (kit.data.layout checks the layout first and fixes their
order). Files are brought to what the lab's feature pipeline expects (16 kHz 1 s audio, 96x96 RGB,
fixed-length IMU windows) so user data and generated data share one code path.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, UnidentifiedImageError

from kit.data.audio import fit_length, read_wav, resample, rms
from kit.data.layout import SourceLayout, check_source
from kit.data.raw import RawData, stratified_splits
from kit.data.spec import LabSpec
from kit.errors import DataError

TIME_COLUMNS = ("t", "time", "timestamp", "ms", "time_ms", "seconds")


def read_audio(path: Path, spec: LabSpec) -> np.ndarray:
    rate = int(spec.dataset.get("sample_rate_hz", 16000))
    audio, source_rate = read_wav(path)
    if audio.size == 0:
        raise DataError(f"{path} holds no audio samples", hint="re-record or remove the file")
    return fit_length(resample(audio, source_rate, rate), int(round(float(spec.dataset.get("clip_seconds", 1.0)) * rate)))


def read_image(path: Path, spec: LabSpec) -> np.ndarray:
    height, width = [int(v) for v in spec.dataset.get("image_size", [96, 96])]
    mode = "L" if int(spec.features.get("channels", 3)) == 1 else "RGB"
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert(mode).resize((width, height), Image.BILINEAR), np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise DataError(f"cannot read image {path}: {error}", hint="use PNG or JPEG files, or remove this one") from None
    return pixels[..., None] if pixels.ndim == 2 else pixels


def _numeric(value: str) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return False


def read_csv_signal(path: Path, axes: list[str]) -> np.ndarray:
    """(samples, len(axes)) float array from a CSV with a header naming the axes (or numeric columns)."""
    try:
        with path.open(newline="") as handle:
            rows = [row for row in csv.reader(handle) if row and any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"cannot read CSV {path}: {error}", hint="save it as plain-text CSV") from None
    if not rows:
        raise DataError(f"{path} is empty", hint="remove the file or record some samples")
    header = [cell.strip().lower() for cell in rows[0]]
    has_header = not all(_numeric(cell) for cell in header)
    body = rows[1:] if has_header else rows
    wanted = [axis.lower() for axis in axes]
    if has_header and all(axis in header for axis in wanted):
        columns = [header.index(axis) for axis in wanted]
    else:
        skip = {i for i, name in enumerate(header) if has_header and name in TIME_COLUMNS}
        columns = [i for i in range(len(rows[0])) if i not in skip][:len(axes)]
    if len(columns) < len(axes):
        raise DataError(f"{path} has {len(columns)} data column(s), lab needs {len(axes)} ({', '.join(axes)})",
                        hint=f"write a header row naming the columns {', '.join(axes)}")
    try:
        return np.asarray([[float(row[i]) for i in columns] for row in body], np.float32)
    except (ValueError, IndexError):
        raise DataError(f"{path} has a non-numeric or missing value", hint="check the CSV for text or short rows") from None


def csv_windows(path: Path, spec: LabSpec) -> list[np.ndarray]:
    """Cut a recording into non-overlapping windows of the lab's length."""
    axes = [str(a) for a in spec.dataset.get("axes", ["ax", "ay", "az"])]
    rate = float(spec.dataset.get("sample_rate_hz", 50))
    length = int(round(float(spec.dataset.get("window_seconds", 2.0)) * rate))
    signal = read_csv_signal(path, axes)
    if signal.shape[0] < length:
        raise DataError(f"{path} has {signal.shape[0]} samples, fewer than one {length}-sample window "
                        f"({spec.dataset.get('window_seconds')} s at {rate:g} Hz)", hint="record longer or remove it")
    return [signal[start:start + length] for start in range(0, signal.shape[0] - length + 1, length)]


def _split_by_file(labels: np.ndarray, files: np.ndarray, rng: np.random.Generator, spec: LabSpec) -> np.ndarray:
    """Stratified split; whole files stay in one split when every class has at least 3 files."""
    val = float(spec.dataset.get("validation_fraction", 0.1))
    test = float(spec.dataset.get("test_fraction", 0.2))
    unique_files, first = np.unique(files, return_index=True)
    per_class = [np.sum(labels[first] == c) for c in np.unique(labels)]
    if len(unique_files) < len(files) and min(per_class) >= 3:
        file_split = dict(zip(unique_files, stratified_splits(labels[first], rng, val, test)))
        return np.asarray([file_split[f] for f in files], dtype=str)
    return stratified_splits(labels, rng, val, test)


def class_levels(x: np.ndarray, y: np.ndarray, labels: list[str], kind: str) -> dict[str, float]:
    """Median level per class, to explain a model stuck at chance: audio RMS in dBFS,
    IMU standard deviation around the mean, image pixel standard deviation."""
    levels = {}
    for index, label in enumerate(labels):
        picked = x[y == index]
        if not len(picked):
            continue
        if kind == "audio":
            values = [20 * np.log10(rms(clip)) for clip in picked]
        elif kind == "imu":
            values = [float(np.std(w - w.mean(axis=0))) for w in picked]
        else:
            values = [float(np.std(image.astype(np.float32))) for image in picked]
        levels[label] = round(float(np.median(values)), 4)
    return levels


def read_examples(spec: LabSpec, kind: str, path: Path) -> list[np.ndarray]:
    """The examples one file gives: one clip or image, or the CSV's windows."""
    if kind == "audio":
        return [read_audio(path, spec)]
    if kind == "image":
        return [read_image(path, spec)]
    return csv_windows(path, spec)


def read_files(spec: LabSpec, layout: SourceLayout, labels: list[str], only: set[str] | None = None,
               progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(raw samples, label index in `labels`, file path relative to the source) of every file,
    or of the files named in `only`."""
    chosen = [(folder.label, path) for folder in layout.classes for path in folder.files
              if only is None or str(path.relative_to(layout.source)) in only]
    samples, y, files = [], [], []
    for done, (label, path) in enumerate(chosen, start=1):
        for piece in read_examples(spec, layout.modality, path):
            samples.append(piece)
            y.append(labels.index(label))
            files.append(str(path.relative_to(layout.source)))
        if progress:
            progress(done, len(chosen))
    if not samples:
        raise DataError(f"no examples to read in {layout.source}", hint="check the folder holds your class folders")
    return np.stack(samples), np.asarray(y, np.int64), np.asarray(files, dtype=str)


def read_user_folder(spec: LabSpec, source: Path, seed: int,
                     progress: Callable[[int, int], None] | None = None,
                     layout: SourceLayout | None = None) -> RawData:
    """Every example of the folder with a per-file train/val/test split (labels: the layout's)."""
    layout = layout or check_source(spec, source)
    x, y, names = read_files(spec, layout, layout.labels, progress=progress)
    rng = np.random.default_rng([seed, 40])
    split = _split_by_file(y, names, rng, spec)
    if spec.task == "anomaly":
        split[y != 0] = "test"  # an autoencoder only ever trains on normal data
    info = {"files": int(len(set(names.tolist()))), "class_levels": class_levels(x, y, layout.labels, layout.modality),
            "layout": layout.summary()}
    return RawData(x=x, y=y, split=split, group=names, info=info)
