"""A .tflite compiled to kit's generated C, cached by what it depends on.

Compiled by kit.compile.cache.compile_cached, the pipeline `kit convert` uses too: the cache
key covers the model bytes, the model id, the labels and the compiler's sources, so a change
to the compiler regenerates the C while repeated runs (and `kit convert` of the same model
under the same id) reuse it. The result is kit.compile's CompiledModel (the same type `kit
convert` returns), built from the cache's metadata on a hit.
"""

from __future__ import annotations

import json
from pathlib import Path

from kit.compile import find_card
from kit.compile.cache import compile_cached, model_digest, read_model_bytes
from kit.compile.compiled import CompiledModel


def compile_model(model: Path | bytes, model_id: str | None = None, labels: list[str] | None = None) -> CompiledModel:
    """Plan and emit C for a .tflite (path or bytes), cached by kit.compile.cache.compile_cached.

    The cache folder is the one `kit convert` uses: for a path, the labels default to those of
    the model card beside it (when its sha256 matches), as in `convert`. A model kit's planner
    refuses raises its ModelError. No TFLM arrays: the host runner runs kit's C only.
    """
    data = read_model_bytes(model)
    sha256 = model_digest(data)
    if model_id is None:
        model_id = Path(model).stem if isinstance(model, (str, Path)) else "model"
    if labels is None and isinstance(model, (str, Path)):
        labels = _card_labels(Path(model), sha256)
    compiled = compile_cached(data, model_id, labels, sha256=sha256)
    if compiled.refusal is not None:
        raise compiled.refusal
    return compiled


def _card_labels(path: Path, sha256: str) -> list[str]:
    card_path = find_card(path, sha256)
    if card_path is None:
        return []
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError):
        return []
    return [str(x) for x in card.get("labels") or []]


__all__ = ["CompiledModel", "compile_model"]
