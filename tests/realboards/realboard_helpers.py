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

REAL_BOARDS = ("nicla-vision", "nano33-ble-sense", "xiao-esp32s3")
STUBS = Path(__file__).resolve().parent / "stubs"
WARNINGS = ["-Wall", "-Wextra", "-Werror"]
# What the Arduino framework defines for each board under PlatformIO (ARDUINO, and the board
# macro of the PlatformIO board manifest): TFLM's Arduino libraries guard on them.
FRAMEWORK_DEFINES = {
    "nicla-vision": ["-DARDUINO=10810", "-DSTM32H7", "-DARDUINO_NICLA_VISION"],
    "nano33-ble-sense": ["-DARDUINO=10810", "-DARDUINO_ARDUINO_NANO33BLE", "-DARDUINO_ARCH_NRF52840"],
    "xiao-esp32s3": ["-DARDUINO=10810", "-DARDUINO_XIAO_ESP32S3", "-DARDUINO_ARCH_ESP32"],
}
# Native stand-in flavour per HAL: which stub parts to compile and the core's clock.
CORE_DEFINES = {
    "nicla-vision": ["-DKIT_STUB_MBED", "-D__CORTEX_M=7U", "-DKIT_STUB_CORE_CLOCK=480000000u"],
    "nano33-ble-sense": ["-DKIT_STUB_MBED", "-D__CORTEX_M=4U", "-DKIT_STUB_CORE_CLOCK=64000000u"],
    "xiao-esp32s3": ["-DKIT_STUB_ESP32"],
}


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
    common = [*flags.defines, *FRAMEWORK_DEFINES[board], *CORE_DEFINES[board], *extra, *includes, "-O1",
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
