"""The parts of a lab file that training reads ([model], [training], [io], labels, task) and the
hash of every input that decides a trained model, which names its cache folder."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kit.catalog import get_lab
from kit.errors import CatalogError, DataError
from kit.paths import LABS_DIR

# Bump when a change in kit.train would change the trained model for the same inputs.
TRAIN_CODE_VERSION = "2"


@dataclass(frozen=True)
class LabTraining:
    """What training needs from one lab."""

    name: str
    task: str
    labels: list[str]
    input_shape: list[int]
    output_shape: list[int]
    model: dict[str, Any]
    training: dict[str, Any]
    toml_path: Path
    catalog_lab: Any  # the kit.catalog Lab (or the name when the catalog is not installed)
    targets: dict[str, float] = field(default_factory=dict)  # [targets]: min_int8_accuracy (or _f1), max_float_int8_gap
    detection: dict[str, Any] = field(default_factory=dict)  # [detection]: score_threshold, match_distance_cells
    anomaly: dict[str, Any] = field(default_factory=dict)  # [anomaly]: K-means beside a classifier (method, clusters)

    @property
    def arch(self) -> str:
        return str(self.model.get("arch", ""))


def lab_toml_path(name: str) -> Path:
    """The lab's file, after the catalog has validated it (unknown names get its suggestion)."""
    get_lab(name)
    return LABS_DIR / name / "lab.toml"


def load_lab(name: str) -> LabTraining:
    catalog_lab = get_lab(name)
    path = LABS_DIR / name / "lab.toml"
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    io = raw.get("io") or {}
    if "model" not in raw or "arch" not in raw["model"]:
        raise CatalogError(f"{path}: [model] arch is missing", "add a [model] section with arch = \"ds_cnn\" (or another builder)")
    return LabTraining(
        name=name,
        task=str(raw.get("task", "classification")),
        labels=[str(label) for label in raw.get("labels", [])],
        input_shape=[int(d) for d in io.get("input_shape", [])],
        output_shape=[int(d) for d in io.get("output_shape", [])],
        model=dict(raw["model"]),
        training=dict(raw.get("training") or {}),
        toml_path=path,
        catalog_lab=catalog_lab,
        targets={str(k): float(v) for k, v in (raw.get("targets") or {}).items()},
        detection=dict(raw.get("detection") or {}),
        anomaly=dict(raw.get("anomaly") or {}),
    )


def folder_content_hash(folder: Path) -> str:
    """sha256 over every file's relative path and bytes, in sorted order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"dataset folder {folder} does not exist", "pass --source a folder with one sub-folder per class")
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


# Top-level lab keys that only describe the lab to people (`kit labs`): a line setting one is left
# out of the lab file's hash, so adding or rewording it keeps the committed reference models.
DISPLAY_ONLY_KEYS = ("chapter",)


def lab_toml_digest(path: Path) -> str:
    """sha256 of the lab file without its display-only lines (a file without them hashes as
    its plain bytes, so labs written before a display key existed keep their hash)."""
    lines = Path(path).read_bytes().splitlines(keepends=True)
    kept = [line for line in lines if not any(line.lstrip().startswith(key.encode()) and
                                              line.split(b"=", 1)[0].strip() == key.encode()
                                              for key in DISPLAY_ONLY_KEYS)]
    return hashlib.sha256(b"".join(kept)).hexdigest()


def training_inputs_hash(lab: LabTraining, seed: int, source: Path | None, size: Any, base: str | None = None) -> str:
    """The cache key: lab file bytes, seed, user data, dataset size, the identity of the data
    kit.data would produce (its generator code included) and the training code version."""
    from kit.data import dataset_key

    key = {
        "data": dataset_key(lab.catalog_lab, seed, source, size),
        "lab_toml_sha256": lab_toml_digest(lab.toml_path),
        "seed": int(seed),
        "source": folder_content_hash(source) if source is not None else None,
        "size": size,
        "code": TRAIN_CODE_VERSION,
    }
    if base is not None:
        key["base"] = base  # own classes: the model whose layers transfer learning starts from
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
