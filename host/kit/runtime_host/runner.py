"""Running a compiled model on the host: the shared library loaded with ctypes, one arena,
inputs checked against the model before any byte reaches C."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from kit.errors import KitError, ModelError
from kit.runtime_host.build import build_host_library
from kit.runtime_host.compiled import CompiledModel, compile_model

_NUMPY_DTYPES = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "int32": np.int32, "float32": np.float32}
_ARENA_ALIGNMENT = 16
_GUARD_BYTES = 64  # a known pattern each side of the arena, checked after every invoke
_GUARD_PATTERN = 0xA5


class ArenaOverrunError(ModelError):
    """kit's runtime wrote outside the arena it was given: a kit bug, never the user's."""


def _numpy_dtype(name: str) -> np.dtype:
    if name not in _NUMPY_DTYPES:
        raise ModelError(f"tensor type {name} cannot cross kit's runtime boundary", "use int8 model inputs/outputs")
    return np.dtype(_NUMPY_DTYPES[name])


def _aligned_buffer(size: int) -> np.ndarray:
    raw = np.zeros(size + _ARENA_ALIGNMENT, dtype=np.uint8)
    start = (-raw.ctypes.data) % _ARENA_ALIGNMENT
    return raw[start : start + size]


class HostModel:
    """One compiled model loaded in this process; `run` takes a batch along the first axis."""

    def __init__(self, compiled: CompiledModel) -> None:
        self.compiled = compiled
        self.library_path = build_host_library(compiled)
        self._lib = ctypes.CDLL(str(self.library_path))
        self._model = ctypes.c_void_p(ctypes.addressof(ctypes.c_char.in_dll(self._lib, "kit_model")))
        self._lib.kit_model_invoke.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        self._lib.kit_model_invoke.restype = ctypes.c_int
        for name in ("kit_model_input", "kit_model_output"):
            getattr(self._lib, name).argtypes = [ctypes.c_void_p, ctypes.c_void_p]
            getattr(self._lib, name).restype = ctypes.c_void_p
        for name in ("kit_model_arena_bytes", "kit_model_input_bytes", "kit_model_output_bytes"):
            getattr(self._lib, name).argtypes = [ctypes.c_void_p]
            getattr(self._lib, name).restype = ctypes.c_uint32
        self.arena_bytes = int(self._lib.kit_model_arena_bytes(self._model))
        self.input_bytes = int(self._lib.kit_model_input_bytes(self._model))
        self.output_bytes = int(self._lib.kit_model_output_bytes(self._model))
        self._guarded = _aligned_buffer(max(self.arena_bytes, 1) + 2 * _GUARD_BYTES)
        self._guarded[:] = _GUARD_PATTERN
        self._arena = self._guarded[_GUARD_BYTES:-_GUARD_BYTES]
        arena_ptr = ctypes.c_void_p(self._arena.ctypes.data)
        self._input_offset = int(self._lib.kit_model_input(self._model, arena_ptr)) - self._arena.ctypes.data
        self._output_offset = int(self._lib.kit_model_output(self._model, arena_ptr)) - self._arena.ctypes.data
        self.input_dtype = _numpy_dtype(compiled.input_dtype)
        self.output_dtype = _numpy_dtype(compiled.output_dtype)

    @property
    def input_elements(self) -> int:
        return int(np.prod(self.compiled.input_shape))

    def check_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """The batch as (N, elements) in the model's type, or a KitError saying what is wrong."""
        inputs = np.asarray(inputs)
        expected_shape = tuple(self.compiled.input_shape)
        if inputs.dtype != self.input_dtype:
            raise KitError(
                f"input has dtype {inputs.dtype}, but model {self.compiled.model_id} expects {self.input_dtype}",
                f"quantize the input to {self.input_dtype} with the model's input scale and zero point",
            )
        per_sample = self.input_elements
        if inputs.size == 0 or inputs.size % per_sample != 0:
            raise KitError(
                f"input has shape {inputs.shape} ({inputs.size} values), but model {self.compiled.model_id} "
                f"expects {expected_shape} ({per_sample} values) per input",
                f"pass one input of shape {expected_shape} or a batch of them along the first axis",
            )
        return np.ascontiguousarray(inputs.reshape(-1, per_sample))

    def run_one(self, sample: np.ndarray) -> np.ndarray:
        """One inference on a flat sample of the right type and size."""
        arena_bytes = self._arena.view(np.uint8)
        arena_bytes[self._input_offset : self._input_offset + self.input_bytes] = sample.view(np.uint8)
        status = self._lib.kit_model_invoke(self._model, ctypes.c_void_p(self._arena.ctypes.data), None, None)
        if status != 0:
            raise ModelError(
                f"kit runtime returned error {status} for model {self.compiled.model_id}",
                "recompile the model with this version of kit",
            )
        self._check_guards()
        out = arena_bytes[self._output_offset : self._output_offset + self.output_bytes].copy()
        return out.view(self.output_dtype)

    def _check_guards(self) -> None:
        """Bytes changed just outside the arena mean a kernel wrote past its tensor: say so now,
        before the damage shows up as wrong numbers somewhere else."""
        before, after = self._guarded[:_GUARD_BYTES], self._guarded[-_GUARD_BYTES:]
        if (before != _GUARD_PATTERN).any() or (after != _GUARD_PATTERN).any():
            raise ArenaOverrunError(
                f"kit's runtime wrote outside its {self.arena_bytes}-byte arena running model {self.compiled.model_id}",
                "this is a kit bug: report it with the model file",
            )

    def run(self, inputs: np.ndarray) -> np.ndarray:
        """Outputs for a batch: shape (N, *output_shape[1:])."""
        batch = self.check_inputs(inputs)
        out_shape = tuple(self.compiled.output_shape[1:]) if len(self.compiled.output_shape) > 1 else (-1,)
        outputs = [self.run_one(sample).reshape(out_shape) for sample in batch]
        return np.stack(outputs)


_loaded: dict[str, HostModel] = {}


def load_host_model(model: CompiledModel | Path | bytes) -> HostModel:
    """A HostModel for a compiled model or a .tflite, reused within this process."""
    compiled = model if isinstance(model, CompiledModel) else compile_model(model)
    if compiled.key not in _loaded:
        _loaded[compiled.key] = HostModel(compiled)
    return _loaded[compiled.key]


def invoke(model: CompiledModel | Path | bytes, inputs: np.ndarray) -> np.ndarray:
    """Run kit's runtime on the host for one input or a batch (first axis); one output per input."""
    return load_host_model(model).run(inputs)
