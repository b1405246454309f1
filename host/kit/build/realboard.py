"""PlatformIO projects for the REAL boards (every catalog board with a [platformio] table).

The project is generated from the board file alone (platform, board id, framework, build
flags, lib_deps, upload protocol, baud, HAL, kernels, status LED) and holds copies of the
same harness and runtime as the emulated boards behind an Arduino HAL, so it is an ordinary
PlatformIO project a student can open in VS Code, build and upload without kit. Two engines
run the model:

- `kit`: kit's compiled plan (kit_model.c) on kit's C runtime;
- `tflm`: TensorFlow Lite Micro (its Arduino library from PlatformIO lib_deps) on the C arrays
  of `kit convert`, through a small C++ glue that implements the same kit_runtime.h API, so
  the harness and the host protocol stay identical.

Nothing here builds: real-board platforms and frameworks come from PlatformIO's registry on a
machine with internet (see kit.upload.pio for the upload and the offline errors).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

from kit import catalog
from kit.build.lab import lab_files, lab_flags
from kit.build.power import power_flags
from kit.build.project import copy_sources
from kit.catalog.models import Board, Firmware
from kit.compile.compiled import CompiledModel
from kit.errors import KitError, ModelError
from kit.paths import FIRMWARE_DIR, cache_dir, make_dir

Engine = Literal["kit", "tflm"]
ENGINES: tuple[str, ...] = ("kit", "tflm")
Log = Callable[[str], None] | None

HAL_DIR = FIRMWARE_DIR / "hal"
ARDUINO_DIR = HAL_DIR / "arduino"
HARNESS_DIR = FIRMWARE_DIR / "harness"
FEATURES_DIR = FIRMWARE_DIR / "features"
RUNTIME_DIR = FIRMWARE_DIR / "runtime"
TFLM_ENGINE_DIR = FIRMWARE_DIR / "engines" / "tflm"
TFLM_LIBRARY_FILE = TFLM_ENGINE_DIR / "libraries.toml"
RUNTIME_PARTS = ("include", "src", "kernels")
# The harness's main() is the emulators' entry point; Arduino cores own main() and call
# setup()/loop() from kit_sketch.cpp instead.
HARNESS_SKIP = {"kit_main.c"}
SOURCE_SUFFIXES = {".c", ".h", ".cpp", ".cc"}


# MicroInterpreter arena constructors and profiler types the pinned libraries have (libraries.toml).
INTERPRETER_KINDS = ("resource-variables", "error-reporter")
PROFILER_KINDS = ("MicroProfilerInterface", "MicroProfiler")


@dataclass(frozen=True)
class TflmLibrary:
    """The TFLM Arduino library one HAL uses (firmware/engines/tflm/libraries.toml), with the
    constructor and profiler type of its pinned version (they differ between libraries)."""

    lib_deps: tuple[str, ...]
    header: str
    source: str
    version: str
    interpreter: str
    profiler: str

    @property
    def title(self) -> str:
        """What README.txt and `kit project` call it: name, version and where it comes from."""
        return f"{Path(self.header).stem} {self.version} ({self.source})"


@dataclass(frozen=True)
class ModelFacts:
    """What the TFLM glue needs to know about the model (from the compiled model's metadata)."""

    model_id: str
    sha256: str
    input_bytes: int
    output_bytes: int
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    op_names: tuple[str, ...]
    arena_bytes: int


@dataclass(frozen=True)
class RealProject:
    """A written real-board project: where it is and what it contains."""

    board: str
    engine: str
    hal: str
    env: str
    project_dir: Path
    build_id: str
    model_id: str
    sha256: str
    lib_deps: tuple[str, ...] = ()
    files: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ini_path(self) -> Path:
        return self.project_dir / "platformio.ini"

    def to_dict(self) -> dict[str, Any]:
        return {
            "board": self.board, "engine": self.engine, "hal": self.hal, "env": self.env,
            "project_dir": str(self.project_dir), "build_id": self.build_id, "model_id": self.model_id,
            "sha256": self.sha256, "lib_deps": list(self.lib_deps), "files": list(self.files),
        }


# ----------------------------------------------------------------------------- data files


def _load_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def tflm_library(hal: str) -> TflmLibrary:
    """The TFLM Arduino library of an Arduino HAL (a fact of the core, shared by its boards)."""
    table = _load_toml(TFLM_LIBRARY_FILE).get("hal", {})
    if hal not in table:
        raise KitError(f"{TFLM_LIBRARY_FILE.name} names no TensorFlow Lite Micro library for the HAL '{hal}', "
                       "so the TFLM engine cannot build for it",
                       hint=f"use `--engine kit`, or add [hal.{hal}] (lib_deps, header, source, version, interpreter, "
                            f"profiler) to {TFLM_LIBRARY_FILE}")
    entry = table[hal]
    library = TflmLibrary(lib_deps=tuple(entry["lib_deps"]), header=entry["header"], source=entry["source"],
                          version=entry["version"], interpreter=entry["interpreter"], profiler=entry["profiler"])
    if library.interpreter not in INTERPRETER_KINDS or library.profiler not in PROFILER_KINDS:
        raise KitError(f"{TFLM_LIBRARY_FILE.name} [hal.{hal}] names interpreter '{library.interpreter}' and "
                       f"profiler '{library.profiler}', which kit's TFLM glue does not know",
                       hint=f"use interpreter one of {', '.join(INTERPRETER_KINDS)} and profiler one of "
                            f"{', '.join(PROFILER_KINDS)}")
    return library


# ----------------------------------------------------------------------------- board checks


def real_board(board: str | Board) -> tuple[Board, Firmware]:
    """The catalog board and its firmware facts (Arduino HAL, kernels, LED), or a KitError
    saying what the board file lacks (the commands ask the board's target first, which says
    which path fits a kind of board)."""
    board_obj = catalog.get_board(board) if isinstance(board, str) else board
    if board_obj.platformio is None:
        raise KitError(
            f"{board_obj.name} has no PlatformIO support (no PlatformIO platform or Arduino core exists for "
            f"its {board_obj.mcu}), so kit cannot write a firmware project for it",
            hint=_no_platformio_hint(board_obj),
        )
    firmware = board_obj.firmware
    if firmware is None or firmware.led is None:  # the catalog refuses such a file; a hand-made Board may not
        raise KitError(
            f"{board_obj.name} has a PlatformIO environment but its board file has no [firmware] / [firmware.led]",
            hint=f"add [firmware] (hal, kernels) and [firmware.led] (pin, active_low) to boards/{board_obj.name}.toml",
        )
    return board_obj, firmware


def _no_platformio_hint(board: Board) -> str:
    if board.upload.method == "arduino-cli":
        return ("build it with arduino-cli and its Arduino core instead (see the board's notes: "
                f"`kit board {board.name}`); `kit convert MODEL.tflite` writes the model's C arrays")
    return ("convert the model with `kit convert MODEL.tflite` (TFLM C arrays) and flash it with the vendor's "
            f"path: {board.upload.notes or board.upload.method}")


def project_boards() -> list[str]:
    """The catalog boards `kit project` can write a PlatformIO project for."""
    return [board.name for board in catalog.list_boards() if board.platformio is not None]


# ----------------------------------------------------------------------------- model facts


def model_facts(model_path: Path, converted: CompiledModel) -> ModelFacts:
    """Tensor sizes, quantization and per-node op names of the model (for the TFLM glue), from
    the compiled model's metadata; `model_path` names the .tflite in the errors."""
    if len(converted.inputs) != 1 or len(converted.outputs) != 1:
        raise ModelError(f"{model_path} has {len(converted.inputs)} inputs and {len(converted.outputs)} outputs",
                         hint="kit firmware runs models with one input and one output tensor")
    tensor_in, tensor_out = converted.inputs[0], converted.outputs[0]
    for tensor, role in ((tensor_in, "input"), (tensor_out, "output")):
        if tensor.dtype != "int8" or not tensor.scale or not tensor.zero_point:
            raise ModelError(f"the model's {role} tensor is {tensor.dtype}, not quantized int8",
                             hint="quantize the model fully to int8 (`kit train` does)")
    return ModelFacts(
        model_id=converted.model_id,
        sha256=converted.sha256,
        input_bytes=tensor_in.nbytes,
        output_bytes=tensor_out.nbytes,
        input_scale=tensor_in.scale[0],
        input_zero_point=tensor_in.zero_point[0],
        output_scale=tensor_out.scale[0],
        output_zero_point=tensor_out.zero_point[0],
        op_names=tuple(converted.ops),
        arena_bytes=converted.tensor_arena_size,
    )


def _c_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)


def _c_float(value: float) -> str:
    import numpy as np

    # The double holding a float32 exactly, printed in full: the C compiler rounds it back to
    # the same float32 (decimal, not hex floats, which C++ before C++17 does not have).
    return f"{float(np.float32(value))!r}f"


def tflm_model_header(facts: ModelFacts) -> str:
    """kit_model.h for the TFLM engine: the same macros the kit compiler emits (but the weight bytes)."""
    from kit.compile.emit_c import model_header

    return model_header(
        "/* Written by kit.build.realboard for the TFLM engine (kit_tflm_engine.cpp). Do not edit. */",
        [
            f"#define KIT_MODEL_ID {_c_string(facts.model_id)}",
            f"#define KIT_MODEL_SHA256 {_c_string(facts.sha256)}",
            "/* TFLM's arena (measured on the host, with a margin for 32-bit targets). */",
            f"#define KIT_MODEL_ARENA_BYTES {facts.arena_bytes}u",
            f"#define KIT_MODEL_INPUT_BYTES {facts.input_bytes}u",
            f"#define KIT_MODEL_OUTPUT_BYTES {facts.output_bytes}u",
            f"#define KIT_MODEL_INPUT_SCALE {_c_float(facts.input_scale)}",
            f"#define KIT_MODEL_INPUT_ZERO_POINT {facts.input_zero_point}",
            f"#define KIT_MODEL_OUTPUT_SCALE {_c_float(facts.output_scale)}",
            f"#define KIT_MODEL_OUTPUT_ZERO_POINT {facts.output_zero_point}",
            f"#define KIT_MODEL_OP_COUNT {len(facts.op_names)}u",
        ],
    )


def tflm_info_header(facts: ModelFacts) -> str:
    """Per-node op names, in TFLM's execution order (what its profiler events follow)."""
    names = ",\n".join(f"    {_c_string(name)}" for name in facts.op_names)
    return "\n".join([
        "/* Written by kit.build.realboard: the model's nodes in execution order. Do not edit. */",
        "#ifndef KIT_TFLM_INFO_H",
        "#define KIT_TFLM_INFO_H",
        "",
        f"static const char *const kit_tflm_op_names[{max(len(facts.op_names), 1)}] = {{",
        names or '    "?"',
        "};",
        "",
        "#endif /* KIT_TFLM_INFO_H */",
        "",
    ])


def tflm_library_header(library: TflmLibrary) -> str:
    """The library's umbrella header and which MicroInterpreter constructor and profiler base
    its pinned version has (kit_tflm_engine.cpp picks its call by these macros)."""
    error_reporter = 1 if library.interpreter == "error-reporter" else 0
    interface = 1 if library.profiler == "MicroProfilerInterface" else 0
    return "\n".join([
        "/* Written by kit.build.realboard: the board's TFLM Arduino library (PlatformIO lib_deps). */",
        "#ifndef KIT_TFLM_LIBRARY_H",
        "#define KIT_TFLM_LIBRARY_H",
        f"/* {library.title} */",
        f"#include <{library.header}>",
        "/* 1: MicroInterpreter(model, resolver, arena, size, ErrorReporter*, MicroResourceVariables*, profiler*);",
        "   0: MicroInterpreter(model, resolver, arena, size, MicroResourceVariables*, profiler*). */",
        f"#define KIT_TFLM_INTERPRETER_ERROR_REPORTER {error_reporter}",
        "/* 1: the constructor takes a MicroProfilerInterface*; 0: a MicroProfiler*. */",
        f"#define KIT_TFLM_PROFILER_INTERFACE {interface}",
        "#endif",
        "",
    ])


# ----------------------------------------------------------------------------- sources


def _files_in(folder: Path, skip: frozenset[str] | set[str] = frozenset()) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SOURCE_SUFFIXES and p.name not in skip)


def source_map(firmware: Firmware, engine: str, converted: CompiledModel) -> dict[str, Path]:
    """Project-relative path -> file copied from the repository (or the compiler's output)."""
    files: dict[str, Path] = {"src/kit_sketch.cpp": ARDUINO_DIR / "kit_sketch.cpp",
                              "src/hal/kit_hal.h": HAL_DIR / "kit_hal.h"}
    for path in _files_in(ARDUINO_DIR, {"kit_sketch.cpp"}):
        files[f"src/hal/arduino/{path.name}"] = path
    for path in _files_in(HAL_DIR / firmware.hal):
        files[f"src/hal/{firmware.hal}/{path.name}"] = path
    for path in _files_in(HARNESS_DIR, HARNESS_SKIP):
        files[f"src/harness/{path.name}"] = path
    for path in _files_in(FEATURES_DIR):  # the lab's feature pipelines (kit_features.h)
        files[f"src/features/{path.name}"] = path
    if engine == "kit":
        if converted.refusal is not None:
            raise ModelError("kit's compiler refused an op of this model, so the kit engine cannot run it: "
                             + converted.refusal.message,
                             hint="use the TFLM engine: `--engine tflm` (see `kit convert MODEL.tflite` for the op)")
        kit_dir = converted.require_kit()
        for part in RUNTIME_PARTS:
            for path in _files_in(RUNTIME_DIR / part):
                files[f"src/runtime/{part}/{path.name}"] = path
        for path in _files_in(Path(kit_dir)):
            files[f"src/model/{path.name}"] = path
    else:
        files["src/runtime/include/kit_runtime.h"] = RUNTIME_DIR / "include" / "kit_runtime.h"
        files["src/model/kit_tflm_engine.cpp"] = TFLM_ENGINE_DIR / "kit_tflm_engine.cpp"
        for path in _files_in(Path(converted.tflm_dir)):
            files[f"src/model/{path.name}"] = path
    return files


def include_dirs(firmware: Firmware, engine: str) -> list[str]:
    dirs = ["src/model", "src/harness", "src/hal", "src/hal/arduino", f"src/hal/{firmware.hal}", "src/runtime/include",
            "src/features"]
    if engine == "kit":
        dirs += ["src/runtime/src", "src/runtime/kernels"]
    return dirs


def generated_files(firmware: Firmware, engine: str, facts: ModelFacts | None, board: Board,
                    build_id: str, lab: dict[str, str] | None = None) -> dict[str, str]:
    """Files written from text (not copied): build info, kit_lab.h (when the model card names a
    lab) and, for TFLM, the model headers."""
    files = {"src/model/kit_build_info.h": build_info_header(board, firmware, engine, build_id)}
    files.update({f"src/model/{name}": text for name, text in (lab or {}).items()})
    if engine == "tflm":
        assert facts is not None
        files["src/model/kit_model.h"] = tflm_model_header(facts)
        files["src/model/kit_tflm_info.h"] = tflm_info_header(facts)
        files["src/model/kit_tflm_library.h"] = tflm_library_header(tflm_library(firmware.hal))
    return files


def build_info_header(board: Board, firmware: Firmware, engine: str, build_id: str) -> str:
    return "\n".join([
        "/* Written by kit.build.realboard for this firmware. */",
        "#ifndef KIT_BUILD_INFO_H",
        "#define KIT_BUILD_INFO_H",
        f"#define KIT_BOARD_NAME {_c_string(board.name)}",
        f"#define KIT_BUILD_ID {_c_string(build_id)}",
        f"#define KIT_HAL_TARGET {_c_string(firmware.hal + '-' + board.name)}",
        f"#define KIT_ENGINE {_c_string(engine)}",
        "#endif",
        "",
    ])


# ----------------------------------------------------------------------------- platformio.ini


def build_flags(board: Board, firmware: Firmware, engine: str, lab: dict[str, str] | None = None) -> list[str]:
    """The board file's flags, then kit's own defines (baud, LED, kernels, KIT_HAVE_LAB) and
    include folders."""
    assert board.platformio is not None and firmware.led is not None
    flags = list(board.platformio.build_flags)
    flags += ["-DKIT_HAVE_BUILD_INFO", f"-DKIT_SERIAL_BAUD={board.baud}", f"-DKIT_LED_PIN={firmware.led.pin}",
              f"-DKIT_LED_ACTIVE_LOW={1 if firmware.led.active_low else 0}", "-ffp-contract=off"]
    if engine == "kit":
        flags += kernel_flags(firmware)
    flags += power_flags(board)
    flags += lab_flags(lab or {})
    flags += [f"-I{folder}" for folder in include_dirs(firmware, engine)]
    return flags


def kernel_flags(firmware: Firmware) -> list[str]:
    """`portable` forces the plain C loops; `arm-dsp` leaves kit_dot.h to pick the DSP loops
    (it does where the compiler defines __ARM_FEATURE_DSP, which the catalog requires)."""
    return {"portable": ["-DKIT_PORTABLE_KERNELS"], "helium": ["-DKIT_HELIUM_KERNELS"]}.get(firmware.kernels, [])


def lib_deps(board: Board, firmware: Firmware, engine: str) -> tuple[str, ...]:
    """What platformio.ini's lib_deps lists: the board file's own libraries, then the TFLM
    library of the board's HAL for the TFLM engine. (Sensor drivers are declared in the
    board file but not built yet: README.txt lists them.)"""
    assert board.platformio is not None
    deps = list(board.platformio.lib_deps)
    if engine == "tflm":
        deps += tflm_library(firmware.hal).lib_deps
    return tuple(deps)


def platformio_ini(board: Board, firmware: Firmware, engine: str, facts_id: str,
                   lab: dict[str, str] | None = None) -> str:
    """One environment named after the board, every value taken from the catalog."""
    pio = board.platformio
    assert pio is not None
    lines = [
        f"; Written by `kit project` for the {board.title} ({engine} engine, model {facts_id}).",
        "; An ordinary PlatformIO project: `pio run` builds, `pio run -t upload` flashes,",
        "; `pio device monitor` talks to the board. See README.txt.",
        "[platformio]",
        f"default_envs = {board.name}",
        "",
        f"[env:{board.name}]",
        f"platform = {pio.platform}",
        f"board = {pio.board}",
        f"framework = {pio.framework}",
    ]
    if pio.upload_protocol:
        lines.append(f"upload_protocol = {pio.upload_protocol}")
    lines.append(f"monitor_speed = {board.baud}")
    lines.append("build_flags =")
    lines += [f"    {flag}" for flag in build_flags(board, firmware, engine, lab)]
    deps = lib_deps(board, firmware, engine)
    if deps:
        lines.append("lib_deps =")
        lines += [f"    {dep}" for dep in deps]
    return "\n".join(lines) + "\n"


def readme_text(board: Board, engine: str, facts_id: str, library: TflmLibrary | None = None) -> str:
    pio = board.platformio
    assert pio is not None
    tflm = ""
    if engine == "tflm":
        assert library is not None
        tflm = (f"\nThe TFLM engine runs TensorFlow Lite Micro from the Arduino library\n"
                f"    {library.title}\n"
                "(pinned in lib_deps; PlatformIO downloads it on the first build).\n")
    sensors = _sensor_text(board)
    return f"""kit firmware for the {board.title} ({board.name})
model: {facts_id}   engine: {engine}

This folder is a normal PlatformIO project (open it in VS Code with the PlatformIO
extension, or use the `pio` command line). Everything it needs is inside: the kit harness
(the MLPerf Tiny device-under-test protocol plus kit's extensions), the Arduino HAL, the
runtime and the model. Nothing refers back to the kit repository.

Build (the first build downloads the {pio.platform} platform and the Arduino core: needs
internet once):
    pio run
Upload (port: see `kit ports` or `pio device list`):
    pio run -t upload --upload-port /dev/ttyACM0
Talk to it (commands end with %; try `name%`, `kit-info%`):
    pio device monitor -b {board.baud}
Benchmark it from kit:
    kit bench {board.name} --port /dev/ttyACM0
{tflm}{sensors}
If the port does not appear: {board.bootloader_hint or 'press reset once'}.
"""


def _sensor_text(board: Board) -> str:
    """The board's sensors and their Arduino libraries (declared in the board file; kit's
    firmware does not read sensors yet, so they are not in lib_deps)."""
    lines = []
    for sensor in board.sensors:
        libraries = [*sensor.drivers, *(f"{name} (ships with the Arduino core)" for name in sensor.core_libraries)]
        lines.append(f"    {sensor.kind}: {sensor.part}" + (f" -- {', '.join(libraries)}" if libraries else ""))
    if not lines:
        return ""
    return ("\nOn-board sensors and their Arduino libraries (add a driver to lib_deps when a sketch\n"
            "reads the sensor):\n" + "\n".join(lines) + "\n")


# ----------------------------------------------------------------------------- writing


def _digest(board: Board, engine: str, sources: dict[str, Path], facts: ModelFacts | None,
            lab: dict[str, str] | None = None) -> str:
    """Everything the project is made of: the whole board file (firmware facts included),
    the engine, the model's facts, kit_lab.h, every copied source and the TFLM library table."""
    digest = hashlib.sha256()
    digest.update(json.dumps([board.model_dump(mode="json"), engine,
                              facts.__dict__ if facts else None, lab or {}], sort_keys=True, default=str).encode())
    for name, path in sorted(sources.items()):
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(TFLM_LIBRARY_FILE.read_bytes())
    return digest.hexdigest()


def write_project(board: str | Board, converted: CompiledModel, out_dir: Path, engine: str = "kit",
                  model_path: Path | None = None) -> RealProject:
    """Write the PlatformIO project for a real board and a `kit convert` result.

    `model_path` (the .tflite) is needed by the TFLM engine for its tensor facts."""
    if engine not in ENGINES:
        raise KitError(f"unknown engine '{engine}'", hint="choose --engine kit or --engine tflm")
    board_obj, firmware = real_board(board)
    facts = None
    if engine == "tflm":
        if model_path is None:
            raise ModelError("the TFLM engine needs the .tflite file", hint="pass the model path")
        facts = model_facts(Path(model_path), converted)
        _check_tflm_kernels(facts)
    sources = source_map(firmware, engine, converted)
    lab = lab_files(converted.card_path)
    digest = _digest(board_obj, engine, sources, facts, lab)
    build_id = f"{firmware.hal}-{engine}-{digest[:12]}"
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)
    copy_sources(sources, out_dir)
    generated = generated_files(firmware, engine, facts, board_obj, build_id, lab)
    for relative, text in generated.items():
        (out_dir / relative).write_text(text)
    (out_dir / "platformio.ini").write_text(platformio_ini(board_obj, firmware, engine, converted.model_id, lab))
    library = tflm_library(firmware.hal) if engine == "tflm" else None
    (out_dir / "README.txt").write_text(readme_text(board_obj, engine, converted.model_id, library))
    return RealProject(board=board_obj.name, engine=engine, hal=firmware.hal, env=board_obj.name, project_dir=out_dir,
                       build_id=build_id, model_id=converted.model_id, sha256=converted.sha256,
                       lib_deps=lib_deps(board_obj, firmware, engine),
                       files=tuple(sorted([*sources, *generated, "platformio.ini", "README.txt"])))


def _check_tflm_kernels(facts: ModelFacts) -> None:
    """Refuse, before writing anything, a model with an op TensorFlow Lite Micro has no kernel for."""
    from kit.compile.tflm_arrays import resolver_method

    missing = sorted({op for op in facts.op_names if resolver_method(op) is None})
    if missing:
        raise ModelError(f"TensorFlow Lite Micro has no kernel for {', '.join(missing)}, so the TFLM engine "
                         "cannot run this model",
                         hint="use kit's engine (`--engine kit`) if kit compiles it, or rebuild the model without "
                              "those ops")


def _check_out_dir(out_dir: Path) -> None:
    """Refuse to write into a folder that holds something other than a kit project."""
    if out_dir.exists() and not out_dir.is_dir():
        raise KitError(f"{out_dir} exists and is not a folder", hint="choose another --out")
    if not out_dir.exists():
        make_dir(out_dir, "--out folder", "pass --out a new or empty folder you can write to, e.g. ./my-project")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        ini = out_dir / "platformio.ini"
        if not ini.is_file() or "Written by `kit project`" not in ini.read_text(errors="replace"):
            raise KitError(f"{out_dir} is not empty and is not a kit project",
                           hint="choose an empty or new folder for --out (kit replaces src/ in its own projects)")


def project_for_lab(board: str, lab: str, out_dir: Path | None = None, engine: str = "kit",
                    model: Path | str | None = None, log: Log = None, model_id: str | None = None) -> RealProject:
    """`kit project BOARD LAB`: pick or train the lab's model, convert it, write the project
    (into `out_dir`, or kit's cache when None, as `kit flash` does)."""
    real_board(board)
    if engine not in ENGINES:
        raise KitError(f"unknown engine '{engine}'", hint="choose --engine kit or --engine tflm")
    from kit.catalog.mlperf import model_id_for
    from kit.compile import convert
    from kit.train.reference import choose_model

    model_path = choose_model(lab, model, log)
    converted = convert(model_path, model_id=model_id_for(model_path, lab, model is None, model_id),
                        tflm=engine == "tflm")
    if out_dir is None:
        return cached_project(board, converted, engine, Path(model_path))
    return write_project(board, converted, Path(out_dir), engine=engine, model_path=Path(model_path))


def cached_project(board: str, converted: CompiledModel, engine: str, model_path: Path) -> RealProject:
    """The project `kit flash` uploads, kept in kit's cache (one folder per board, engine and
    model, so PlatformIO's incremental build is reused)."""
    key = hashlib.sha256(f"{board}|{engine}|{converted.sha256}|{converted.model_id}".encode()).hexdigest()[:16]
    out_dir = cache_dir("projects") / f"{board}-{engine}-{key}"
    return write_project(board, converted, out_dir, engine=engine, model_path=model_path)


__all__ = [
    "ENGINES", "INTERPRETER_KINDS", "PROFILER_KINDS", "ModelFacts", "RealProject", "TflmLibrary", "build_flags",
    "cached_project", "kernel_flags", "lib_deps", "model_facts", "platformio_ini", "project_boards", "project_for_lab",
    "real_board", "source_map", "tflm_library", "write_project",
]
