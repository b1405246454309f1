"""All firmware C (harness, each HAL, the test model) compiles warning-free with -Wall -Wextra
-Werror under host gcc, arm-none-eabi-gcc (Cortex-M4F, Cortex-M7) and riscv64-unknown-elf-gcc
(rv32imc)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from firmware_helpers import TEST_MODEL

from kit.paths import FIRMWARE_DIR

WARNINGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffunction-sections", "-fdata-sections"]
TARGETS = {
    "host-gcc": ("gcc", [], "host"),
    "cortex-m4": ("arm-none-eabi-gcc", ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard",
                                        "--specs=nano.specs"], "qemu-mps2"),
    "cortex-m7": ("arm-none-eabi-gcc", ["-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard",
                                        "--specs=nano.specs"], "qemu-mps2"),
    "rv32imc": ("riscv64-unknown-elf-gcc", ["-march=rv32imc", "-misa-spec=2.2", "-mabi=ilp32",
                                            "--specs=picolibc.specs"], "qemu-riscv-virt"),
}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_firmware_compiles_warning_free(target, tmp_path):
    compiler, flags, hal = TARGETS[target]
    if shutil.which(compiler) is None:
        pytest.fail(f"{compiler} is missing: install it with scripts/setup.sh")
    sources = [*sorted((FIRMWARE_DIR / "harness").glob("*.c")), *sorted((FIRMWARE_DIR / "hal" / hal).glob("*.c")),
               TEST_MODEL / "kit_model.c"]
    for source in sources:
        result = subprocess.run([compiler, *WARNINGS, *flags, f"-I{TEST_MODEL}", f"-I{FIRMWARE_DIR / 'harness'}",
                                 f"-I{FIRMWARE_DIR / 'hal'}", "-c", str(source), "-o", str(tmp_path / "out.o")],
                                capture_output=True, text=True)
        assert result.returncode == 0 and result.stderr == "", f"{source.name} on {target}:\n{result.stderr}"
        assert Path(tmp_path / "out.o").stat().st_size > 0
