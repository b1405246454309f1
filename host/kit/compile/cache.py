"""The one compile pipeline: model bytes -> plan -> kit's C (and TFLM arrays) in a cache folder.

`compile_cached` is shared by `kit.compile.convert` and `kit.runtime_host.compile_model`, so a
model is planned and emitted once per (model bytes, model id, labels, compiler source). It
returns a kit.compile.compiled.CompiledModel. The folder `cache_dir("compiled")/model-<hash>/`
holds:

- `kit.json`: every fact later stages read (model id, sha256, ops, input/output tensors with
  quantization, kit arena, weight and model bytes, MACs) or the planner's refusal (message,
  hint), so a cache hit neither parses nor plans the model;
- `kit/`: kit_model.h and kit_model.c (absent when the planner refused the model);
- `tflm/` and `summary.json`: TFLM C arrays and convert's summary, written only when a caller
  asks (`compile_cached(..., tflm=True)`: `kit convert`, a real board's TFLM engine). The
  TFLM arena probe runs in a child process and takes seconds, so an emulated `kit flash`
  does not ask; an entry written without them gets them added on the first call that asks.

The model bytes are hashed once per call (`model_digest`; callers that already hold the digest
pass it as `sha256`), and that digest is handed to the parser instead of hashing again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from kit.compile.compiled import CompiledModel, TensorFacts, TflmFacts
from kit.errors import ModelError

SUMMARY_NAME = "summary.json"
KIT_META_NAME = "kit.json"
_COMPILER_DIR = Path(__file__).resolve().parent
# kit.json keys a cache hit builds the CompiledModel from (an entry without one is recompiled).
_META_KEYS = ("model_id", "sha256", "model_ops", "tensors", "refusal", "arena_bytes", "weight_bytes",
              "model_bytes", "macs", "inputs", "outputs")


def model_digest(data: bytes) -> str:
    """sha256 of the model bytes: the one place the compile pipeline hashes them."""
    return hashlib.sha256(data).hexdigest()


def compiler_fingerprint() -> str:
    """A hash of every kit/compile/*.py (planner, emitters, this file): changing one recompiles."""
    digest = hashlib.sha256()
    for path in sorted(_COMPILER_DIR.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(sha256: str, labels: list[str], model_id: str) -> str:
    """The cache folder's name from the model's digest (not its bytes: they are hashed once)."""
    digest = hashlib.sha256()
    for part in (sha256, json.dumps(list(labels)), model_id, compiler_fingerprint()):
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


def _kit_meta(model: Any, data: bytes, plan: Any, model_id: str, refusal: ModelError | None) -> dict[str, Any]:
    """What kit.json records: everything a CompiledModel holds, read from the model and its plan."""
    from kit.compile.macs import total_macs

    constant_bytes = sum(len(t.data or b"") for t in model.tensors if t.is_constant)
    return {
        "model_id": model_id,
        "sha256": model.sha256,
        "model_ops": list(model.op_names),
        "kit_ops": [op.op for op in plan.ops] if plan is not None else [],
        "tensors": len(model.tensors),
        "refusal": None if refusal is None else {"message": refusal.message, "hint": refusal.hint},
        "arena_bytes": int(plan.arena_bytes) if plan is not None else 0,
        "weight_bytes": int(plan.weight_bytes) if plan is not None else constant_bytes,
        "model_bytes": len(data),
        "macs": int(total_macs(model)),
        "inputs": [TensorFacts.of_tensor(model.tensors[i]).to_json() for i in model.inputs],
        "outputs": [TensorFacts.of_tensor(model.tensors[i]).to_json() for i in model.outputs],
    }


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


def _compile_kit(folder: Path, data: bytes, model: Any, model_id: str) -> tuple[dict[str, Any], Any]:
    """Plan and emit into a staging folder, then move it into place (readers never see half)."""
    from kit.compile import emit_c
    from kit.compile.planner import build_plan

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
    meta = _kit_meta(model, data, plan, model_id, refusal)
    _write_json(staging / KIT_META_NAME, meta)
    _move_into_place(staging, folder, folder / KIT_META_NAME)
    return meta, plan


def _move_into_place(staging: Path, folder: Path, complete_marker: Path) -> None:
    """Rename `staging` to `folder`. Another process compiling the same model at the same time
    (a farm, parallel tests) may have put an identical result there first: keep theirs (the key
    is a hash of everything that makes it) and drop ours, instead of deleting a folder someone
    may be reading or failing on a non-empty target."""
    if not complete_marker.is_file():
        shutil.rmtree(folder, ignore_errors=True)  # an incomplete earlier attempt
    try:
        staging.rename(folder)
    except OSError:
        if not complete_marker.is_file():
            raise
        shutil.rmtree(staging, ignore_errors=True)


def _compile_tflm(folder: Path, data: bytes, model: Any, meta: dict[str, Any], labels: list[str]) -> dict[str, Any]:
    """The TFLM arena probe (a child process) and the TFLM arrays, added to the cache folder."""
    from kit.compile.tflm_arrays import write_tflm_arrays
    from kit.tflm import measure_arena_bytes

    arena_tflm = measure_arena_bytes(data)
    staging = folder / f"tflm.tmp{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    arrays = write_tflm_arrays(data, model, staging, arena_tflm, labels)
    _move_into_place(staging, folder / "tflm", folder / "tflm" / "model_data.cc")
    kit_emitted = meta.get("refusal") is None
    kit_files = ["kit/kit_model.h", "kit/kit_model.c"] if kit_emitted else []
    summary = {
        "model_id": meta["model_id"],
        "sha256": meta["sha256"],
        "files": [f"tflm/{Path(p).name}" for p in arrays.files] + kit_files,
        "arena_bytes_tflm": arena_tflm,
        "tensor_arena_size": arrays.arena_bytes_declared,
        "macs": int(meta["macs"]),
        "labels": labels,
        "kit_emitted": kit_emitted,
    }
    _write_json(folder / SUMMARY_NAME, summary)
    return summary


def _tflm_facts(summary: dict[str, Any] | None) -> TflmFacts | None:
    if summary is None:
        return None
    return TflmFacts(
        arena_bytes=int(summary["arena_bytes_tflm"]),
        tensor_arena_size=int(summary["tensor_arena_size"]),
        files=tuple(Path(f).name for f in summary["files"] if str(f).startswith("tflm/")),
    )


def _compiled(folder: Path, data: bytes, meta: dict[str, Any], summary: dict[str, Any] | None,
              labels: list[str], cached: bool, plan: Any) -> CompiledModel:
    """The CompiledModel from kit.json (and summary.json): no parse, no plan."""
    refused = meta.get("refusal")
    return CompiledModel(
        out_dir=folder,
        key=folder.name,
        model_id=str(meta["model_id"]),
        sha256=str(meta["sha256"]),
        labels=list(labels),
        ops=[str(op) for op in meta["model_ops"]],
        kit_ops=[str(op) for op in meta.get("kit_ops", [])],
        tensors=int(meta["tensors"]),
        inputs=tuple(TensorFacts.from_json(t) for t in meta["inputs"]),
        outputs=tuple(TensorFacts.from_json(t) for t in meta["outputs"]),
        arena_bytes_kit=int(meta["arena_bytes"]),
        weight_bytes=int(meta["weight_bytes"]),
        model_bytes=int(meta["model_bytes"]),
        macs=int(meta["macs"]),
        tflm=_tflm_facts(summary),
        cached=cached,
        refusal=None if refused is None else ModelError(refused["message"], refused.get("hint")),
        _data=data,
        _plan=plan,
    )


def _parse(data: bytes, sha256: str) -> Any:
    """The parsed model (imported here: a cache hit loads neither the parser nor numpy)."""
    from kit.compile.tflite import load_model

    return load_model(data, sha256=sha256)


def _cached_meta(folder: Path) -> dict[str, Any] | None:
    """kit.json of a complete entry (every key, and kit's C unless the planner refused), else None."""
    meta = _load_json(folder / KIT_META_NAME)
    if meta is None or any(key not in meta for key in _META_KEYS):
        return None
    if meta["refusal"] is None and not (folder / "kit" / "kit_model.c").is_file():
        return None
    return meta


def compile_cached(data: bytes, model_id: str, labels: list[str] | None = None, *, tflm: bool = False,
                   sha256: str | None = None) -> CompiledModel:
    """Plan and emit kit's C for `data` (cached); with `tflm`, also the TFLM arrays and summary.

    `sha256` is the digest of `data` when the caller already computed it (then the bytes are
    not hashed again). A planner refusal is recorded, not raised (`compiled.refusal`); a model
    kit.compile cannot read raises ModelError, and so does a TFLM failure (with the refusal, if
    any, in its message). `compiled.cached` is True when nothing had to be compiled for this call.
    """
    from kit.paths import cache_dir

    sha256 = sha256 or model_digest(data)
    labels = [str(x) for x in labels or []]
    folder = cache_dir("compiled") / ("model-" + cache_key(sha256, labels, model_id))
    meta = _cached_meta(folder)
    cached = meta is not None
    model = plan = None
    if meta is None:
        model = _parse(data, sha256)
        meta, plan = _compile_kit(folder, data, model, model_id)
    summary = _load_json(folder / SUMMARY_NAME) if (folder / "tflm").is_dir() else None
    if tflm and summary is None:
        cached = False
        try:
            summary = _compile_tflm(folder, data, model or _parse(data, sha256), meta, labels)
        except ModelError as error:
            refused = meta.get("refusal")
            if refused is None:
                raise
            raise ModelError(f"{refused['message']}; and {error.message}", refused.get("hint")) from None
    return _compiled(folder, data, meta, summary, labels, cached, plan)


__all__ = ["compile_cached", "compiler_fingerprint", "model_digest", "read_model_bytes", "KIT_META_NAME",
           "SUMMARY_NAME"]
