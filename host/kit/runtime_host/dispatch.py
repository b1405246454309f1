"""`kit invoke` on any board: resolve the model, compile it, hand it to the board's invoker.

Invokers are registered by board kind ("host", "emulated", ...). This module registers the
host one; the device runner registers the emulated boards with `register_invoker`, reusing
`compile_model` and its own build/upload steps. Keeping the dispatch here means the CLI never
needs to know which boards exist.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from kit import paths
from kit.catalog import Board, get_board, get_lab
from kit.errors import CatalogError, KitError, ModelError
from kit.runtime_host.compiled import CompiledModel, compile_model
from kit.runtime_host.runner import invoke as invoke_host

Invoker = Callable[[Board, CompiledModel, np.ndarray], np.ndarray]

_INVOKERS: dict[str, Invoker] = {}


def register_invoker(kind: str, invoker: Invoker) -> None:
    """Make `kit invoke` run models on boards of `kind` through `invoker`."""
    _INVOKERS[kind] = invoker


def registered_kinds() -> list[str]:
    return sorted(_INVOKERS)


def _host_invoker(board: Board, compiled: CompiledModel, inputs: np.ndarray) -> np.ndarray:
    return invoke_host(compiled, inputs)


register_invoker("host", _host_invoker)


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


def invoke_on_board(board_name: str, model: str | Path, inputs: np.ndarray) -> np.ndarray:
    """Compile `model` for kit's runtime and run every input on `board_name`."""
    board = get_board(board_name)
    if board.kind == "emulated":
        import kit.device.invoke  # noqa: F401  (the device runner registers the emulated boards)
    invoker = _INVOKERS.get(board.kind)
    if invoker is None:
        raise KitError(
            f"kit invoke cannot run on {board.name} ({board.kind} board) yet",
            f"use one of the boards of kind: {', '.join(registered_kinds())} (see kit boards)",
        )
    path, model_id = resolve_model(model)
    compiled = compile_model(path, model_id=model_id)
    return invoker(board, compiled, inputs)
