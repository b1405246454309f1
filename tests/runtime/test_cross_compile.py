"""The runtime and a generated model compile warning-free on every target kit supports."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from kit.runtime_host.build import COMMON_FLAGS, include_flags, runtime_sources, warning_flags

TARGETS = {
    "host-gcc": ["gcc"],
    "cortex-m4": ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", "-mthumb"],
    "cortex-m7": ["arm-none-eabi-gcc", "-mcpu=cortex-m7", "-mfpu=fpv5-d16", "-mfloat-abi=hard", "-mthumb"],
    "rv32imc": [
        "riscv64-unknown-elf-gcc", "-march=rv32imc", "-misa-spec=2.2", "-mabi=ilp32", "--specs=picolibc.specs",
    ],
}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_runtime_and_model_compile_without_warnings(target, kws_model, tmp_path):
    compiler, *arch = TARGETS[target]
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed (see deps/apt-packages.txt)")
    for source in [*runtime_sources(), kws_model.source]:
        command = [
            compiler, *arch, *COMMON_FLAGS, *warning_flags(), "-pedantic",
            *include_flags([kws_model.directory]), "-c", str(source), "-o", str(tmp_path / (source.stem + ".o")),
        ]
        completed = subprocess.run(command, capture_output=True, text=True)
        assert completed.returncode == 0, f"{target}: {source.name}\n{completed.stderr}"
        assert "warning" not in completed.stderr.lower(), completed.stderr
