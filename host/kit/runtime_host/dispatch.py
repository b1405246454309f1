"""`kit invoke`'s model argument: a .tflite path, or a lab name meaning its reference model.

Which board runs it is the board's target's business (kit.targets.invoke_on_board)."""

from __future__ import annotations

from pathlib import Path

from kit import paths
from kit.catalog import get_lab
from kit.errors import CatalogError, ModelError

def _card_model_id(path: Path) -> str | None:
    """The lab named by the model card beside `path` when it describes this model (as `convert` does)."""
    import hashlib
    import json

    from kit.compile import find_card

    card_path = find_card(path, hashlib.sha256(path.read_bytes()).hexdigest())
    if card_path is None:
        return None
    try:
        lab = json.loads(card_path.read_text()).get("lab")
    except (OSError, ValueError):
        return None
    return str(lab) if lab else None


def resolve_model(model: str | Path) -> tuple[Path, str]:
    """A .tflite path, or a lab name meaning the lab's reference model; returns (path, model id).

    The model id of a path is the lab of the model card beside it when the card's sha256 matches
    (the id `kit convert` gives it, so both share one compiled copy), else the file's stem.
    """
    path = Path(model)
    if path.suffix == ".tflite" or path.exists():
        if not path.is_file():
            raise ModelError(f"model file not found: {path}", "pass an existing .tflite file or a lab name (kit labs)")
        return path, _card_model_id(path) or path.stem
    try:
        lab = get_lab(str(model))
    except CatalogError as error:
        raise ModelError(
            f"{model!r} is neither a .tflite file nor a lab name",
            error.hint or "pass a .tflite path or a lab name from `kit labs`",
        ) from error
    reference = paths.MODELS_DIR / lab.name / "model.tflite"
    if not reference.is_file():
        raise ModelError(
            f"lab {lab.name} has no reference model at {reference}",
            f"train it first: kit train {lab.name}",
        )
    return reference, lab.name
