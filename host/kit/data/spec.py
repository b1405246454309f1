"""What a dataset generator needs to know about a lab, whatever form the lab arrives in.

`kit.catalog` gives pydantic `Lab` objects; tests and early callers may pass a lab name or
a plain dict. Normalising here keeps every generator independent of the catalog's classes.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kit.errors import DataError
from kit.paths import LABS_DIR


@dataclass(frozen=True)
class LabSpec:
    """The parts of a lab file that decide its data: name, labels, [dataset], [features], input shape."""

    name: str
    labels: list[str]
    dataset: dict[str, Any]
    features: dict[str, Any]
    input_shape: list[int]
    task: str = "classification"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def generator(self) -> str:
        return str(self.dataset.get("generator", ""))

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The model's input shape without the batch dimension."""
        return tuple(int(d) for d in self.input_shape[1:])


def _plain(value: Any) -> Any:
    """A pydantic model, dataclass-like object or mapping as plain dicts/lists."""
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "__dict__") and not isinstance(value, (str, bytes, Path)):
        return {k: _plain(v) for k, v in vars(value).items() if not k.startswith("_")}
    return value


def _read_lab_toml(name: str) -> dict[str, Any]:
    path = LABS_DIR / name / "lab.toml"
    if not path.is_file():
        known = sorted(p.parent.name for p in LABS_DIR.glob("*/lab.toml"))
        raise DataError(f"unknown lab '{name}'", hint=f"use one of: {', '.join(known)}")
    with path.open("rb") as handle:
        return tomllib.load(handle)


def _without_unset(section: Any) -> dict[str, Any]:
    """Drop keys a catalog model left at None, so `.get(key, default)` sees them as absent."""
    return {key: value for key, value in dict(section or {}).items() if value is not None}


def lab_spec(lab: Any) -> LabSpec:
    """Accept a catalog Lab, a lab name, a lab.toml path or a dict and return a LabSpec."""
    if isinstance(lab, LabSpec):
        return lab
    if isinstance(lab, Path):
        with lab.open("rb") as handle:
            raw = tomllib.load(handle)
    elif isinstance(lab, str):
        raw = _read_lab_toml(lab)
    else:
        raw = _plain(lab)
    if not isinstance(raw, dict) or "name" not in raw:
        raise DataError(f"cannot read a lab description from {type(lab).__name__}",
                        hint="pass a kit.catalog Lab, a lab name such as 'kws', or a lab.toml path")
    io = raw.get("io") or {}
    return LabSpec(
        name=str(raw["name"]),
        labels=[str(label) for label in raw.get("labels", [])],
        dataset=_without_unset(raw.get("dataset")),
        features=_without_unset(raw.get("features")),
        input_shape=[int(d) for d in io.get("input_shape", [])],
        task=str(raw.get("task", "classification")),
    )
