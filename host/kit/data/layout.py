"""The layout of a `--source` folder, checked in well under a second before any heavy work.

`kit train LAB --source DIR` used to read every clip, compute features and import
TensorFlow before it found out that a folder was misnamed or a file was broken. This module
only lists folders, reads file headers (WAV chunks, image headers, CSV first lines) and counts
examples, so every mistake a student can make in arranging their data is reported at once,
naming the file or folder and the fix. The classes are the sub-folders: the lab supplies the
features and the architecture, the student the labels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from kit.data.spec import LabSpec
from kit.errors import DataError

EXTENSIONS = {"audio": (".wav",), "image": (".png", ".jpg", ".jpeg"), "imu": (".csv",)}
NOUNS = {"audio": "clips", "image": "images", "imu": "windows"}
MIN_EXAMPLES = 5          # per class: fewer cannot fill a train, a validation and a test split
GOOD_EXAMPLES = 30        # what the book's labs ask students to record per class
MIN_AUDIO_SECONDS = 0.05  # a WAV shorter than this is a slip of the record button
TIME_COLUMNS = ("t", "time", "timestamp", "ms", "time_ms", "seconds")
IMAGE_FORMATS = ("PNG", "JPEG", "MPO")  # MPO: the JPEG variant many phone cameras write


@dataclass(frozen=True)
class ClassFolder:
    """One class: its folder, its usable files and how many examples they give."""

    label: str
    path: Path
    files: tuple[Path, ...]
    examples: int
    ignored: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceLayout:
    """What is in a user folder, in the order the model's outputs will have."""

    source: Path
    modality: str
    classes: tuple[ClassFolder, ...]
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def labels(self) -> list[str]:
        return [folder.label for folder in self.classes]

    @property
    def files(self) -> int:
        return sum(len(folder.files) for folder in self.classes)

    def summary(self) -> str:
        """One line: classes with their counts, files checked, time taken."""
        noun = NOUNS[self.modality]
        counts = ", ".join(f"{folder.label} {folder.examples}" for folder in self.classes)
        line = (f"{self.source}: {len(self.classes)} classes ({counts} {noun}), "
                f"{self.files} files checked in {self.seconds:.2f} s")
        return line + "".join(f"; {note}" for note in self.notes)


def modality(spec: LabSpec) -> str:
    """audio, image or imu: which files a lab's feature pipeline reads."""
    kind = spec.features.get("type")
    if kind == "mfcc":
        return "audio"
    if kind == "image":
        return "image"
    if kind in ("imu-spectral", "vibration-spectrum"):
        return "imu"
    raise DataError(f"lab {spec.name} has feature type '{kind}', which kit cannot read user files for",
                    hint="use a lab whose [features] type is mfcc, image, imu-spectral or vibration-spectrum")


def source_labels(spec: LabSpec, names: list[str], source: Path) -> list[str]:
    """The class order: the lab's when the folders are exactly its classes (or an anomaly lab's
    normal/anomaly, whose meaning is fixed), else sorted folder names."""
    if spec.task == "anomaly":
        normal = spec.labels[0] if spec.labels else "normal"
        unknown = [name for name in names if name not in spec.labels]
        if unknown or normal not in names:
            raise DataError(f"{source}: an anomaly lab learns what '{normal}' looks like; found folder(s) "
                            f"{', '.join(names) or 'none'}",
                            hint=f"put normal recordings in {source / normal} (and, to test, faults in "
                                 f"{source / (spec.labels[-1] if len(spec.labels) > 1 else 'anomaly')})")
        return [label for label in spec.labels if label in names]
    if len(names) < 2:
        found = f"only the folder {names[0]}" if names else "no sub-folders"
        raise DataError(f"{source} has {found}; a classifier needs at least 2 classes",
                        hint=f"make one sub-folder per class, e.g. {source / 'box'} and {source / 'wheel'}, "
                             "each with your examples of it")
    if sorted(names) == sorted(spec.labels):
        return list(spec.labels)
    return sorted(names)


def wav_seconds(path: Path) -> float:
    """Duration of a WAV file from its chunk headers alone (the samples are not read)."""
    from kit.data.audio import _wav_format

    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise DataError(f"{path} is not a WAV file (no RIFF/WAVE header)",
                            hint="export it as 16-bit PCM .wav (e.g. `sox in.m4a -b 16 out.wav`) or remove it")
        fmt: tuple[int, int, int, bool] | None = None
        pos = 12
        while pos + 8 <= size:
            handle.seek(pos)
            chunk = handle.read(8)
            name, length = chunk[:4], int.from_bytes(chunk[4:8], "little")
            if name == b"fmt ":
                fmt = _wav_format(handle.read(min(length, 64)), str(path))
            elif name == b"data":
                if fmt is None:
                    break
                channels, rate, width, _ = fmt
                available = size - pos - 8
                data_bytes = length if 0 < length <= available else available
                return data_bytes / float(channels * width * rate)
            if length == 0:
                break
            pos += 8 + length + (length & 1)
    raise DataError(f"{path}: WAV file has no {'fmt' if fmt is None else 'data'} chunk",
                    hint="re-record or re-export the file as 16-bit PCM .wav")


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the image header (PIL opens lazily: no pixels are decoded)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if image.format not in IMAGE_FORMATS:
                raise DataError(f"{path} is a {image.format} image", hint="save it as PNG or JPEG")
            return image.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise DataError(f"cannot read image {path}: {error}", hint="use PNG or JPEG files, or remove this one") from None


def _numeric(value: str) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return False


def csv_windows_count(path: Path, spec: LabSpec) -> int:
    """How many of the lab's windows a CSV recording gives, from its header and row count."""
    axes = [str(a) for a in spec.dataset.get("axes", ["ax", "ay", "az"])]
    rate = float(spec.dataset.get("sample_rate_hz", 50))
    length = int(round(float(spec.dataset.get("window_seconds", 2.0)) * rate))
    try:
        lines = [line for line in path.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"cannot read CSV {path}: {error}", hint="save it as plain-text CSV") from None
    if not lines:
        raise DataError(f"{path} is empty", hint="remove the file or record some samples")
    header = [cell.strip().lower() for cell in lines[0].split(",")]
    has_header = not all(_numeric(cell) for cell in header)
    named = has_header and all(axis.lower() in header for axis in axes)
    columns = len(header) - (sum(name in TIME_COLUMNS for name in header) if has_header else 0)
    if not named and columns < len(axes):
        raise DataError(f"{path} has {columns} data column(s), lab {spec.name} needs {len(axes)} ({', '.join(axes)})",
                        hint=f"write a header row naming the columns {', '.join(axes)}")
    rows = len(lines) - int(has_header)
    if rows < length:
        raise DataError(f"{path} has {rows} samples, fewer than one {length}-sample window "
                        f"({spec.dataset.get('window_seconds', 2.0)} s at {rate:g} Hz)", hint="record longer or remove it")
    return rows // length


def _examples(path: Path, kind: str, spec: LabSpec) -> int:
    """Check one file's header; returns how many training examples it gives."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror}", hint="check the file's permissions") from None
    if size == 0:
        raise DataError(f"{path} is empty (0 bytes)", hint="re-record it or remove it")
    if kind == "audio":
        seconds = wav_seconds(path)
        if seconds < MIN_AUDIO_SECONDS:
            raise DataError(f"{path} holds {1000 * seconds:.0f} ms of audio",
                            hint=f"re-record it (about {spec.dataset.get('clip_seconds', 1.0)} s) or remove it")
        return 1
    if kind == "image":
        image_size(path)
        return 1
    return csv_windows_count(path, spec)


def _class_files(folder: Path, kind: str) -> tuple[list[Path], list[str]]:
    """(data files, names of other files) under a class folder, hidden files skipped."""
    wanted, other = [], []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        (wanted if path.suffix.lower() in EXTENSIONS[kind] else other).append(path)
    return wanted, [str(path.relative_to(folder)) for path in other]


def _minimum(spec: LabSpec, label: str) -> int:
    """An anomaly lab's fault folder only feeds the test set: one example is enough."""
    return 1 if spec.task == "anomaly" and label != (spec.labels[0] if spec.labels else "normal") else MIN_EXAMPLES


def check_source(spec: LabSpec, source: Path) -> SourceLayout:
    """Check the folder layout and every file's header; raise DataError on the first problem."""
    start = time.perf_counter()
    source = Path(source).expanduser()
    kind = modality(spec)
    extensions = "/".join(EXTENSIONS[kind])
    if not source.is_dir():
        raise DataError(f"data folder {source} does not exist",
                        hint=f"pass --source a folder with one sub-folder per class, each holding {extensions} files")
    entries = sorted(source.iterdir())
    loose = [p.name for p in entries if p.is_file() and p.suffix.lower() in EXTENSIONS[kind]]
    if loose:
        raise DataError(f"{source} holds {len(loose)} {extensions} file(s) directly ({', '.join(loose[:3])}"
                        f"{' ...' if len(loose) > 3 else ''}); kit learns the classes from sub-folder names",
                        hint=f"move each file into a sub-folder named after its class, e.g. {source / 'box' / loose[0]}")
    folders = {p.name: p for p in entries if p.is_dir() and not p.name.startswith(".")}
    labels = source_labels(spec, list(folders), source)
    classes, notes = [], []
    for label in labels:
        files, ignored = _class_files(folders[label], kind)
        if not files:
            found = f" (it holds {', '.join(ignored[:3])})" if ignored else ""
            raise DataError(f"class folder {folders[label]} has no {extensions} files{found}",
                            hint=f"put your examples of '{label}' in it as {extensions}"
                                 + (" (convert audio with `sox in.m4a -b 16 out.wav`)" if kind == "audio" else ""))
        examples = sum(_examples(path, kind, spec) for path in files)
        if examples < _minimum(spec, label):
            raise DataError(f"class folder {folders[label]} has {examples} {NOUNS[kind]}; kit needs at least "
                            f"{MIN_EXAMPLES} per class to train, validate and test",
                            hint=f"record more examples of '{label}' (about {GOOD_EXAMPLES} train a good model) "
                                 "or remove the folder")
        if ignored:
            notes.append(f"ignored {len(ignored)} non-{extensions} file(s) in {label}/ ({', '.join(ignored[:2])})")
        classes.append(ClassFolder(label, folders[label], tuple(files), examples, tuple(ignored)))
    return SourceLayout(source, kind, tuple(classes), time.perf_counter() - start, tuple(notes))
