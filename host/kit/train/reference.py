"""The committed reference models in models/<lab>/: what `kit flash` uses when nothing was trained."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from kit.errors import ModelError
from kit.paths import MODELS_DIR


def reference_dir(lab: str) -> Path:
    return MODELS_DIR / lab


def reference_card(lab: str) -> tuple[dict[str, Any], Path] | None:
    """(card, .tflite path) of the lab's reference model, or None when there is none."""
    folder = reference_dir(lab)
    card_path, tflite = folder / "card.json", folder / "model.tflite"
    if not (card_path.is_file() and tflite.is_file()):
        return None
    try:
        return json.loads(card_path.read_text()), tflite
    except json.JSONDecodeError as error:
        raise ModelError(f"{card_path} is not valid JSON: {error}", f"regenerate it: kit train {lab} --out models/{lab}") from error


def reference_model(lab: str) -> Path:
    """Path of the lab's committed int8 reference model."""
    found = reference_card(lab)
    if found is None:
        known = ", ".join(list_reference_labs()) or "none"
        raise ModelError(
            f"no reference model for lab '{lab}' in {MODELS_DIR} (available: {known})",
            f"train it: kit train {lab} (or regenerate the reference: scripts/make_reference_models.sh {lab})",
        )
    return found[1]


def list_reference_labs() -> list[str]:
    return sorted(p.parent.name for p in MODELS_DIR.glob("*/model.tflite") if (p.parent / "card.json").is_file())


def list_reference_models() -> list[dict[str, Any]]:
    """One summary per reference model: lab, size, params, MACs, accuracy, sha256, path."""
    rows = []
    for lab in list_reference_labs():
        card, tflite = reference_card(lab)  # type: ignore[misc]
        rows.append({
            "lab": lab,
            "path": str(tflite),
            "flash_bytes": tflite.stat().st_size,
            "params": card.get("params"),
            "macs_total": card.get("macs_total"),
            "accuracy_float": card.get("accuracy_float"),
            "accuracy_int8": card.get("accuracy_int8"),
            "arena_bytes_tflm": card.get("arena_bytes_tflm"),
            "sha256": card.get("sha256"),
        })
    return rows


def model_file(path: str | Path) -> Path:
    """A --model path the user gave, checked before anything is built."""
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise ModelError(f"model file not found: {resolved}", hint="pass the path of an int8 .tflite file with --model")
    return resolved


def choose_model(lab: str | None, model: Path | str | None, log: Callable[[str], None] | None = None) -> Path:
    """--model, else the lab's committed reference model, else the cached/trained one
    (what `kit flash`, `kit project` and `kit validate` run when no model is named)."""
    from kit.catalog import get_lab
    from kit.errors import KitError

    if lab is not None:
        get_lab(lab)
    if model is not None:
        return model_file(model)
    if lab is None:
        raise KitError("no model to flash: neither a lab nor --model was given",
                       hint="name a lab (`kit labs` lists them) or give --model FILE.tflite")
    found = reference_card(lab)
    if found is not None:
        if log is not None:
            log(f"model: reference model {found[1]}")
        return found[1]
    from kit.train import train_lab

    if log is not None:
        log(f"model: no reference model for {lab}; training it (cached after the first time)")
    return Path(train_lab(lab, progress=log is not None).tflite_path)
