"""Building kit's C runtime: the source list and flags every target shares, and the host
shared library (cached by a hash of everything that goes into it)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from kit import paths
from kit.errors import ToolMissingError
from kit.runtime_host.compiled import CompiledModel

RUNTIME_DIR = paths.FIRMWARE_DIR / "runtime"
INCLUDE_DIRS = (RUNTIME_DIR / "include", RUNTIME_DIR / "src", RUNTIME_DIR / "kernels")

# -ffp-contract=off: the few float paths (MEAN, DEQUANTIZE) must not be fused into FMAs,
# or results would differ from TFLM on cores that have them (Cortex-M4F/M7).
COMMON_FLAGS = ("-std=c99", "-O2", "-ffp-contract=off")


def warning_flags() -> list[str]:
    """The warning set the runtime and generated code must pass on every compiler."""
    return ["-Wall", "-Wextra", "-Werror"]


def runtime_sources() -> list[Path]:
    """The executor and every portable kernel (no per-ISA overrides)."""
    return sorted((RUNTIME_DIR / "src").glob("*.c")) + sorted((RUNTIME_DIR / "kernels").glob("*.c"))


def runtime_headers() -> list[Path]:
    return sorted(p for d in INCLUDE_DIRS for p in d.glob("*.h"))


def include_flags(extra: Sequence[Path] = ()) -> list[str]:
    return [f"-I{d}" for d in (*INCLUDE_DIRS, *extra)]


def _require_gcc() -> str:
    gcc = shutil.which("gcc")
    if gcc is None:
        raise ToolMissingError(
            "gcc is not installed, so the host board cannot build kit's runtime",
            "install it: sudo apt-get install -y gcc",
        )
    return gcc


def _fingerprint(files: Sequence[Path], flags: Sequence[str]) -> str:
    digest = hashlib.sha256(" ".join(flags).encode())
    for path in files:
        digest.update(str(path.name).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def _runtime_objects(gcc: str, flags: Sequence[str]) -> list[Path]:
    """The runtime compiled once to position-independent objects, shared by every model's
    library (keyed by the runtime's sources, headers and flags): a model then costs one
    compile of its kit_model.c and a link."""
    sources = runtime_sources()
    key = _fingerprint([*sources, *runtime_headers()], flags)
    folder = paths.cache_dir("runtime_host") / f"runtime-{key}"
    objects = [folder / f"{source.parent.name}-{source.stem}.o" for source in sources]
    if all(obj.is_file() for obj in objects):
        return objects
    staging = folder.with_name(folder.name + f".tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for source, obj in zip(sources, objects):
        _run_gcc([gcc, *flags, *include_flags(), "-c", str(source), "-o", str(staging / obj.name)])
    shutil.rmtree(folder, ignore_errors=True)
    try:
        staging.rename(folder)
    except OSError:  # another process placed the same objects first
        shutil.rmtree(staging, ignore_errors=True)
    return objects


def _run_gcc(command: list[str]) -> None:
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        raise ToolMissingError(  # a compile failure here is a kit bug or a broken toolchain
            "gcc could not build kit's runtime for the host:\n" + completed.stderr.strip()[-2000:],
            "check `gcc --version` works; if it does, report this error with the model",
        )


def build_host_library(compiled: CompiledModel) -> Path:
    """Compile the generated model and link it with the runtime into a shared library; reused
    when nothing changed."""
    gcc = _require_gcc()
    flags = [*COMMON_FLAGS, *warning_flags(), "-fPIC"]
    inputs = [*runtime_sources(), *compiled.sources]
    key = _fingerprint([*inputs, *runtime_headers(), compiled.header], [*flags, "-shared"])
    library = paths.cache_dir("runtime_host") / key / "libkit_model.so"
    if library.is_file():
        return library
    objects = _runtime_objects(gcc, flags)
    library.parent.mkdir(parents=True, exist_ok=True)
    partial = library.with_suffix(f".so.tmp{os.getpid()}")
    _run_gcc([gcc, *flags, "-shared", *include_flags([compiled.directory]), *map(str, compiled.sources),
              *map(str, objects), "-o", str(partial)])
    partial.replace(library)
    return library
