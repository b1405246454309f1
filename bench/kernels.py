"""Instructions per MAC of kit's int8 kernels, by layer type, on the emulated cores.

    .venv/bin/python bench/kernels.py [--models kws_ref_model,...] [--targets cortex-m4,cortex-m55,rv32imc]
                                      [--variants portable,optimised,helium] [--trace-targets cortex-m4]
                                      [--json FILE]

For every MLPerf Tiny model, target and kernel variant (`portable`: -DKIT_PORTABLE_KERNELS,
the C loops every core runs; `optimised`: the default build, which on Cortex-M4/M7/M55 uses
the DSP-extension kernels; `helium`: -DKIT_HELIUM_KERNELS, the MVE loops for CONV_2D,
DEPTHWISE_CONV_2D (depth multiplier 1) and FULLY_CONNECTED, on cores with Helium only: the
Cortex-M55 on QEMU mps3-an547) a bare-metal program runs one invoke under QEMU `-icount shift=0`
(one instruction per virtual ns) with an op hook that reads the tick counter around every
op. It prints instructions per MAC per layer type, the whole invoke, whether the output
equals TFLM's bytes, per layer type on a Helium core portable vs Arm DSP vs Helium side by
side with Helium's speed-up, the published anchors from issue 13 beside them, and the runtime's
.text per target and variant. QEMU counts instructions, not cycles (it models no pipeline:
loads, load/store multiples and taken branches cost more than one cycle on a real Cortex-M4),
so the anchors measured in cycles on a board are another unit. For the --trace-targets
(default cortex-m4) a second program runs one hooked invoke under QEMU's block log
(bench/cycles.py): the dynamic instruction mix per layer type and, on the Cortex-M4, an
ESTIMATE of cycles from that mix with the Cortex-M4 TRM's instruction timings (labelled
"est."; bench/cycles.py says what it assumes and ignores), beside the anchors measured in
cycles. The mix is checked against the same run's tick counts (within one tick per op: 40
instructions on the M4's 25 MHz SysTick, exactly on rv32's mcycle); the traced "invoke" row
is the hooked invoke, so it includes the hook's timer reads. "other ops" are the instructions
of the ops without MACs (pooling, ADD, SOFTMAX, RESHAPE); per-op figures include the op hook's
timer reads (tens of instructions per op), the whole-invoke figure does not.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))

from kit.build.linker import MemoryLayout, layout_of, render_linker_script  # noqa: E402
from kit.build.project import hal_defines  # noqa: E402
from kit.catalog import list_boards  # noqa: E402
from kit.catalog.models import Board  # noqa: E402
from kit.compile import convert  # noqa: E402
from kit.compile.plan import OpPlan, Plan  # noqa: E402
from kit.compile.macs import count_macs  # noqa: E402
from kit.compile.tflite import load_model  # noqa: E402
from kit.paths import FIRMWARE_DIR  # noqa: E402
from kit.runtime_host.build import COMMON_FLAGS, include_flags, runtime_sources, warning_flags  # noqa: E402
from kit.tflm import TflmInterpreter  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cycles  # noqa: E402  (bench/cycles.py: the block-log tracer and the cycle model)

MLPERF_DIR = REPO / "tests" / "data" / "mlperf-tiny"
MODELS = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8", "str_ww_ref_model"]
QEMU_TIMEOUT_S = 300

# Published / measured anchors (issue 13): instructions or cycles per MAC.
ANCHORS: dict[str, dict[str, float]] = {
    "kit before (M4 instr)": {"kws_ref_model": 8.60, "vww_96_int8": 8.30, "pretrainedResnet_quant": 4.90,
                              "ad01_int8": 4.02},
    "kit at 1270b68, before the kern branch (M4 instr)": {"kws_ref_model": 2.90, "vww_96_int8": 3.14,
                                                         "pretrainedResnet_quant": 2.03, "ad01_int8": 1.99,
                                                         "str_ww_ref_model": 2.49},
    "TFLM+CMSIS-NN (M4 twin instr)": {"kws_ref_model": 2.90, "vww_96_int8": 3.22, "pretrainedResnet_quant": 2.39,
                                      "ad01_int8": 2.21, "str_ww_ref_model": 2.70},
    "TFLM reference (M4 twin instr)": {"kws_ref_model": 16.2, "vww_96_int8": 13.4, "pretrainedResnet_quant": 8.6,
                                       "ad01_int8": 7.4, "str_ww_ref_model": 10.0},
    "X-CUBE-AI 10.2 (L4R5 cycles)": {"kws_ref_model": 1.96, "vww_96_int8": 1.43, "pretrainedResnet_quant": 1.59,
                                     "ad01_int8": 2.18},
    "Plumerai v1.1 (L4R5 cycles)": {"kws_ref_model": 2.16, "vww_96_int8": 1.58, "pretrainedResnet_quant": 1.61,
                                    "ad01_int8": 1.84},
    "goal (M4 instr)": {"kws_ref_model": 1.5, "vww_96_int8": 1.5, "pretrainedResnet_quant": 1.5, "ad01_int8": 2.0},
    # rv32imc (emu-rv32: the portable C kernels), issue 13's "2x fewer instructions"
    "kit before (rv32 instr)": {"kws_ref_model": 5.12, "vww_96_int8": 5.39, "pretrainedResnet_quant": 4.26,
                                "ad01_int8": 4.89, "str_ww_ref_model": 4.74},
    "kit after the rv32 branch (rv32 instr)": {"kws_ref_model": 3.36, "vww_96_int8": 3.84,
                                               "pretrainedResnet_quant": 3.21, "ad01_int8": 3.53,
                                               "str_ww_ref_model": 3.68},
    "goal: half of before (rv32 instr)": {"kws_ref_model": 2.56, "vww_96_int8": 2.70, "pretrainedResnet_quant": 2.13,
                                          "ad01_int8": 2.45, "str_ww_ref_model": 2.37},
}


@dataclass(frozen=True)
class Target:
    """A cross compiler, the HAL whose startup and linker script it links, and its QEMU."""

    cc: tuple[str, ...]
    size_tool: str
    hal: str
    layout: MemoryLayout
    qemu: tuple[str, ...]


def _target(board: Board) -> Target:
    """An emulated board's compiler, HAL, memory map and QEMU command, from its board file."""
    assert board.toolchain is not None and board.emulator is not None and board.firmware is not None
    toolchain, emulator = board.toolchain, board.emulator
    return Target(
        (toolchain.compiler, *toolchain.cflags, *toolchain.ldflags, *hal_defines(board)),
        re.sub(r"gcc$", "size", toolchain.compiler), board.firmware.hal,
        layout_of(emulator, emulator.code_size, emulator.ram_size),
        (emulator.qemu, "-M", emulator.machine, *emulator.args, "-kernel"))


# One target per emulated core (cortex-m4, cortex-m7, cortex-m55, rv32imc), from the emulated boards.
TARGETS: dict[str, Target] = {board.core: _target(board) for board in list_boards() if board.is_emulated}

VARIANT_FLAGS = {"portable": ["-DKIT_PORTABLE_KERNELS"], "optimised": [], "helium": ["-DKIT_HELIUM_KERNELS"]}
HELIUM_TARGETS = {board.core for board in list_boards() if board.is_emulated and "helium" in board.simd}


def variants_for(target: str, variants: list[str]) -> list[str]:
    """`helium` (the MVE loops, -DKIT_HELIUM_KERNELS) only where the core has Helium."""
    return [v for v in variants if v != "helium" or target in HELIUM_TARGETS]

# One invoke with a tick read around every op; prints "op I TICKS", "total TICKS HZ", "out HEX".
MAIN_C = r"""
#include <string.h>
#include "kit_hal.h"
#include "kit_model.h"
#include "bench_input.h"

static uint8_t arena[KIT_MODEL_ARENA_BYTES] __attribute__((aligned(16)));
static uint64_t op_start[KIT_MODEL_OP_COUNT], op_ticks[KIT_MODEL_OP_COUNT];

static void put_hex(uint32_t value, int digits) {
    static const char hex[] = "0123456789abcdef";
    while (digits-- > 0) {
        kit_hal_putc(hex[(value >> (4 * digits)) & 15u]);
    }
}

static void put_line(const char *tag, uint32_t a, uint32_t b) {
    while (*tag) {
        kit_hal_putc(*tag++);
    }
    put_hex(a, 8);
    kit_hal_putc(' ');
    put_hex(b, 8);
    kit_hal_putc('\n');
}

static void hook(void *ctx, uint32_t op, int after) {
    (void)ctx;
    if (after) {
        op_ticks[op] = kit_hal_ticks() - op_start[op];
    } else {
        op_start[op] = kit_hal_ticks();
    }
}

static void put_op_ticks(void) {
    uint32_t i;
    for (i = 0; i < KIT_MODEL_OP_COUNT; ++i) {
        put_line("op ", i, (uint32_t)op_ticks[i]);
    }
}

/* One invoke on the bench input (with `op_hook` around every op, or none), its ticks printed
 * as "total", then the output bytes as "o <hex>". */
static int timed_invoke(kit_op_hook_t op_hook) {
    uint32_t i;
    uint64_t start, total;
    const uint8_t *out;
    memcpy(kit_model_input(&kit_model, arena), bench_input, KIT_MODEL_INPUT_BYTES);
    kit_hal_timer_sync();
    start = kit_hal_ticks();
    if (kit_model_invoke(&kit_model, arena, op_hook, 0) != 0) {
        return 1;
    }
    total = kit_hal_ticks() - start;
    put_line("total ", (uint32_t)total, kit_hal_timer_hz());
    out = (const uint8_t *)kit_model_output(&kit_model, arena);
    kit_hal_putc('o');
    kit_hal_putc(' ');
    for (i = 0; i < KIT_MODEL_OUTPUT_BYTES; ++i) {
        put_hex(out[i], 2);
    }
    kit_hal_putc('\n');
    return 0;
}

int main(void) {
    kit_hal_init();
    if (timed_invoke(0) != 0) {
        return 3;
    }
    memcpy(kit_model_input(&kit_model, arena), bench_input, KIT_MODEL_INPUT_BYTES);
    kit_hal_timer_sync();
    if (kit_model_invoke(&kit_model, arena, hook, 0) != 0) {
        return 4;
    }
    put_op_ticks();
    kit_hal_flush();
    return 0;
}
"""


# One hooked invoke only, for the block log: timer reads before it, around every op, after it.
TRACE_MAIN_C = MAIN_C[: MAIN_C.index("int main(void)")] + r"""
int main(void) {
    kit_hal_init();
    if (timed_invoke(hook) != 0) {
        return 3;
    }
    put_op_ticks();
    kit_hal_flush();
    return 0;
}
"""


@dataclass
class Run:
    """What one (model, target, variant) measured."""

    total_instructions: float
    op_instructions: list[float]
    exact: bool


@dataclass
class ModelInfo:
    """A compiled MLPerf model: its plan, MACs per planned op and the layer type of each op."""

    name: str
    path: Path
    kit_dir: Path
    plan: Plan
    macs: list[int]
    kinds: list[str]
    total_macs: int
    input: np.ndarray = field(repr=False)
    expected: np.ndarray = field(repr=False)


def layer_kind(plan: Plan, op: OpPlan) -> str:
    """Layer type for the table: convolutions split by their filter's spatial size."""
    if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D") and len(op.inputs) > 1:
        shape = plan.tensors[op.inputs[1]].shape
        kind = "CONV" if op.op == "CONV_2D" else "DW"
        return f"{kind} {shape[1]}x{shape[2]}"
    if op.op == "FULLY_CONNECTED":
        return "FC"
    return op.op


def load_info(name: str, path: Path | None = None) -> ModelInfo:
    """Compile an MLPerf model (or the .tflite at `path`) and take TFLM's output for the bench input."""
    path = path or MLPERF_DIR / f"{name}.tflite"
    result = convert(path)
    plan = result.plan
    costs = count_macs(load_model(path))
    macs = [costs[op.index].macs for op in plan.ops]
    shape = plan.input.shape
    sample = np.random.default_rng(7).integers(-128, 128, size=(1, *shape[1:]), dtype=np.int8)
    expected = TflmInterpreter(path).run(sample).reshape(-1).view(np.uint8)
    return ModelInfo(name, path, result.kit_dir, plan, macs, [layer_kind(plan, op) for op in plan.ops],
                     sum(macs), sample, expected)


def _input_header(sample: np.ndarray) -> str:
    values = ", ".join(str(int(v)) for v in sample.reshape(-1))
    return f"#include <stdint.h>\nstatic const int8_t bench_input[{sample.size}] = {{{values}}};\n"


def build(target: Target, variant: str, info: ModelInfo, work: Path, main_source: str = MAIN_C) -> Path:
    hal_dir = FIRMWARE_DIR / "hal" / target.hal
    (work / "link.ld").write_text(render_linker_script(target.hal, target.layout))
    (work / "main.c").write_text(main_source)
    (work / "bench_input.h").write_text(_input_header(info.input))
    sources = [*runtime_sources(), info.kit_dir / "kit_model.c", *sorted(hal_dir.glob("*.c")), work / "main.c"]
    elf = work / "bench.elf"
    command = [
        *target.cc, *COMMON_FLAGS, *warning_flags(), *VARIANT_FLAGS[variant], "-nostartfiles", "-Wl,--gc-sections",
        *include_flags([info.kit_dir, work, FIRMWARE_DIR / "hal", hal_dir]),
        *map(str, sources), "-T", str(work / "link.ld"), "-o", str(elf),
    ]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"build failed for {info.name}:\n{completed.stderr[-3000:]}")
    return elf


def run(target: Target, elf: Path, info: ModelInfo) -> Run:
    completed = subprocess.run([*target.qemu, str(elf)], capture_output=True, text=True, timeout=QEMU_TIMEOUT_S)
    return parse_run(completed.stdout, completed.returncode, elf, info)


def parse_run(stdout: str, returncode: int, elf: Path, info: ModelInfo) -> Run:
    """The bench program's `total`, `op` and `o` lines -> instruction counts and TFLM equality."""
    total, hz, ops, out = 0, 1, [0.0] * len(info.plan.ops), ""
    for line in stdout.splitlines():
        parts = line.split()
        if parts[:1] == ["total"]:
            total, hz = int(parts[1], 16), int(parts[2], 16)
        elif parts[:1] == ["op"]:
            ops[int(parts[1], 16)] = int(parts[2], 16)
        elif parts[:1] == ["o"] and len(parts) == 2:
            out = parts[1]
    if returncode != 0 or not out:
        raise SystemExit(f"{info.name} on {elf}: exit {returncode}\n{stdout[-2000:]}")
    scale = 1e9 / hz  # ticks -> instructions (1 ns per instruction)
    exact = bytes.fromhex(out) == info.expected.tobytes()
    return Run(total * scale, [t * scale for t in ops], exact)


def text_bytes(target: Target, variant: str, work: Path) -> int:
    """.text of the runtime alone (executor + every kernel), as bench/runtime_size.py counts it."""
    total = 0
    for source in runtime_sources():
        obj = work / f"{source.stem}.o"
        command = [*target.cc, *COMMON_FLAGS, *warning_flags(), *VARIANT_FLAGS[variant], *include_flags(), "-c",
                   str(source), "-o", str(obj)]
        subprocess.run(command, check=True, capture_output=True)
        line = subprocess.run([target.size_tool, str(obj)], capture_output=True, text=True, check=True).stdout
        total += int(line.splitlines()[1].split()[0])
    return total


def by_kind(info: ModelInfo, result: Run) -> dict[str, tuple[float, int]]:
    """(instructions, MACs) summed per layer type."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for kind, macs, instructions in zip(info.kinds, info.macs, result.op_instructions):
        sums[kind][0] += instructions
        sums[kind][1] += macs
    return {kind: (v[0], int(v[1])) for kind, v in sums.items()}


def print_helium_speedup(info: ModelInfo, results: dict[tuple[str, str], Run], kinds: list[str]) -> None:
    """Per layer type on each Helium core: portable vs Arm DSP (`optimised`) vs Helium
    instructions per MAC, and how many times fewer instructions Helium needs than each."""
    for target in sorted({t for t, _ in results if t in HELIUM_TARGETS}):
        runs = {v: results[(target, v)] for v in ("portable", "optimised", "helium") if (target, v) in results}
        if "helium" not in runs or len(runs) < 2:
            continue
        sums = {v: by_kind(info, r) for v, r in runs.items()}
        print(f"  {target} instr/MAC portable / arm-dsp / helium (helium's speed-up):")
        for kind in kinds:
            per_mac = {v: s[kind][0] / s[kind][1] for v, s in sums.items()}
            order = ("portable", "optimised", "helium")
            cells = " / ".join(f"{per_mac[v]:.2f}" if v in per_mac else "-" for v in order)
            gains = ", ".join(f"{per_mac[v] / per_mac['helium']:.1f}x vs {'arm-dsp' if v == 'optimised' else v}"
                              for v in ("portable", "optimised") if v in per_mac)
            print(f"    {kind:<10} {cells}  ({gains})")


def print_model(info: ModelInfo, results: dict[tuple[str, str], Run]) -> None:
    kinds = sorted({k for k, m in zip(info.kinds, info.macs) if m > 0})
    print(f"\n== {info.name}: {info.total_macs:,} MACs ==")
    header = f"{'target':<10} {'variant':<10} {'instr/MAC':>9} {'instructions':>13} {'TFLM':>6}"
    print(header + "".join(f" {k:>10}" for k in kinds) + f" {'other ops':>11}")
    for (target, variant), result in results.items():
        sums = by_kind(info, result)
        other = sum(v[0] for k, v in sums.items() if k not in kinds)
        cells = "".join(f" {sums[k][0] / sums[k][1]:>10.2f}" for k in kinds)
        print(f"{target:<10} {variant:<10} {result.total_instructions / info.total_macs:>9.2f} "
              f"{result.total_instructions:>13,.0f} {'exact' if result.exact else 'DIFF':>6}{cells} {other:>11,.0f}")
    print(f"{'MACs':<21} {'':>9} {'':>13} {'':>6}" + "".join(f" {sum(info.macs[i] for i, k in enumerate(info.kinds) if k == kind):>10,}" for kind in kinds))
    print_helium_speedup(info, results, kinds)
    for label, values in ANCHORS.items():
        if info.name in values:
            print(f"  anchor {label:<50} {values[info.name]:.2f}")


@dataclass
class Traced:
    """One traced run (one hooked invoke): its tick counts and the block log's segment per op."""

    run: Run
    ops: list[cycles.Segment]
    whole: cycles.Segment
    model: cycles.CycleModel | None
    tick_instructions: float  # instructions per timer tick: the tick counts' resolution
    worst_difference: float  # largest |mix - tick count| over the ops and the whole invoke


def merged(segments: list[cycles.Segment]) -> cycles.Segment:
    total = cycles.Segment()
    for segment in segments:
        total.instructions += segment.instructions
        total.cycles += segment.cycles
        total.taken_branches += segment.taken_branches
        total.mix.update(segment.mix)
        total.by_function.update(segment.by_function)
        total.cycles_by_function.update(segment.cycles_by_function)
        for function, mix in segment.mix_by_function.items():
            total.mix_by_function.setdefault(function, Counter()).update(mix)
    return total


def trace(name: str, variant: str, info: ModelInfo, work: Path) -> Traced:
    """Build TRACE_MAIN_C, run it once under the block log, and check the mix against its ticks.

    Timer reads: r0 before the invoke, r(2i+1) / r(2i+2) around op i, r(2n+1) after; segment k
    holds what ran between r(k-1) and r(k), so op i is segment 2i+2 and the invoke segments 1..2n+1."""
    target = TARGETS[name]
    elf = build(target, variant, info, work, TRACE_MAIN_C)
    symbols = cycles.read_symbols(re.sub(r"gcc$", "nm", target.cc[0]), elf)
    model = cycles.CYCLE_MODELS.get(name)
    traced = cycles.trace_run(list(target.qemu), elf, symbols, "riscv" if name.startswith("rv") else "arm", model,
                              timeout_s=QEMU_TIMEOUT_S * 10)
    result = parse_run(traced.stdout, traced.returncode, elf, info)
    count = len(info.plan.ops)
    if len(traced.segments) != 2 * count + 3:
        raise SystemExit(f"{info.name} on {name}: {len(traced.segments)} timer segments in the block log, "
                         f"expected {2 * count + 3}")
    ops = [traced.segments[2 * i + 2] for i in range(count)]
    whole = merged(traced.segments[1: 2 * count + 2])
    hz = int(re.search(r"^total \S+ (\S+)$", traced.stdout, re.M).group(1), 16)  # type: ignore[union-attr]
    tick = 1e9 / hz
    pairs = [(s.instructions, r) for s, r in zip(ops, result.op_instructions)]
    pairs.append((whole.instructions, result.total_instructions))
    worst = max(abs(mix - ticks) for mix, ticks in pairs)
    if worst >= tick:
        raise SystemExit(f"{info.name} on {name}/{variant}: the block log's mix differs from QEMU's tick count by "
                         f"{worst:.0f} instructions (more than one tick, {tick:.0f})")
    return Traced(result, ops, whole, model, tick, worst)


def trace_by_kind(info: ModelInfo, traced: Traced) -> dict[str, tuple[cycles.Segment, int]]:
    """(merged segment, MACs) per layer type."""
    kinds: dict[str, list[cycles.Segment]] = defaultdict(list)
    for kind, segment in zip(info.kinds, traced.ops):
        kinds[kind].append(segment)
    return {kind: (merged(parts), sum(m for k, m in zip(info.kinds, info.macs) if k == kind))
            for kind, parts in kinds.items()}


def cycle_anchors(name: str) -> str:
    """The anchors measured in cycles on a board, for the estimate's line."""
    return ", ".join(f"{label} {values[name]:.2f}" for label, values in ANCHORS.items()
                     if "cycles" in label and name in values)


def print_trace(info: ModelInfo, name: str, variant: str, traced: Traced) -> None:
    """Per layer type: instr/MAC, est. cycles/MAC and the mix; then the whole invoke beside the anchors."""
    model = traced.model
    unit = f"{cycles.ESTIMATE_LABEL} cycles/MAC" if model else "(no cycle model)"
    print(f"  {name} {variant}: instruction mix from QEMU's block log (matches its tick counts within "
          f"{traced.worst_difference:.0f} instructions, < 1 tick of {traced.tick_instructions:.0f})"
          + (f"; cycles are an ESTIMATE from the {model.name} TRM timings ({model.assumptions})" if model else
             "; no cycle model for this core: instructions only"))
    print(f"    {'layer':<10} {'instr/MAC':>9} {unit:>17} {'est. cyc/instr':>14}  mix (% of instructions)")
    rows = [(kind, seg, macs) for kind, (seg, macs) in sorted(trace_by_kind(info, traced).items()) if macs > 0]
    rows.append(("invoke", traced.whole, info.total_macs))
    for kind, segment, macs in rows:
        estimate = f"{segment.cycles / macs:>17.2f}" if model else f"{'-':>17}"
        per_instr = f"{segment.cycles / max(segment.instructions, 1):>14.2f}" if model else f"{'-':>14}"
        print(f"    {kind:<10} {segment.instructions / macs:>9.2f} {estimate} {per_instr}  {cycles.mix_text(segment)}"
              f", taken br {100 * segment.taken_branches / max(segment.instructions, 1):.0f}%")
    if model and cycle_anchors(info.name):
        print(f"    anchors measured in cycles/MAC beside the {cycles.ESTIMATE_LABEL} "
              f"{traced.whole.cycles / info.total_macs:.2f}: {cycle_anchors(info.name)}")
    top = traced.whole.by_function.most_common(6)
    print("    functions (instructions" + (f", {cycles.ESTIMATE_LABEL} cycles" if model else "") + "): " + ", ".join(
        f"{fn} {n:,}" + (f"/{traced.whole.cycles_by_function[fn]:,}" if model else "") for fn, n in top))


def trace_record(info: ModelInfo, traced: Traced) -> dict[str, object]:
    """The --json form: cycles are estimates (the key says so) or absent without a cycle model."""
    def one(segment: cycles.Segment, macs: int) -> dict[str, object]:
        entry: dict[str, object] = {"instructions": segment.instructions, "macs": macs, "mix": dict(segment.mix),
                                    "taken_branches": segment.taken_branches}
        if traced.model:
            entry["est_cycles"] = segment.cycles
        return entry

    record = {"cycle_model": ({"core": traced.model.name, "source": traced.model.source,
                               "assumptions": traced.model.assumptions, "note": "an ESTIMATE, not a measurement"}
                              if traced.model else None),
              "worst_difference_vs_ticks": traced.worst_difference,
              "invoke": one(traced.whole, info.total_macs),
              "by_kind": {kind: one(seg, macs) for kind, (seg, macs) in trace_by_kind(info, traced).items()},
              "by_function": dict(traced.whole.by_function),
              "mix_by_function": {fn: dict(mix) for fn, mix in traced.whole.mix_by_function.items()}}
    if traced.model:
        record["est_cycles_by_function"] = dict(traced.whole.cycles_by_function)
    return record


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--targets", default="cortex-m4,cortex-m55,rv32imc")
    parser.add_argument("--variants", default="portable,optimised,helium")
    parser.add_argument("--trace-targets", default="cortex-m4",
                        help="targets (of --targets) whose instruction mix and cycle estimate are traced; '' for none")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args()
    targets, variants = args.targets.split(","), args.variants.split(",")
    traced_targets = [t for t in args.trace_targets.split(",") if t in targets]
    for name in targets:
        for tool in (TARGETS[name].cc[0], TARGETS[name].qemu[0]):
            if shutil.which(tool) is None:
                raise SystemExit(f"{tool} is not installed (see deps/apt-packages.txt)")
    record: dict[str, object] = {"models": {}, "text_bytes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.models.split(","):
            info = load_info(name)
            results: dict[tuple[str, str], Run] = {}
            for target in targets:
                for variant in variants_for(target, variants):
                    results[(target, variant)] = run(TARGETS[target], build(TARGETS[target], variant, info, work), info)
            print_model(info, results)
            entries = {f"{t}/{v}": {"instructions": r.total_instructions, "macs": info.total_macs,
                                    "exact": r.exact, "by_kind": by_kind(info, r)} for (t, v), r in results.items()}
            for target in traced_targets:
                for variant in variants_for(target, variants):
                    traced = trace(target, variant, info, work)
                    print_trace(info, target, variant, traced)
                    entries[f"{target}/{variant}"]["trace"] = trace_record(info, traced)
            record["models"][name] = entries  # type: ignore[index]
            sys.stdout.flush()
        print("\nruntime .text bytes (executor + all kernels, -O2):")
        for target in targets:
            for variant in variants_for(target, variants):
                size = text_bytes(TARGETS[target], variant, work)
                record["text_bytes"][f"{target}/{variant}"] = size  # type: ignore[index]
                print(f"  {target:<10} {variant:<10} {size:>8,}")
    if args.json:
        args.json.write_text(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
