"""The real-board HAL, sketch and TFLM glue compiled (-c, warnings as errors) for 32-bit
targets against the stand-ins in stubs/: arm-none-eabi with each Arduino mbed board's own
catalog flags (Cortex-M7 / Cortex-M4, softfp like the Arduino mbed core), and rv32imc as a
32-bit stand-in for the ESP32-S3 (no Xtensa compiler exists in Debian). The real Arduino
cores and TFLM are not installable offline here, so nothing is linked."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kit import catalog

from realboard_helpers import REAL_BOARDS, STUBS, cortex_m, framework_defines, ini_flags, tflm_stub_includes

STUB_TFLM = ["-DKIT_STUB_INPUT_BYTES=490u", "-DKIT_STUB_OUTPUT_BYTES=12u", "-DKIT_STUB_NODES=13u"]
RV32 = ["--specs=picolibc.specs", "-march=rv32imc", "-misa-spec=2.2", "-mabi=ilp32"]
# The 32-bit compiler that stands in for each Arduino core's (keyed by HAL, which the board file names).
CROSS = {"arduino-mbed": "arm-none-eabi", "arduino-esp32": "riscv64-unknown-elf"}


def _target(board: str) -> tuple[str, list[str]]:
    """(compiler prefix, target flags): an Arm board's own catalog cflags and __CORTEX_M; the
    rv32imc stand-in for the Xtensa boards."""
    entry = catalog.get_board(board)
    prefix = CROSS[entry.firmware.hal]
    if prefix == "arm-none-eabi":
        return prefix, [*entry.toolchain.cflags, *cortex_m(board)]  # the board's own flags from the catalog
    return prefix, RV32


def _sources(project_dir: Path, engine: str, prefix: str) -> list[Path]:
    src = project_dir / "src"
    files = [src / "kit_sketch.cpp", *sorted((src / "hal").rglob("*.cpp")), *sorted((src / "hal").rglob("*.c"))]
    # Debian's RISC-V toolchain has no C++ standard library headers (<cstdint>) for the glue.
    if engine == "tflm" and prefix == "arm-none-eabi":
        files.append(src / "model" / "kit_tflm_engine.cpp")
    return files


@pytest.mark.parametrize("engine", ["kit", "tflm"])
@pytest.mark.parametrize("board", sorted(REAL_BOARDS))
def test_arduino_sources_compile_warning_free_for_32_bit_targets(projects, board: str, engine: str, tmp_path: Path) -> None:
    prefix, target_flags = _target(board)
    if shutil.which(f"{prefix}-g++") is None:
        pytest.skip(f"{prefix}-g++ is not installed")
    project = projects[(board, engine)]
    flags = ini_flags(project.project_dir)
    includes = [f"-I{project.project_dir / d}" for d in flags.includes] + [f"-I{STUBS}",
                                                                           *tflm_stub_includes(project.project_dir)]
    for source in _sources(project.project_dir, engine, prefix):
        if source.suffix == ".c":
            command = [f"{prefix}-gcc", "-std=c99"]
        else:
            command = [f"{prefix}-g++", "-std=c++11", "-fno-exceptions", "-fno-rtti"]
        command += [*target_flags, "-Wall", "-Wextra", "-Werror", "-O2", *flags.defines, *framework_defines(board), *STUB_TFLM, *includes,
                    "-c", str(source), "-o", str(tmp_path / (source.stem + ".o"))]
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode == 0, f"{source.name}:\n{result.stderr}"
