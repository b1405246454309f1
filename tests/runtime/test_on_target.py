"""kit's runtime on the emulated cores (QEMU Cortex-M4/M7 and RV32) gives TFLM's bytes.

A tiny bare-metal program (the HAL's startup and linker script, a main that runs a few
inputs baked into flash and prints each output as hex) is built with the cross compilers
directly, so this checks the runtime itself on the target ISA, independent of the firmware
harness and PlatformIO. The kws reference model runs about 7.7M instructions per inference on the M4, 13.7M on rv32.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from kit.build.linker import MemoryLayout, render_linker_script
from kit.paths import FIRMWARE_DIR
from kit.runtime_host.build import COMMON_FLAGS, include_flags, runtime_sources, warning_flags
from kit.tflm import TflmInterpreter
from tests.runtime.conftest import random_inputs

SAMPLES = 4
MB = 1024 * 1024

TARGETS = {
    "cortex-m4": {
        "cc": ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", "-mthumb",
               "--specs=nano.specs"],
        "hal": "qemu-mps2",
        "layout": MemoryLayout(flash_origin=0x0, flash_bytes=4 * MB, ram_origin=0x20000000, ram_bytes=4 * MB),
        "qemu": ["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-icount", "shift=0",
                 "-semihosting-config", "enable=on,target=native", "-kernel"],
    },
    "cortex-m7": {
        "cc": ["arm-none-eabi-gcc", "-mcpu=cortex-m7", "-mfpu=fpv5-d16", "-mfloat-abi=hard", "-mthumb",
               "--specs=nano.specs"],
        "hal": "qemu-mps2",
        "layout": MemoryLayout(flash_origin=0x0, flash_bytes=4 * MB, ram_origin=0x20000000, ram_bytes=4 * MB),
        "qemu": ["qemu-system-arm", "-M", "mps2-an500", "-nographic", "-icount", "shift=0",
                 "-semihosting-config", "enable=on,target=native", "-kernel"],
    },
    "rv32imc": {
        "cc": ["riscv64-unknown-elf-gcc", "-march=rv32imc", "-misa-spec=2.2", "-mabi=ilp32",
               "--specs=picolibc.specs"],
        "hal": "qemu-riscv-virt",
        "layout": MemoryLayout(flash_origin=0x80000000, flash_bytes=4 * MB, ram_origin=0x80400000, ram_bytes=4 * MB),
        "qemu": ["qemu-system-riscv32", "-M", "virt", "-bios", "none", "-nographic", "-icount", "shift=0", "-kernel"],
    },
}

MAIN_C = r"""
#include <string.h>
#include "kit_hal.h"
#include "kit_model.h"
#include "test_inputs.h"

static uint8_t arena[KIT_MODEL_ARENA_BYTES] __attribute__((aligned(16)));

static void put_hex(uint8_t byte) {
    static const char digits[] = "0123456789abcdef";
    kit_hal_putc(digits[byte >> 4]);
    kit_hal_putc(digits[byte & 15]);
}

int main(void) {
    uint32_t s, i;
    kit_hal_init();
    for (s = 0; s < TEST_SAMPLES; ++s) {
        const uint8_t *out;
        uint64_t start, ticks;
        memcpy(kit_model_input(&kit_model, arena), test_inputs[s], KIT_MODEL_INPUT_BYTES);
        kit_hal_timer_sync();
        start = kit_hal_ticks();
        if (kit_model_invoke(&kit_model, arena, 0, 0) != 0) {
            return 3;
        }
        ticks = kit_hal_ticks() - start;
        kit_hal_putc('t');
        kit_hal_putc(' ');
        for (i = 0; i < 8; ++i) {
            put_hex((uint8_t)(ticks >> (56 - 8 * i)));
        }
        kit_hal_putc(' ');
        for (i = 0; i < 4; ++i) {
            put_hex((uint8_t)(kit_hal_timer_hz() >> (24 - 8 * i)));
        }
        kit_hal_putc('\n');
        out = (const uint8_t *)kit_model_output(&kit_model, arena);
        kit_hal_putc('o');
        kit_hal_putc(' ');
        for (i = 0; i < KIT_MODEL_OUTPUT_BYTES; ++i) {
            put_hex(out[i]);
        }
        kit_hal_putc('\n');
    }
    kit_hal_flush();
    return 0;
}
"""


def _inputs_header(inputs: np.ndarray) -> str:
    rows = ",\n".join("{" + ", ".join(str(int(v)) for v in row) + "}" for row in inputs.reshape(len(inputs), -1))
    return (
        "#include <stdint.h>\n"
        f"#define TEST_SAMPLES {len(inputs)}u\n"
        f"static const int8_t test_inputs[{len(inputs)}][{inputs[0].size}] = {{\n{rows}\n}};\n"
    )


def _build(target: str, model_dir: Path, work: Path) -> Path:
    spec = TARGETS[target]
    hal_dir = FIRMWARE_DIR / "hal" / spec["hal"]
    (work / "link.ld").write_text(render_linker_script(spec["hal"], spec["layout"]))
    (work / "main.c").write_text(MAIN_C)
    sources = [*runtime_sources(), model_dir / "kit_model.c", *sorted(hal_dir.glob("*.c")), work / "main.c"]
    elf = work / "test.elf"
    command = [
        *spec["cc"], *COMMON_FLAGS, *warning_flags(), "-nostartfiles", "-Wl,--gc-sections",
        *include_flags([model_dir, work, FIRMWARE_DIR / "hal", hal_dir]),
        *map(str, sources), "-T", str(work / "link.ld"), "-o", str(elf),
    ]
    completed = subprocess.run(command, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    return elf


@pytest.mark.slow
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_kws_on_emulated_core_matches_tflm(target, kws_model, mlperf_models, tmp_path):
    spec = TARGETS[target]
    for tool in (spec["cc"][0], spec["qemu"][0]):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (see deps/apt-packages.txt)")
    inputs = random_inputs(kws_model.input_shape, SAMPLES, seed=11)
    (tmp_path / "test_inputs.h").write_text(_inputs_header(inputs))
    elf = _build(target, kws_model.directory, tmp_path)
    run = subprocess.run([*spec["qemu"], str(elf)], capture_output=True, text=True, timeout=120)
    lines = [line.split()[1] for line in run.stdout.splitlines() if line.startswith("o ")]
    assert run.returncode == 0 and len(lines) == SAMPLES, run.stdout[-2000:] + run.stderr[-2000:]
    for line in run.stdout.splitlines():  # instructions per inference, shown with -s / on failure
        if line.startswith("t "):
            ticks, hz = (int(v, 16) for v in line.split()[1:3])
            print(f"{target}: {ticks * 1e9 / hz:,.0f} instructions per kws inference")
    got = np.array([np.frombuffer(bytes.fromhex(line), dtype=np.int8) for line in lines])
    expected = TflmInterpreter(mlperf_models["kws_ref_model"]).run(inputs).reshape(SAMPLES, -1)
    assert np.array_equal(got, expected), f"{target}: kit {got.tolist()} tflm {expected.tolist()}"


# The other MLPerf models and the generated zoo run on the twins in test_twins_vs_tflm.py.
