"""kit's model compiler: .tflite in, TFLM C arrays and kit's ahead-of-time C plan out.

`convert()` reads and checks the model (kit.compile.tflite, kit.compile.planner), plans the
arena (kit.compile.memory), writes `out/tflm/` (kit.compile.tflm_arrays) and `out/kit/`
(kit.compile.emit_c) and returns a summary. When kit's planner refuses the model (an op it
does not run) the TFLM arrays are still written; the result then has `kit_dir=None` and the
ModelError in `refusal`, which `require_kit()` raises for anything needing kit's C model. Results are cached by a hash of the model, the
labels, the model id and the compiler's own source (kit.compile.cache.compile_cached, shared
with kit.runtime_host.compile_model), so a second identical call skips planning, the TFLM
arena probe and rewriting.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kit.compile.cache import SUMMARY_NAME, compile_cached, read_model_bytes
from kit.errors import ModelError
from kit.paths import make_dir



@dataclass
class ConvertResult:
    """What `convert` produced and what it costs (arena kit vs TFLM, weights, flash)."""

    out_dir: Path
    tflm_dir: Path
    kit_dir: Path | None
    files: list[Path]
    model_id: str
    sha256: str
    ops: list[str]
    tensors: int
    arena_bytes_kit: int
    arena_bytes_tflm: int
    tensor_arena_size: int
    weight_bytes: int
    model_bytes: int
    macs: int
    labels: list[str]
    cached: bool = False
    card_path: Path | None = None
    card_updated: bool = False
    refusal: ModelError | None = None
    _entry: Any = field(default=None, repr=False, compare=False)

    @property
    def plan(self) -> Any:
        """kit's Plan (None when the planner refused the model); built on first use after a cache hit."""
        return self._entry.plan() if self._entry is not None else None

    def require_kit(self) -> Path:
        """kit's C model folder, or the planner's refusal (a ModelError) when there is none."""
        if self.refusal is not None:
            raise self.refusal
        if self.kit_dir is None:
            raise ModelError("the compiled model has no kit C code (kit_model.c)", "run `kit convert MODEL.tflite`")
        return self.kit_dir

    @property
    def op_counts(self) -> dict[str, int]:
        return dict(Counter(self.ops))

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "sha256": self.sha256,
            "out_dir": str(self.out_dir),
            "tflm_dir": str(self.tflm_dir),
            "kit_dir": str(self.kit_dir) if self.kit_dir else None,
            "files": [str(p) for p in self.files],
            "ops": self.ops,
            "op_counts": self.op_counts,
            "tensors": self.tensors,
            "arena_bytes_kit": self.arena_bytes_kit,
            "arena_bytes_tflm": self.arena_bytes_tflm,
            "tensor_arena_size": self.tensor_arena_size,
            "weight_bytes": self.weight_bytes,
            "model_bytes": self.model_bytes,
            "macs": self.macs,
            "labels": self.labels,
            "cached": self.cached,
            "card_path": str(self.card_path) if self.card_path else None,
            "card_updated": self.card_updated,
            "kit_refusal": {"error": self.refusal.message, "fix": self.refusal.hint} if self.refusal else None,
        }


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


def update_card(card_path: Path, arena_bytes_kit: int) -> bool:
    """Write kit's arena bytes into the card (JSON, and the markdown table when kit.train is present).

    Only when the value changes (a converted card stays byte-identical, so models/<lab>/ stays
    clean). A card that cannot be read or written, or is not a JSON object, is skipped with a
    warning: the card is a record beside the model, not part of the compilation. True if written.
    """
    import warnings

    path = Path(card_path)
    try:
        card = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        warnings.warn(f"model card {path} not updated: {error}", stacklevel=2)
        return False
    if not isinstance(card, dict):
        warnings.warn(f"model card {path} not updated: it is not a JSON object", stacklevel=2)
        return False
    if card.get("arena_bytes_kit") == int(arena_bytes_kit):
        return False
    card["arena_bytes_kit"] = int(arena_bytes_kit)
    try:
        path.write_text(json.dumps(card, indent=2) + "\n")
    except OSError as error:
        warnings.warn(f"model card {path} not updated: {error}", stacklevel=2)
        return False
    markdown = path.with_suffix(".md")
    if markdown.exists():
        try:
            from kit.train.card import card_markdown

            markdown.write_text(card_markdown(card))
        except Exception:  # the markdown is a convenience view; the JSON is the record
            pass
    return True


def convert(
    tflite_path: str | Path,
    out_dir: str | Path | None = None,
    labels: list[str] | None = None,
    model_id: str | None = None,
    card_path: str | Path | None = None,
) -> ConvertResult:
    """Compile a .tflite into `out_dir/tflm/` (TFLM C arrays) and `out_dir/kit/` (kit's plan in C).

    Without `out_dir` the result stays in the compile cache. A card (given, or the `card.json`
    beside the model when its sha256 matches) receives `arena_bytes_kit` and lends its labels
    and lab name when none are given.
    """
    data = _read_model_bytes(Path(tflite_path))
    sha256 = hashlib.sha256(data).hexdigest()
    card_file = Path(card_path) if card_path else find_card(Path(tflite_path), sha256)
    card = _card(card_file)
    labels = list(labels) if labels is not None else [str(x) for x in card.get("labels") or []]
    model_id = model_id or str(card.get("lab") or "") or Path(tflite_path).stem

    entry = compile_cached(data, model_id, labels, tflm=True)
    refusal = entry.refusal
    summary, folder, meta = entry.summary or {}, entry.folder, entry.meta
    target = Path(out_dir) if out_dir is not None else folder
    if target.resolve() != folder.resolve():
        make_dir(target, "--out folder", "pass --out a folder you can write to (or leave it out to use kit's cache)")
        for sub in ("tflm", "kit"):
            if (folder / sub).exists():
                shutil.copytree(folder / sub, target / sub, dirs_exist_ok=True)
        shutil.copy2(folder / SUMMARY_NAME, target / SUMMARY_NAME)
    card_updated = card_file is not None and refusal is None and update_card(card_file, int(meta["arena_bytes"]))
    return ConvertResult(
        out_dir=target,
        tflm_dir=target / "tflm",
        kit_dir=(target / "kit") if summary.get("kit_emitted") else None,
        files=[target / f for f in summary["files"]],
        model_id=model_id,
        sha256=sha256,
        ops=list(meta["model_ops"]),
        tensors=int(meta["tensors"]),
        arena_bytes_kit=int(meta["arena_bytes"]),
        arena_bytes_tflm=int(summary["arena_bytes_tflm"]),
        tensor_arena_size=int(summary["tensor_arena_size"]),
        weight_bytes=int(meta["weight_bytes"]),
        model_bytes=len(data),
        macs=int(summary["macs"]),
        labels=labels,
        cached=entry.cached,
        card_path=card_file,
        card_updated=card_updated,
        refusal=refusal,
        _entry=entry,
    )


__all__ = ["ConvertResult", "convert", "find_card", "update_card"]
