"""A GGUF language model checked on the laptop before it goes to a Raspberry Pi.

kit reads the GGUF header itself (magic, version, metadata, tensor table: the format of
llama.cpp's `docs/gguf.md`) instead of trusting the file name, so a file that is not GGUF, or is
cut off, is refused before anything is copied; the header also gives what the Pi's RAM must
hold: the weights, the KV cache at the chosen context, and llama.cpp's compute buffers.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from kit.errors import KitError

MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
# GGUF metadata value types: fixed-size scalars by struct format, 8 = string, 9 = array
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
MAX_STRING_BYTES = 1 << 24      # a metadata string longer than 16 MB is a damaged file
MAX_ARRAY_ITEMS = 1 << 24
MAX_TENSORS = 1 << 20
MAX_DIMS = 8
# llama.cpp's buffers besides weights and KV cache (graph, scratch) and the Python process
# running it: an allowance, so the RAM figure is an estimate and says so.
RUNTIME_OVERHEAD_BYTES = 160 * 1024 * 1024
LOGITS_BATCH = 512              # llama.cpp's default micro-batch: logits buffer = vocabulary x batch x 4 B


class GgufError(KitError):
    """The file is not a GGUF model kit can read."""


@dataclass(frozen=True)
class GgufModel:
    """What the header says about one model file."""

    path: Path
    size_bytes: int
    version: int
    architecture: str
    name: str | None
    parameters: int
    tensors: int
    context_length: int | None
    blocks: int | None
    embedding: int | None
    heads: int | None
    heads_kv: int | None
    vocabulary: int | None

    def kv_cache_bytes(self, context: int) -> int:
        """f16 keys and values for `context` tokens in every block (llama.cpp's default cache type)."""
        if not (self.blocks and self.embedding and self.heads):
            return 0
        kv_width = self.embedding * (self.heads_kv or self.heads) // self.heads
        return 2 * self.blocks * context * kv_width * 2

    def ram_needed_bytes(self, context: int) -> int:
        """Estimated resident memory to run it: weights + KV cache + logits + runtime allowance."""
        logits = (self.vocabulary or 0) * min(context, LOGITS_BATCH) * 4
        return self.size_bytes + self.kv_cache_bytes(context) + logits + RUNTIME_OVERHEAD_BYTES

    def as_dict(self) -> dict[str, Any]:
        return {"file": str(self.path), "size_bytes": self.size_bytes, "gguf_version": self.version,
                "architecture": self.architecture, "name": self.name, "parameters": self.parameters,
                "tensors": self.tensors, "context_length": self.context_length, "blocks": self.blocks,
                "embedding": self.embedding, "vocabulary": self.vocabulary}


class _Reader:
    """Little-endian reads that name the byte offset where a damaged file ends."""

    def __init__(self, stream: BinaryIO, path: Path) -> None:
        self.stream, self.path = stream, path

    def take(self, count: int) -> bytes:
        data = self.stream.read(count)
        if len(data) != count:
            raise GgufError(f"{self.path} is cut off: its GGUF header ends at byte {self.stream.tell()}",
                            hint="the download or copy was incomplete: fetch the .gguf file again")
        return data

    def scalar(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        length = self.scalar("<Q")
        if length > MAX_STRING_BYTES:
            raise GgufError(f"{self.path} has a damaged GGUF header (a {length:,}-byte string at byte {self.stream.tell()})",
                            hint="fetch the .gguf file again")
        return self.take(length).decode("utf-8", errors="replace")

    def value(self, kind: int, keep: bool = True) -> Any:
        if kind in _SCALARS:
            return self.scalar(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item_kind, count = self.scalar("<I"), self.scalar("<Q")
            if count > MAX_ARRAY_ITEMS:
                raise GgufError(f"{self.path} has a damaged GGUF header (an array of {count:,} items)", hint="fetch the .gguf file again")
            if item_kind in _SCALARS and not keep:
                self.take(count * struct.calcsize(_SCALARS[item_kind]))
                return count
            items = [self.value(item_kind) for _ in range(count)]
            return items if keep else count
        raise GgufError(f"{self.path} has an unknown GGUF value type {kind} at byte {self.stream.tell()}",
                        hint="the file may be damaged, or written by a newer GGUF version than kit reads (2 and 3)")


def read_gguf(path: Path) -> GgufModel:
    """The model's header, or a GgufError saying what the file is instead."""
    path = Path(path)
    if not path.is_file():
        raise GgufError(f"model file {path} does not exist", hint="pass the path of a .gguf file with --model")
    with path.open("rb") as stream:
        head = stream.read(4)
        if head != MAGIC:
            raise GgufError(_not_gguf_message(path, head), hint=(
                "an SLM for llama.cpp is one .gguf file (e.g. a Q4_K_M quantisation of a 0.5-1.5 B model); "
                "convert with llama.cpp's convert_hf_to_gguf.py, or use --engine ollama with a model Ollama pulled"))
        reader = _Reader(stream, path)
        version = reader.scalar("<I")
        if version not in SUPPORTED_VERSIONS:
            raise GgufError(f"{path} is GGUF version {version}; kit reads versions 2 and 3",
                            hint="re-export the model with a current llama.cpp")
        tensor_count, kv_count = reader.scalar("<Q"), reader.scalar("<Q")
        if tensor_count > MAX_TENSORS or kv_count > MAX_TENSORS:
            raise GgufError(f"{path} has a damaged GGUF header ({tensor_count:,} tensors, {kv_count:,} keys)",
                            hint="fetch the .gguf file again")
        metadata = _metadata(reader, kv_count)
        parameters = _parameters(reader, tensor_count)
    return _model(path, version, tensor_count, parameters, metadata)


def _not_gguf_message(path: Path, head: bytes) -> str:
    if head[:4] == b"TFL3" or path.read_bytes()[4:8] == b"TFL3":
        return f"{path} is a TensorFlow Lite model, not a GGUF language model"
    return f"{path} is not a GGUF file (it starts with {head!r}, not b'GGUF')"


def _metadata(reader: _Reader, count: int) -> dict[str, Any]:
    """Every key; the token list and other big arrays are skipped, kept only as their length."""
    metadata: dict[str, Any] = {}
    for _ in range(count):
        key = reader.string()
        kind = reader.scalar("<I")
        metadata[key] = reader.value(kind, keep=kind != _ARRAY)
    return metadata


def _parameters(reader: _Reader, count: int) -> int:
    total = 0
    for _ in range(count):
        reader.string()
        dims = reader.scalar("<I")
        if dims > MAX_DIMS:
            raise GgufError(f"{reader.path} has a damaged tensor table ({dims} dimensions)", hint="fetch the .gguf file again")
        size = 1
        for _ in range(dims):
            size *= reader.scalar("<Q")
        reader.scalar("<I")  # element type
        reader.scalar("<Q")  # data offset
        total += size
    return total


def _model(path: Path, version: int, tensors: int, parameters: int, metadata: dict[str, Any]) -> GgufModel:
    architecture = metadata.get("general.architecture")
    if not isinstance(architecture, str) or not architecture:
        raise GgufError(f"{path} has no general.architecture in its GGUF metadata", hint="re-export the model with a current llama.cpp")

    def number(key: str) -> int | None:
        value = metadata.get(f"{architecture}.{key}")
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    vocabulary = metadata.get("tokenizer.ggml.tokens")
    return GgufModel(
        path=path, size_bytes=path.stat().st_size, version=version, architecture=architecture,
        name=metadata.get("general.name") if isinstance(metadata.get("general.name"), str) else None,
        parameters=parameters, tensors=tensors, context_length=number("context_length"), blocks=number("block_count"),
        embedding=number("embedding_length"), heads=number("attention.head_count"),
        heads_kv=number("attention.head_count_kv"), vocabulary=vocabulary if isinstance(vocabulary, int) else None,
    )


def check_fits(model: GgufModel, context: int, mem_total: int | None, mem_available: int | None, host: str) -> str | None:
    """Refuse a model the Pi's RAM cannot hold (with the numbers); a warning when it fits only
    after other programs free memory; None when it fits."""
    needed = model.ram_needed_bytes(context)
    if mem_total is None:
        return f"could not read the memory size of {host}; the model needs about {needed / 2**20:,.0f} MB (estimate)"
    if needed > mem_total:
        raise KitError(
            f"{model.path.name} needs about {needed / 2**20:,.0f} MB of RAM at a {context}-token context "
            f"(weights {model.size_bytes / 2**20:,.0f} MB + KV cache {model.kv_cache_bytes(context) / 2**20:,.0f} MB "
            f"+ runtime; an estimate), but {host} has {mem_total / 2**20:,.0f} MB in all",
            hint="pick a smaller model or a smaller quantisation (e.g. a 0.5 B model at Q4_K_M), or a shorter --context",
        )
    if mem_available is not None and needed > mem_available:
        return (f"{model.path.name} needs about {needed / 2**20:,.0f} MB (estimate) and {host} has "
                f"{mem_available / 2**20:,.0f} MB available now: close other programs or it will swap")
    return None
