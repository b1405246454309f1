"""kit's model compiler: .tflite in, kit's ahead-of-time C plan (and TFLM C arrays) out.

`convert()` reads and checks the model (kit.compile.tflite, kit.compile.planner), plans the
arena (kit.compile.memory), writes `out/kit/` (kit.compile.emit_c) and, with `tflm=True`,
`out/tflm/` (kit.compile.tflm_arrays, after the TFLM arena probe), and returns a
`CompiledModel` (kit.compile.compiled) holding every fact later stages need. When kit's
planner refuses the model (an op it does not run) the TFLM arrays are still written; the
result then has `kit_dir=None` and the ModelError in `refusal`, which `require_kit()` raises
for anything needing kit's C model. Results are cached by a hash of the model, the labels, the
model id and the compiler's own source (kit.compile.cache.compile_cached, shared with
kit.runtime_host.compile_model), so a second identical call neither parses nor plans.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

from kit.compile.cache import SUMMARY_NAME, compile_cached, model_digest, read_model_bytes
from kit.compile.compiled import CompiledModel, TensorFacts, TflmFacts
from kit.errors import ModelError
from kit.paths import make_dir


def _read_model_bytes(tflite_path: Path) -> bytes:
    return read_model_bytes(Path(tflite_path), "pass the path of a .tflite file (see `kit train --json`)")


def find_card(tflite_path: Path, sha256: str) -> Path | None:
    """The model card beside the .tflite (as `kit train` writes it), if it describes this model."""
    candidate = Path(tflite_path).parent / "card.json"
    try:
        card = json.loads(candidate.read_text())
    except (OSError, ValueError):
        return None
    return candidate if isinstance(card, dict) and card.get("sha256") == sha256 else None


def _card(card_path: Path | None) -> dict[str, Any]:
    if card_path is None:
        return {}
    try:
        card = json.loads(Path(card_path).read_text())
    except (OSError, ValueError) as error:
        raise ModelError(f"cannot read the model card {card_path}: {error}", "pass a card.json written by `kit train`") from None
    return card if isinstance(card, dict) else {}


def convert(
    tflite_path: str | Path,
    out_dir: str | Path | None = None,
    labels: list[str] | None = None,
    model_id: str | None = None,
    card_path: str | Path | None = None,
    *,
    tflm: bool = False,
) -> CompiledModel:
    """Compile a .tflite into `out_dir/kit/` (kit's plan in C) and, with `tflm`, `out_dir/tflm/`.

    `tflm` asks for the TFLM C arrays and the TFLM arena probe (seconds, in a child process):
    `kit convert` and a real board's TFLM engine need them, kit's own engine does not. Without
    `out_dir` the result stays in the compile cache. A card (given, or the `card.json` beside
    the model when its sha256 matches) lends its labels and lab name when none are given and is
    named in `card_path`; writing kit's arena into it is the caller's choice
    (`kit.train.card.update_card`: the card belongs to training, a layer above this one). The
    model bytes are read and hashed once.
    """
    data = _read_model_bytes(Path(tflite_path))
    sha256 = model_digest(data)
    card_file = Path(card_path) if card_path else find_card(Path(tflite_path), sha256)
    card = _card(card_file)
    labels = list(labels) if labels is not None else [str(x) for x in card.get("labels") or []]
    model_id = model_id or str(card.get("lab") or "") or Path(tflite_path).stem

    compiled = compile_cached(data, model_id, labels, tflm=tflm, sha256=sha256)
    folder = compiled.out_dir
    target = Path(out_dir) if out_dir is not None else folder
    if target.resolve() != folder.resolve():
        _copy_outputs(compiled, target)
    return dataclasses.replace(compiled, out_dir=target, card_path=card_file)


def _copy_outputs(compiled: CompiledModel, target: Path) -> None:
    """The cache folder's C (kit/, and tflm/ with summary.json when produced) into --out."""
    folder = compiled.out_dir
    make_dir(target, "--out folder", "pass --out a folder you can write to (or leave it out to use kit's cache)")
    parts = (["kit"] if compiled.kit_dir is not None else []) + (["tflm"] if compiled.tflm is not None else [])
    for sub in parts:
        shutil.copytree(folder / sub, target / sub, dirs_exist_ok=True)
    if compiled.tflm is not None:
        shutil.copy2(folder / SUMMARY_NAME, target / SUMMARY_NAME)


__all__ = ["CompiledModel", "TensorFacts", "TflmFacts", "convert", "find_card"]
