"""The host's copy of the board's feature C (firmware/features/kit_features.c), built with the
host gcc into a shared library on first use and called through ctypes. Training, validation
and user data all go through it, so the features a model learns from are the ones a board
computes, bit for bit (docs/ARCHITECTURE.md, "Features on the device")."""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np

from kit.errors import DataError, ToolMissingError
from kit.features.config import FLOAT_FIELDS, FeatureConfig, field_names
from kit.paths import FIRMWARE_DIR, cache_dir

FEATURES_DIR = FIRMWARE_DIR / "features"
SOURCES = ("kit_features.c",)
# The flags every build of kit_features.c uses (boards add theirs): no fused multiply-add,
# no fast-math, so + - * / round the same way on every machine.
FLAGS = ("-std=c99", "-O2", "-ffp-contract=off", "-fno-fast-math", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared")
GCC_HINT = "install the host C compiler: sudo apt-get install -y gcc"

_lock = threading.Lock()  # the C keeps its tables in static buffers: one call at a time
_library: ctypes.CDLL | None = None


class CConfig(ctypes.Structure):
    """kit_feature_config, field for field (kit_features.h)."""

    _fields_ = [(name, ctypes.c_float if name in FLOAT_FIELDS else
                 ctypes.c_int32 if name == "input_zero_point" else ctypes.c_uint32) for name in field_names()]


def source_files() -> list[Path]:
    return [FEATURES_DIR / name for name in SOURCES] + sorted(FEATURES_DIR.glob("*.h"))


def source_key() -> str:
    """Hash of the C sources, headers and flags: a new source builds a new library."""
    digest = hashlib.sha256(" ".join(FLAGS).encode())
    for path in source_files():
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def library_path() -> Path:
    return cache_dir("features") / f"libkit_features-{source_key()}.so"


def build_library(gcc: str | None = None) -> Path:
    """Compile kit_features.c for the host (cached by source hash); a KitError when no gcc."""
    path = library_path()
    if path.is_file():
        return path
    compiler = gcc or shutil.which("gcc")
    if compiler is None or shutil.which(compiler) is None:
        raise ToolMissingError("gcc is not installed, so kit cannot build its feature pipeline (kit_features.c) "
                               "for this computer", hint=GCC_HINT)
    partial = path.with_suffix(f".so.tmp{os.getpid()}")
    command = [compiler, *FLAGS, f"-I{FEATURES_DIR}", *(str(FEATURES_DIR / s) for s in SOURCES), "-o", str(partial)]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        partial.unlink(missing_ok=True)
        raise ToolMissingError("gcc could not build kit's feature pipeline:\n" + completed.stderr.strip()[-2000:],
                               hint="check that `gcc --version` works; if it does, report this error")
    partial.replace(path)
    return path


def library() -> ctypes.CDLL:
    """The loaded feature library (built on first use)."""
    global _library
    if _library is None:
        lib = ctypes.CDLL(str(build_library()))
        config_p = ctypes.POINTER(CConfig)
        lib.kit_features_float.argtypes = [config_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32]
        lib.kit_features_float.restype = ctypes.c_int32
        lib.kit_features_int8.argtypes = [config_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32]
        lib.kit_features_int8.restype = ctypes.c_int32
        lib.kit_features_quantize.argtypes = [config_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32]
        lib.kit_features_quantize.restype = ctypes.c_int32
        lib.kit_features_raw_bytes.argtypes = [config_p]
        lib.kit_features_raw_bytes.restype = ctypes.c_uint32
        _library = lib
    return _library


def c_config(config: FeatureConfig) -> CConfig:
    return CConfig(**config.values())


def _windows(config: FeatureConfig, raw: np.ndarray) -> np.ndarray:
    """The batch as contiguous windows of the config's raw dtype and shape."""
    batch = np.ascontiguousarray(raw, dtype=config.raw_dtype)
    if batch.shape[1:] != config.raw_shape:
        raise DataError(f"raw windows have shape {list(batch.shape[1:])}, the feature pipeline takes "
                        f"{list(config.raw_shape)}", hint="pass windows of the lab's length and layout")
    return batch


def _run(function_name: str, config: FeatureConfig, raw: np.ndarray, dtype: str) -> np.ndarray:
    batch = _windows(config, raw)
    out = np.empty((batch.shape[0], config.out_values), dtype)
    lib = library()
    function = getattr(lib, function_name)
    struct = c_config(config)
    stride = batch[0].nbytes if batch.shape[0] else 0
    base = batch.ctypes.data
    with _lock:
        for index in range(batch.shape[0]):
            got = function(ctypes.byref(struct), base + index * stride, out[index].ctypes.data, config.out_values)
            if got != config.out_values:
                raise DataError(f"the feature pipeline refused its configuration ({config})",
                                hint="check the lab's [features] against the limits in firmware/features/kit_features.c")
    return out


def features_float(config: FeatureConfig, raw: np.ndarray) -> np.ndarray:
    """(batch, *raw_shape) -> (batch, out_values) float32, computed by kit_features.c."""
    return _run("kit_features_float", config, raw, "float32")


def features_int8(config: FeatureConfig, raw: np.ndarray) -> np.ndarray:
    """(batch, *raw_shape) -> (batch, out_values) int8: the model input a board computes."""
    if not config.input_scale > 0:
        raise DataError("the model input's scale must be positive", hint="pass the model's input scale")
    return _run("kit_features_int8", config, raw, "int8")


def quantize(config: FeatureConfig, values: np.ndarray) -> np.ndarray:
    """float features -> int8 with the C's rounding (half to even, then the zero point, clamped)."""
    flat = np.ascontiguousarray(values, np.float32).reshape(-1)
    out = np.empty(flat.shape, np.int8)
    with _lock:
        library().kit_features_quantize(ctypes.byref(c_config(config)), flat.ctypes.data, out.ctypes.data, flat.size)
    return out.reshape(np.shape(values))


def raw_bytes(config: FeatureConfig) -> int:
    return int(library().kit_features_raw_bytes(ctypes.byref(c_config(config))))
