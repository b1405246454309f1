"""The committed reference models in models/<lab>/: what `kit flash` uses when nothing was trained."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
