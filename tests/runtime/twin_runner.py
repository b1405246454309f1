"""Run kit's C runtime on an emulated board (QEMU twin) for a whole batch of inputs in one boot.

The program is bare metal: the board's HAL (startup, linker script, UART, timer), kit's
runtime and kernels, the generated model and a main that runs every input baked into flash
and prints per input `t TICKS HZ` (a plain invoke), `l LAYER-TICKS TICKS` (an invoke with a
per-op timing hook: the ops' ticks summed, and the whole) and `o OUTPUT-HEX`. Compiler, target flags, memory map and
QEMU command all come from the board catalog (`boards/<board>.toml`) and the PlatformIO board
entry naming its HAL, with the firmware's -O2, so the kernels compiled are the ones the firmware
runs on that board: Cortex-M4 with the DSP (SMLAD) paths, RV32 with the portable C.
The runtime and HAL are compiled once per board per session (objects cached by content).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kit.build.linker import layout_of, render_linker_script
from kit.build.project import hal_defines, kernel_flags
from kit.catalog import get_board
from kit.paths import FIRMWARE_DIR
from kit.runtime_host.build import COMMON_FLAGS, include_flags, runtime_headers, runtime_sources, warning_flags

MAIN_C = r"""
#include <string.h>
#include "kit_hal.h"
#include "kit_model.h"
#include "test_inputs.h"

static uint8_t arena[KIT_MODEL_ARENA_BYTES] __attribute__((aligned(16)));
static uint64_t op_start, layer_ticks;

/* Per-layer timing as the firmware's profiler takes it: ticks from before to after each op. */
static void time_layer(void *ctx, uint32_t op_index, int after) {
    uint64_t now = kit_hal_ticks();
    (void)ctx;
    (void)op_index;
    if (after) {
        layer_ticks += now - op_start;
    } else {
        op_start = now;
    }
}


static void put_hex(uint8_t byte) {
    static const char digits[] = "0123456789abcdef";
    kit_hal_putc(digits[byte >> 4]);
    kit_hal_putc(digits[byte & 15]);
}

static void put_u64(uint64_t value) {
    uint32_t i;
    for (i = 0; i < 8; ++i) {
        put_hex((uint8_t)(value >> (56 - 8 * i)));
    }
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
        put_u64(ticks);
        kit_hal_putc(' ');
        for (i = 0; i < 4; ++i) {
            put_hex((uint8_t)(kit_hal_timer_hz() >> (24 - 8 * i)));
        }
        kit_hal_putc('\n');
        layer_ticks = 0;
        memcpy(kit_model_input(&kit_model, arena), test_inputs[s], KIT_MODEL_INPUT_BYTES);
        kit_hal_timer_sync();
        start = kit_hal_ticks();
        if (kit_model_invoke(&kit_model, arena, time_layer, 0) != 0) {
            return 4;
        }
        ticks = kit_hal_ticks() - start;
        kit_hal_putc('l');
        kit_hal_putc(' ');
        put_u64(layer_ticks);
        kit_hal_putc(' ');
        put_u64(ticks);
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


@dataclass(frozen=True)
class TwinRun:
    """Raw output bytes per input (N, output bytes) and the timer ticks of each inference."""

    outputs: np.ndarray
    ticks: list[int]
    timer_hz: int
    layer_ticks: list[int]
    hooked_ticks: list[int]

    @property
    def instructions(self) -> list[float]:
        """Under -icount shift=0 one instruction takes 1 ns of virtual time."""
        return [t * 1e9 / self.timer_hz for t in self.ticks]


def _hal_of(board) -> str:
    """The HAL its board file names (the catalog requires [firmware] on emulated boards)."""
    hal = board.firmware.hal
    assert (FIRMWARE_DIR / "hal" / hal / "kit_link.ld.in").is_file(), f"{board.name}: no HAL folder {hal}"
    return hal


class Twin:
    """One emulated board: its toolchain, HAL and QEMU command, from the catalog."""

    def __init__(self, board_name: str, work: Path) -> None:
        self.board = get_board(board_name)
        self.hal = _hal_of(self.board)
        self.hal_dir = FIRMWARE_DIR / "hal" / self.hal
        toolchain, emulator = self.board.toolchain, self.board.emulator
        # --specs selects the C library; the compiler needs it too (picolibc's include path),
        # as the firmware's PlatformIO builder passes it.
        specs = [flag for flag in toolchain.ldflags if flag.startswith("--specs=")]
        self.compiler = [toolchain.compiler, *toolchain.cflags, *specs, *hal_defines(self.board),
                         *kernel_flags(self.board, self.board)]
        self.ldflags = [flag for flag in toolchain.ldflags if flag not in specs]
        self.qemu = [emulator.qemu, "-M", emulator.machine, *emulator.args, "-kernel"]
        self.layout = layout_of(emulator, emulator.code_size, emulator.ram_size)
        self.work = work / board_name
        self.work.mkdir(parents=True, exist_ok=True)
        self._objects: list[Path] | None = None

    def missing_tool(self) -> str | None:
        return next((tool for tool in (self.compiler[0], self.qemu[0]) if shutil.which(tool) is None), None)

    @property
    def flags(self) -> list[str]:
        return [*self.compiler, *COMMON_FLAGS, *warning_flags(), "-ffunction-sections", "-fdata-sections"]

    def _hal_includes(self) -> list[Path]:
        return [FIRMWARE_DIR / "hal", self.hal_dir]

    def objects(self) -> list[Path]:
        """Runtime, kernels and HAL compiled once for this board (reused by every model)."""
        if self._objects is None:
            sources = [*runtime_sources(), *sorted(self.hal_dir.glob("*.c"))]
            digest = hashlib.sha256(" ".join(self.flags).encode())
            for path in [*sources, *runtime_headers(), *sorted((FIRMWARE_DIR / "hal").glob("*.h"))]:
                digest.update(path.read_bytes())
            folder = self.work / f"objects-{digest.hexdigest()[:16]}"
            folder.mkdir(exist_ok=True)
            objects = []
            for source in sources:
                obj = folder / f"{source.parent.name}-{source.stem}.o"
                if not obj.is_file():
                    self._compile(["-c", str(source), "-o", str(obj)], self._hal_includes())
                objects.append(obj)
            self._objects = objects
        return self._objects

    def _compile(self, args: list[str], includes: list[Path]) -> None:
        completed = subprocess.run([*self.flags, *include_flags(includes), *args], capture_output=True, text=True)
        assert completed.returncode == 0, f"{self.board.name}: {completed.stderr[-3000:]}"

    def build(self, model_dir: Path, inputs: np.ndarray, name: str) -> Path:
        """An ELF running kit's model from `model_dir` on every input (int8 batch, first axis)."""
        folder = self.work / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "link.ld").write_text(render_linker_script(self.hal, self.layout))
        (folder / "main.c").write_text(MAIN_C)
        (folder / "test_inputs.h").write_text(inputs_header(inputs))
        elf = folder / "test.elf"
        self._compile(
            [str(model_dir / "kit_model.c"), str(folder / "main.c"), *map(str, self.objects()), "-nostartfiles",
             "-Wl,--gc-sections", *self.ldflags, "-T", str(folder / "link.ld"), "-o", str(elf)],
            [model_dir, folder, *self._hal_includes()],
        )
        return elf

    def run(self, model_dir: Path, inputs: np.ndarray, name: str, timeout: float = 600) -> TwinRun:
        """Build and boot once; every input's output bytes, checked complete."""
        elf = self.build(model_dir, inputs, name)
        run = subprocess.run([*self.qemu, str(elf)], capture_output=True, text=True, timeout=timeout)
        lines = run.stdout.splitlines()
        outputs = [bytes.fromhex(line.split()[1]) for line in lines if line.startswith("o ")]
        timings = [line.split()[1:3] for line in lines if line.startswith("t ")]
        layers = [[int(v, 16) for v in line.split()[1:3]] for line in lines if line.startswith("l ")]
        assert run.returncode == 0 and len(outputs) == len(inputs) == len(timings) == len(layers), (
            f"{self.board.name} {name}: status {run.returncode}, {len(outputs)} of {len(inputs)} outputs\n"
            + run.stdout[-1500:] + run.stderr[-1500:]
        )
        hz = {int(hz, 16) for _, hz in timings}
        assert len(hz) == 1 and 0 < next(iter(hz)) <= 10**10, f"timer frequency {hz}"
        return TwinRun(
            outputs=np.array([np.frombuffer(o, dtype=np.uint8) for o in outputs]),
            ticks=[int(ticks, 16) for ticks, _ in timings],
            timer_hz=next(iter(hz)),
            layer_ticks=[layer for layer, _ in layers],
            hooked_ticks=[whole for _, whole in layers],
        )


def inputs_header(inputs: np.ndarray) -> str:
    """The batch as a const int8 array in flash."""
    flat = np.ascontiguousarray(inputs).reshape(len(inputs), -1)
    rows = ",\n".join("{" + ",".join(str(int(v)) for v in row) + "}" for row in flat)
    return (
        "#include <stdint.h>\n"
        f"#define TEST_SAMPLES {len(flat)}u\n"
        f"static const int8_t test_inputs[{len(flat)}][{flat.shape[1]}] = {{\n{rows}\n}};\n"
    )


def output_bytes(outputs: np.ndarray) -> np.ndarray:
    """Any output batch (int8 or float32) as raw bytes per sample, to compare with a twin's."""
    flat = np.ascontiguousarray(outputs).reshape(len(outputs), -1)
    return flat.view(np.uint8).reshape(len(outputs), -1)
