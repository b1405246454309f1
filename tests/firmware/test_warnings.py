"""All firmware C (harness, each HAL, the feature pipelines, the test model) compiles warning-free with -Wall -Wextra
-Werror under host gcc, arm-none-eabi-gcc (Cortex-M4F, Cortex-M7) and riscv64-unknown-elf-gcc
(rv32imc)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from firmware_helpers import TEST_MODEL

from kit.build.lab import lab_files
from kit.paths import FIRMWARE_DIR, MODELS_DIR

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
               *sorted((FIRMWARE_DIR / "features").glob("*.c")), TEST_MODEL / "kit_model.c"]
    for source in sources:
        compile_warning_free(compiler, flags, source, tmp_path, target)


def compile_warning_free(compiler: str, flags: list[str], source: Path, tmp_path: Path, target: str,
                         extra: tuple[str, ...] = ()) -> None:
    result = subprocess.run([compiler, *WARNINGS, "-ffp-contract=off", *flags, *extra, f"-I{TEST_MODEL}",
                             f"-I{FIRMWARE_DIR / 'harness'}", f"-I{FIRMWARE_DIR / 'hal'}",
                             f"-I{FIRMWARE_DIR / 'features'}", "-c", str(source), "-o", str(tmp_path / "out.o")],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", f"{source.name} on {target}:\n{result.stderr}"
    assert Path(tmp_path / "out.o").stat().st_size > 0


@pytest.mark.parametrize("lab", ["kws", "visual-wake-words"])
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_the_harness_with_a_lab_compiles_warning_free(target, lab, tmp_path):
    """-DKIT_HAVE_LAB and a kit_lab.h as kit.build writes it (kit-features)."""
    compiler, flags, _ = TARGETS[target]
    (tmp_path / "kit_lab.h").write_text(lab_files(MODELS_DIR / lab / "card.json")["kit_lab.h"])
    compile_warning_free(compiler, flags, FIRMWARE_DIR / "harness" / "kit_harness.c", tmp_path, target,
                         ("-DKIT_HAVE_LAB", f"-I{tmp_path}"))
