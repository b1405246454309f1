"""A .tflite compiled to kit's generated C, cached by what it depends on.

The cache key covers the model bytes, the model id and the emitter/planner sources, so a
change to the compiler regenerates the C while repeated runs reuse it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from kit import paths
from kit.compile import emit_c
from kit.compile.plan import Plan
from kit.errors import ModelError

_COMPILER_DIR = Path(emit_c.__file__).resolve().parent
_META_FILE = "compiled.json"


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
        """Identifies the generated C (directory name in the cache)."""
        return self.directory.name


def _compiler_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted(_COMPILER_DIR.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _model_bytes(model: Path | bytes) -> bytes:
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model)
    path = Path(model)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}", "pass the path of a .tflite file")
    return path.read_bytes()


def _from_plan(directory: Path, plan: Plan) -> CompiledModel:
    return CompiledModel(
        directory=directory,
        model_id=plan.model_id,
        model_sha256=plan.model_sha256,
        input_shape=tuple(plan.input.shape),
        input_dtype=plan.input.dtype,
        output_shape=tuple(plan.output.shape),
        output_dtype=plan.output.dtype,
        arena_bytes=plan.arena_bytes,
        op_names=tuple(op.op for op in plan.ops),
    )


def _save(compiled: CompiledModel) -> None:
    meta = {
        "model_id": compiled.model_id,
        "model_sha256": compiled.model_sha256,
        "input_shape": list(compiled.input_shape),
        "input_dtype": compiled.input_dtype,
        "output_shape": list(compiled.output_shape),
        "output_dtype": compiled.output_dtype,
        "arena_bytes": compiled.arena_bytes,
        "op_names": list(compiled.op_names),
    }
    (compiled.directory / _META_FILE).write_text(json.dumps(meta, indent=1))


def _load(directory: Path) -> CompiledModel | None:
    meta_path = directory / _META_FILE
    if not (meta_path.is_file() and (directory / "kit_model.c").is_file()):
        return None
    meta = json.loads(meta_path.read_text())
    return CompiledModel(
        directory=directory,
        model_id=meta["model_id"],
        model_sha256=meta["model_sha256"],
        input_shape=tuple(meta["input_shape"]),
        input_dtype=meta["input_dtype"],
        output_shape=tuple(meta["output_shape"]),
        output_dtype=meta["output_dtype"],
        arena_bytes=int(meta["arena_bytes"]),
        op_names=tuple(meta["op_names"]),
    )


def compile_model(model: Path | bytes, model_id: str | None = None) -> CompiledModel:
    """Plan and emit C for a .tflite (path or bytes); cached under cache_dir('compiled')."""
    from kit.compile.planner import build_plan
    from kit.compile.tflite import load_model

    data = _model_bytes(model)
    if model_id is None:
        model_id = Path(model).stem if isinstance(model, (str, Path)) else "model"
    key = hashlib.sha256(data + model_id.encode() + _compiler_fingerprint().encode()).hexdigest()[:24]
    directory = paths.cache_dir("compiled") / key
    cached = _load(directory)
    if cached is not None:
        return cached
    plan = build_plan(load_model(data), model_id=model_id)
    staging = directory.with_name(directory.name + f".tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    emit_c.emit_model(plan, staging)
    _save(_from_plan(staging, plan))
    shutil.rmtree(directory, ignore_errors=True)  # an incomplete earlier attempt
    staging.rename(directory)
    compiled = _load(directory)
    assert compiled is not None
    return compiled
