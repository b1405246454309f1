"""A .tflite compiled to kit's generated C, cached by what it depends on.

Compiled by kit.compile.cache.compile_cached, the pipeline `kit convert` uses too: the cache
key covers the model bytes, the model id, the labels and the compiler's sources, so a change
to the compiler regenerates the C while repeated runs (and `kit convert` of the same model
under the same id) reuse it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from kit.compile import find_card
from kit.compile.cache import CompiledEntry, compile_cached, read_model_bytes


@dataclass(frozen=True)
class CompiledModel:
    """Generated sources for one model plus what a runner needs to feed and read it."""

    directory: Path
    model_id: str
    model_sha256: str
    input_shape: tuple[int, ...]
    input_dtype: str
    output_shape: tuple[int, ...]
    output_dtype: str
    arena_bytes: int
    op_names: tuple[str, ...]

    @property
    def header(self) -> Path:
        return self.directory / "kit_model.h"

    @property
    def source(self) -> Path:
        return self.directory / "kit_model.c"

    @property
    def sources(self) -> list[Path]:
        return [self.source]

    @property
    def key(self) -> str:
        """Identifies the generated C (name of its cache folder)."""
        return self.directory.parent.name


def _from_entry(entry: CompiledEntry) -> CompiledModel:
    meta = entry.meta
    return CompiledModel(
        directory=entry.folder / "kit",
        model_id=meta["model_id"],
        model_sha256=meta["sha256"],
        input_shape=tuple(meta["input_shape"]),
        input_dtype=meta["input_dtype"],
        output_shape=tuple(meta["output_shape"]),
        output_dtype=meta["output_dtype"],
        arena_bytes=int(meta["arena_bytes"]),
        op_names=tuple(meta["op_names"]),
    )


def compile_model(model: Path | bytes, model_id: str | None = None, labels: list[str] | None = None) -> CompiledModel:
    """Plan and emit C for a .tflite (path or bytes), cached by kit.compile.cache.compile_cached.

    The cache folder is the one `kit convert` uses: for a path, the labels default to those of
    the model card beside it (when its sha256 matches), as in `convert`. A model kit's planner
    refuses raises its ModelError.
    """
    data = read_model_bytes(model)
    if model_id is None:
        model_id = Path(model).stem if isinstance(model, (str, Path)) else "model"
    if labels is None and isinstance(model, (str, Path)):
        labels = _card_labels(Path(model), hashlib.sha256(data).hexdigest())
    entry = compile_cached(data, model_id, labels)
    if entry.refusal is not None:
        raise entry.refusal
    return _from_entry(entry)


def _card_labels(path: Path, sha256: str) -> list[str]:
    card_path = find_card(path, sha256)
    if card_path is None:
        return []
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError):
        return []
    return [str(x) for x in card.get("labels") or []]
