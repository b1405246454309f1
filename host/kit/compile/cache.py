"""The one compile pipeline: model bytes -> plan -> kit's C (and TFLM arrays) in a cache folder.

`compile_cached` is shared by `kit.compile.convert` and `kit.runtime_host.compile_model`, so a
model is planned and emitted once per (model bytes, model id, labels, compiler source). The
folder `cache_dir("compiled")/model-<hash>/` holds:

- `kit.json`: what the plan says (model id, sha256, arena and weight bytes, ops, input/output
  shape and dtype) or the planner's refusal (message, hint), so a cache hit needs no plan;
- `kit/`: kit_model.h and kit_model.c (absent when the planner refused the model);
- `tflm/` and `summary.json`: TFLM C arrays and convert's summary, written on the first
  `compile_cached(..., tflm=True)` (the TFLM arena probe runs in a child process).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kit.errors import ModelError

SUMMARY_NAME = "summary.json"
KIT_META_NAME = "kit.json"
_COMPILER_DIR = Path(__file__).resolve().parent


def compiler_fingerprint() -> str:
    """A hash of every kit/compile/*.py (planner, emitters, this file): changing one recompiles."""
    digest = hashlib.sha256()
    for path in sorted(_COMPILER_DIR.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(data: bytes, labels: list[str], model_id: str) -> str:
    digest = hashlib.sha256()
    for part in (hashlib.sha256(data).hexdigest(), json.dumps(list(labels)), model_id, compiler_fingerprint()):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def read_model_bytes(model: str | Path | bytes | bytearray | memoryview, hint: str | None = None) -> bytes:
    """The .tflite bytes of a path or of bytes; a missing file is a ModelError."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model)
    path = Path(model)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}", hint or "pass the path of a .tflite file")
    return path.read_bytes()


@dataclass
class CompiledEntry:
    """One cache folder: the plan's facts (`meta`), kit's C folder and, if asked, the TFLM arrays."""

    folder: Path
    data: bytes = field(repr=False)
    model_id: str
    labels: list[str]
    meta: dict[str, Any]
    cached: bool
    summary: dict[str, Any] | None = None
    _plan: Any = field(default=None, repr=False)

    @property
    def sha256(self) -> str:
        return str(self.meta["sha256"])

    @property
    def kit_dir(self) -> Path | None:
        return self.folder / "kit" if self.meta.get("refusal") is None else None

    @property
    def refusal(self) -> ModelError | None:
        refused = self.meta.get("refusal")
        return None if refused is None else ModelError(refused["message"], refused.get("hint"))

    def plan(self) -> Any:
        """The Plan (None when the planner refused the model); rebuilt only on a cache hit that asks."""
        if self._plan is None and self.meta.get("refusal") is None:
            from kit.compile.planner import build_plan
            from kit.compile.tflite import load_model

            self._plan = build_plan(load_model(self.data), model_id=self.model_id)
        return self._plan


def _kit_meta(model, plan, model_id: str, refusal: ModelError | None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "model_id": model_id,
        "sha256": model.sha256,
        "model_ops": list(model.op_names),
        "tensors": len(model.tensors),
        "refusal": None if refusal is None else {"message": refusal.message, "hint": refusal.hint},
    }
    if plan is None:
        meta["arena_bytes"] = 0
        meta["weight_bytes"] = sum(len(t.data or b"") for t in model.tensors if t.is_constant)
        return meta
    meta.update(
        arena_bytes=int(plan.arena_bytes),
        weight_bytes=int(plan.weight_bytes),
        input_shape=[int(x) for x in plan.input.shape],
        input_dtype=plan.input.dtype,
        output_shape=[int(x) for x in plan.output.shape],
        output_dtype=plan.output.dtype,
        op_names=[op.op for op in plan.ops],
    )
    return meta


def _load_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _write_json(path: Path, value: dict[str, Any]) -> None:
    partial = path.with_name(path.name + f".tmp{os.getpid()}")
    partial.write_text(json.dumps(value, indent=2) + "\n")
    partial.replace(path)


def _compile_kit(folder: Path, data: bytes, model_id: str) -> tuple[dict[str, Any], Any]:
    """Load, plan and emit into a staging folder, then move it into place (readers never see half)."""
    from kit.compile import emit_c
    from kit.compile.planner import build_plan
    from kit.compile.tflite import load_model

    model = load_model(data)
    refusal: ModelError | None = None
    try:
        plan = build_plan(model, model_id=model_id)
    except ModelError as error:  # kit cannot run it; TFLM may still
        plan, refusal = None, error
    staging = folder.with_name(folder.name + f".tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    if plan is not None:
        emit_c.emit_model(plan, staging / "kit")
    meta = _kit_meta(model, plan, model_id, refusal)
    _write_json(staging / KIT_META_NAME, meta)
    shutil.rmtree(folder, ignore_errors=True)  # an incomplete earlier attempt
    staging.rename(folder)
    return meta, plan


def _compile_tflm(entry: CompiledEntry) -> dict[str, Any]:
    from kit.compile.macs import total_macs
    from kit.compile.tflite import load_model
    from kit.compile.tflm_arrays import write_tflm_arrays
    from kit.tflm import measure_arena_bytes

    folder, data = entry.folder, entry.data
    model = load_model(data)
    arena_tflm = measure_arena_bytes(data)
    staging = folder / f"tflm.tmp{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    arrays = write_tflm_arrays(data, model, staging, arena_tflm, entry.labels)
    shutil.rmtree(folder / "tflm", ignore_errors=True)
    staging.rename(folder / "tflm")
    kit_dir = entry.kit_dir
    kit_files = [kit_dir / "kit_model.h", kit_dir / "kit_model.c"] if kit_dir is not None else []
    tflm_files = [folder / "tflm" / Path(p).name for p in arrays.files]
    summary = {
        "model_id": entry.model_id,
        "sha256": entry.sha256,
        "files": [str(p.relative_to(folder)) for p in tflm_files + kit_files],
        "arena_bytes_tflm": arena_tflm,
        "tensor_arena_size": arrays.arena_bytes_declared,
        "macs": total_macs(model),
        "labels": entry.labels,
        "kit_emitted": bool(kit_files),
    }
    _write_json(folder / SUMMARY_NAME, summary)
    return summary


def compile_cached(data: bytes, model_id: str, labels: list[str] | None = None, *, tflm: bool = False) -> CompiledEntry:
    """Plan and emit kit's C for `data` (cached); with `tflm`, also the TFLM arrays and summary.

    A planner refusal is recorded, not raised (`entry.refusal`); a model kit.compile cannot read
    raises ModelError, and so does a TFLM failure (with the refusal, if any, in its message). `entry.cached` is True when nothing had to be compiled for this call.
    """
    from kit.paths import cache_dir

    labels = [str(x) for x in labels or []]
    folder = cache_dir("compiled") / ("model-" + cache_key(data, labels, model_id))
    meta = _load_json(folder / KIT_META_NAME)
    if meta is not None and meta.get("refusal") is None and not (folder / "kit" / "kit_model.c").is_file():
        meta = None
    cached = meta is not None
    plan = None
    if meta is None:
        meta, plan = _compile_kit(folder, data, model_id)
    entry = CompiledEntry(folder, data, model_id, labels, meta, cached, _plan=plan)
    if tflm:
        summary = _load_json(folder / SUMMARY_NAME) if (folder / "tflm").is_dir() else None
        if summary is None:
            entry.cached = False
            try:
                summary = _compile_tflm(entry)
            except ModelError as error:
                refusal = entry.refusal
                if refusal is None:
                    raise
                raise ModelError(f"{refusal.message}; and {error.message}", refusal.hint) from None
        entry.summary = summary
    return entry


__all__ = ["CompiledEntry", "compile_cached", "compiler_fingerprint", "read_model_bytes", "SUMMARY_NAME"]
