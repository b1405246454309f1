"""Helpers for the real-board tests. No real board exists on the machines that run these
tests: the generated PlatformIO projects are compiled with the HOST compilers against the
stand-ins in stubs/ (clearly stand-ins for the Arduino, mbed/CMSIS, ESP-IDF and TFLM APIs)
and run as native programs whose Serial is their stdin/stdout."""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from platformio.project.config import ProjectConfig

from kit import catalog
from kit.build.realboard import project_boards

# Every board `kit project` writes for: the catalog's boards with a [platformio] table. A new
# board file joins every real-board test below without a test edit.
REAL_BOARDS = tuple(project_boards())
STUBS = Path(__file__).resolve().parent / "stubs"
WARNINGS = ["-Wall", "-Wextra", "-Werror"]
# Which stand-in parts (stubs/arduino_stub.cpp) play each Arduino core. Keyed by HAL, not by
# board: a board picks its HAL in its board file.
STUB_FLAVOUR = {"arduino-mbed": ["-DKIT_STUB_MBED"], "arduino-esp32": ["-DKIT_STUB_ESP32"]}


def framework_defines(board: str) -> list[str]:
    """What the Arduino framework defines for the board under PlatformIO (ARDUINO, the board
    macro of its manifest): TFLM's Arduino libraries guard on them. From the board file."""
    platformio = catalog.get_board(board).platformio
    assert platformio is not None
    return list(platformio.framework_defines)


def cortex_m(board: str) -> list[str]:
    """-D__CORTEX_M=<n>U for a Cortex-M board (what CMSIS defines), from its board file's core."""
    match = re.fullmatch(r"cortex-m(\d+)", catalog.get_board(board).core)
    return [f"-D__CORTEX_M={match.group(1)}U"] if match else []


def core_defines(board: str) -> list[str]:
    """The native stand-in flavour of the board's HAL, its core and clock (board file)."""
    entry = catalog.get_board(board)
    assert entry.firmware is not None and entry.firmware.hal in STUB_FLAVOUR, f"no stand-in for {board}'s HAL"
    return [*STUB_FLAVOUR[entry.firmware.hal], *cortex_m(board), f"-DKIT_STUB_CORE_CLOCK={entry.clock_hz}u"]


@dataclass(frozen=True)
class IniFlags:
    defines: list[str]
    includes: list[str]
    other: list[str]


def ini_flags(project_dir: Path) -> IniFlags:
    """build_flags of the project's only environment, read by PlatformIO's own parser."""
    config = ProjectConfig(str(project_dir / "platformio.ini"))
    env = config.envs()[0]
    flags: list[str] = []
    for entry in config.get(f"env:{env}", "build_flags"):
        flags += shlex.split(entry)
    return IniFlags(
        defines=[f for f in flags if f.startswith("-D")],
        includes=[f[2:] for f in flags if f.startswith("-I")],
        other=[f for f in flags if not f.startswith(("-D", "-I"))],
    )


def tflm_stub_includes(project_dir: Path) -> list[str]:
    """-I flags for the stand-in of the TFLM library a project's kit_tflm_library.h names
    (stubs/tflm/<header name>/, one folder per pinned library version) and the parts all
    versions share; none for a kit-engine project."""
    library_header = project_dir / "src" / "model" / "kit_tflm_library.h"
    if not library_header.is_file():
        return []
    match = re.search(r"#include <(\w+)\.h>", library_header.read_text())
    assert match, f"{library_header} includes no library header"
    library_dir = STUBS / "tflm" / match.group(1)
    assert library_dir.is_dir(), f"no stand-in for the TFLM library {match.group(1)} in {STUBS / 'tflm'}"
    return [f"-I{library_dir}", f"-I{STUBS / 'tflm' / 'common'}"]


def build_native(project_dir: Path, board: str, out: Path, extra: tuple[str, ...] = ()) -> Path:
    """Compile every source of a generated project (C as C99, C++ as C++11, warnings as
    errors) plus the stand-ins, and link a native program."""
    flags = ini_flags(project_dir)
    includes = [f"-I{project_dir / d}" for d in flags.includes] + [f"-I{STUBS}", *tflm_stub_includes(project_dir)]
    common = [*flags.defines, *framework_defines(board), *core_defines(board), *extra, *includes, "-O1",
              "-ffp-contract=off"]
    objects: list[str] = []
    out.mkdir(parents=True, exist_ok=True)
    sources = sorted((project_dir / "src").rglob("*"))
    for index, source in enumerate([*sources, STUBS / "arduino_stub.cpp"]):
        if source.suffix == ".c":
            compiler = ["gcc", "-std=c99", *WARNINGS]
        elif source.suffix in (".cpp", ".cc"):
            compiler = ["g++", "-std=c++11", *WARNINGS]
        else:
            continue
        obj = out / f"{index:03d}-{source.stem}.o"
        subprocess.run([*compiler, *common, "-c", str(source), "-o", str(obj)], check=True,
                       capture_output=True, text=True)
        objects.append(str(obj))
    binary = out / "firmware"
    subprocess.run(["g++", *objects, "-lm", "-o", str(binary)], check=True, capture_output=True, text=True)
    return binary


def checksum_model(data: bytes, outputs: int) -> bytes:
    """What the stand-in TFLM interpreter computes: out[k] = sum_i in[i] * (i + k + 1) mod 256."""
    return bytes(sum(value * (i + k + 1) for i, value in enumerate(data)) & 0xFF for k in range(outputs))
