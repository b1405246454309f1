"""The user's own examples: a folder with one sub-folder per class (WAV, PNG/JPEG or CSV).

Files are brought to what the lab's feature pipeline expects (16 kHz 1 s audio, 96x96 RGB,
fixed-length IMU windows) so user data and generated data share one code path.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, UnidentifiedImageError

from kit.data.audio import fit_length, read_wav, resample
from kit.data.raw import RawData, stratified_splits
from kit.data.spec import LabSpec
from kit.errors import DataError

EXTENSIONS = {"audio": (".wav",), "image": (".png", ".jpg", ".jpeg"), "imu": (".csv",)}
TIME_COLUMNS = ("t", "time", "timestamp", "ms", "time_ms", "seconds")


def modality(spec: LabSpec) -> str:
    kind = spec.features.get("type")
    if kind == "mfcc":
        return "audio"
    if kind == "image":
        return "image"
    if kind in ("imu-spectral", "vibration-spectrum"):
        return "imu"
    raise DataError(f"lab {spec.name} has feature type '{kind}', which kit cannot read user files for",
                    hint="use a lab whose [features] type is mfcc, image, imu-spectral or vibration-spectrum")


def class_folders(spec: LabSpec, source: Path) -> dict[str, Path]:
    """Map each label to its folder; unknown or missing folders are errors naming the expected ones."""
    folders = {p.name: p for p in sorted(source.iterdir()) if p.is_dir() and not p.name.startswith(".")}
    expected = ", ".join(spec.labels)
    unknown = [name for name in folders if name not in spec.labels]
    if unknown:
        raise DataError(f"{source}: folder(s) {', '.join(unknown)} are not classes of lab {spec.name}",
                        hint=f"name the class folders exactly: {expected}")
    optional = {"anomaly"} if spec.task == "anomaly" else set()
    missing = [label for label in spec.labels if label not in folders and label not in optional]
    if missing:
        raise DataError(f"{source}: no folder for class(es) {', '.join(missing)} of lab {spec.name}",
                        hint=f"create one sub-folder per class: {expected}")
    return {label: folders[label] for label in spec.labels if label in folders}


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


def read_user_folder(spec: LabSpec, source: Path, seed: int,
                     progress: Callable[[int, int], None] | None = None) -> RawData:
    kind = modality(spec)
    folders = class_folders(spec, source)
    listing = {}
    for label, folder in folders.items():
        paths = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix.lower() in EXTENSIONS[kind]
                 and not p.name.startswith(".")]
        if not paths:
            raise DataError(f"class folder {folder} has no {'/'.join(EXTENSIONS[kind])} files",
                            hint=f"put some examples of '{label}' in it")
        listing[label] = paths
    total = sum(len(paths) for paths in listing.values())
    samples, labels, files, done = [], [], [], 0
    for label, paths in listing.items():
        for path in paths:
            if kind == "audio":
                pieces = [read_audio(path, spec)]
            elif kind == "image":
                pieces = [read_image(path, spec)]
            else:
                pieces = csv_windows(path, spec)
            for piece in pieces:
                samples.append(piece)
                labels.append(spec.labels.index(label))
                files.append(str(path.relative_to(source)))
            done += 1
            if progress:
                progress(done, total)
    y = np.asarray(labels, np.int64)
    names = np.asarray(files, dtype=str)
    rng = np.random.default_rng([seed, 40])
    if spec.task == "anomaly":
        split = _split_by_file(y, names, rng, spec)
        split[y != 0] = "test"  # an autoencoder only ever trains on normal data
    else:
        split = _split_by_file(y, names, rng, spec)
    return RawData(x=np.stack(samples), y=y, split=split, group=names, info={"files": int(len(set(files)))})
