"""The runtime and a generated model compile warning-free on every target kit supports."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from kit.compile.plan import SUPPORTED_OPS
from kit.runtime_host.build import COMMON_FLAGS, include_flags, runtime_sources, warning_flags

TARGETS = {
    "host-gcc": ["gcc"],
    "cortex-m4": ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", "-mthumb"],
    "cortex-m7": ["arm-none-eabi-gcc", "-mcpu=cortex-m7", "-mfpu=fpv5-d16", "-mfloat-abi=hard", "-mthumb"],
    "cortex-m55-helium": ["arm-none-eabi-gcc", "-mcpu=cortex-m55", "-mfloat-abi=hard", "-mthumb", "-DKIT_HELIUM_KERNELS"],
    "rv32imc": [
        "riscv64-unknown-elf-gcc", "-march=rv32imc", "-misa-spec=2.2", "-mabi=ilp32", "--specs=picolibc.specs",
    ],
}


EVERY_OP = set(SUPPORTED_OPS)


@pytest.fixture(scope="module")
def every_op_models(tmp_path_factory) -> list:
    """Generated models that together use every op kit supports (zoo seeds, first few enough)."""
    from kit.runtime_host import compile_model
    from tests.runtime.model_zoo import build_model

    folder = tmp_path_factory.mktemp("every-op")
    models, seen = [], set()
    for seed in range(32):
        compiled = compile_model(build_model(seed, folder).path)
        if set(compiled.op_names) - seen:
            models.append(compiled)
            seen |= set(compiled.op_names)
        if EVERY_OP <= seen:
            return models
    pytest.fail(f"no zoo seed uses {sorted(EVERY_OP - seen)}")


def _compile(target: str, source, include: list, tmp_path) -> None:
    compiler, *arch = TARGETS[target]
    command = [
        compiler, *arch, *COMMON_FLAGS, *warning_flags(), "-pedantic",
        *include_flags(include), "-c", str(source), "-o", str(tmp_path / (source.stem + ".o")),
    ]
    completed = subprocess.run(command, capture_output=True, text=True)
    assert completed.returncode == 0, f"{target}: {source}\n{completed.stderr}"
    assert "warning" not in completed.stderr.lower(), completed.stderr


def _require(target: str) -> None:
    if shutil.which(TARGETS[target][0]) is None:
        pytest.skip(f"{TARGETS[target][0]} is not installed (see deps/apt-packages.txt)")


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_runtime_and_model_compile_without_warnings(target, kws_model, tmp_path):
    _require(target)
    for source in [*runtime_sources(), kws_model.source]:
        _compile(target, source, [kws_model.directory], tmp_path)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_generated_code_for_every_op_compiles_without_warnings(target, every_op_models, tmp_path):
    """kws uses six ops; DEQUANTIZE, MEAN, PAD, CONCATENATION, MUL, LOGISTIC... come from the zoo."""
    _require(target)
    for compiled in every_op_models:
        _compile(target, compiled.source, [compiled.directory], tmp_path)
