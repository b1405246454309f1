"""bench/cycles.py: the instruction classifier and Cortex-M4 cycle table, the QEMU block-log parser,
and one real traced run on the M4 twin whose mix adds up to QEMU's own instruction count."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


cycles = _load("cycles")


def _insns(text: str) -> list:
    parsed = [cycles.parse_insn_line(line) for line in text.strip().splitlines()]
    assert all(parsed)
    return parsed


def test_instruction_lines_parse_with_size_mnemonic_and_operands():
    thumb16 = cycles.parse_insn_line("0x00000176:  681a       ldr      r2, [r3]")
    thumb32 = cycles.parse_insn_line("0x00000170:  f04f 21e0  mov.w    r1, #-0x1fff2000")
    rv32 = cycles.parse_insn_line("0x80000000:  00000297          auipc                   t0,0")
    assert (thumb16.address, thumb16.size, thumb16.mnemonic, thumb16.operands) == (0x176, 2, "ldr", "r2, [r3]")
    assert (thumb32.size, thumb32.mnemonic) == (4, "mov.w")
    assert (rv32.address, rv32.size, rv32.mnemonic) == (0x80000000, 4, "auipc")
    assert cycles.parse_insn_line("IN: kit_hal_ticks") is None
    assert cycles.parse_insn_line("Trace 0: 0x7f1f5c0070c0 [00800408/00000168/00000010/ff020200] x") is None


def test_thumb_mnemonics_classify_with_condition_and_flag_suffixes():
    expected = {"bls": "branch", "blo": "branch", "bl": "branch", "lsls": "alu", "bics": "alu", "adcs": "alu",
                "addlt": "alu", "smlad": "mul", "smlal": "mul", "sxtb16": "dsp", "ssat": "dsp", "sdiv": "div",
                "ldrsh.w": "load", "strb": "store", "pop.w": "ldm", "ldrd": "ldm", "push": "stm",
                "vmla.f32": "fp", "ite": "other", "cbz": "branch"}
    got = {m: cycles.classify_arm(cycles.Insn(0, 2, m, "")) for m in expected}
    assert got == expected
    assert cycles.arm_base("bls") == ("b", True)  # B if lower or same, not BL with flags
    assert cycles.arm_base("bxeq") == ("bx", True)


def test_m4_block_cost_by_hand():
    # ldr 2, back-to-back ldr 1 (pipelined), smlad 1, str 1, pop {4 regs + pc}: 1 + 5 + P(2) = 8.
    block = _insns("""
0x00000100:  6818       ldr      r0, [r3]
0x00000102:  6859       ldr      r1, [r3, #4]
0x00000104:  fb20 2201  smlad    r2, r0, r1, r2
0x00000108:  6010       str      r0, [r2]
0x0000010a:  e8bd 80f0  pop.w    {r4, r5, r6, r7, pc}
""")
    assert cycles.m4_block_cost(block) == cycles.BlockCost(13, 0)
    # push {r4, lr} 3, sdiv 7 (assumed of 2-12), vmla 3, ldrd 3, then b.w always taken: 1 + P = 3.
    block = _insns("""
0x00000200:  b510       push     {r4, lr}
0x00000202:  fb91 f0f2  sdiv     r0, r1, r2
0x00000206:  ee00 0a81  vmla.f32 s0, s1, s2
0x0000020a:  e9d2 0100  ldrd     r0, r1, [r2]
0x0000020e:  f000 b800  b.w      #0x212
""")
    assert cycles.m4_block_cost(block) == cycles.BlockCost(3 + 7 + 3 + 3 + 3, 0)
    # A conditional branch costs 1, and P = 2 more when taken (known only from the next block).
    block = _insns("""
0x00000300:  3901       subs     r1, #1
0x00000302:  d1fd       bne      #0x300
""")
    assert cycles.m4_block_cost(block) == cycles.BlockCost(2, 2)


SYNTHETIC_LOG = """\
----------------
IN: kernel
0x00000100:  6818       ldr      r0, [r3]
0x00000102:  3901       subs     r1, #1
0x00000104:  d1fc       bne      #0x100

Trace 0: 0xa0 [00800408/00000100/00000010/ff020200] kernel
Trace 0: 0xa0 [00800408/00000100/00000010/ff020200] kernel
Trace 0: 0xa0 [00800408/00000100/00000010/ff020200] kernel
----------------
IN: kernel
0x00000106:  f000 f87b  bl       #0x200

Trace 0: 0xb0 [00800408/00000106/00000010/ff020200] kernel
----------------
IN: kit_hal_ticks
0x00000200:  4611       mov      r1, r2
0x00000202:  6988       ldr      r0, [r1, #0x18]
0x00000204:  4770       bx       lr

Trace 0: 0xc0 [00800408/00000200/00000010/ff020200] kit_hal_ticks
cpu_io_recompile: rewound execution of TB to 00000202
----------------
IN: kit_hal_ticks
0x00000202:  6988       ldr      r0, [r1, #0x18]

Trace 0: 0xd0 [00800408/00000202/00000010/ff038201] kit_hal_ticks
----------------
IN: kit_hal_ticks
0x00000204:  4770       bx       lr

Trace 0: 0xe0 [00800408/00000204/00000010/ff020200] kit_hal_ticks
Trace 0: 0xa0 [00800408/00000100/00000010/ff020200] kernel
Stopped execution of TB chain before 0xa0 [00000100] kernel
"""


def test_log_parser_on_a_synthetic_log():
    symbols = cycles.Symbols([0x100, 0x200], [0x180, 0x240], ["kernel", "kit_hal_ticks"])
    first, second = cycles.parse_log(SYNTHETIC_LOG.splitlines(keepends=True), symbols, "arm", cycles.M4_MODEL,
                                     timer_entry=0x200)
    # Segment 0, up to and including the timer's MMIO read: the loop block 3x (bne taken twice: the
    # next block started at 0x100, then fell through to 0x106), bl, the rewound block's one instruction
    # before the MMIO access, and the access alone.
    assert first.instructions == 3 * 3 + 1 + 1 + 1
    assert first.taken_branches == 2 + 1  # and bl
    assert first.cycles == 3 * (2 + 1 + 1) + 2 * 2 + 3 + 1 + 2
    assert dict(first.mix) == {"load": 3 + 1, "alu": 3 + 1, "branch": 3 + 1}
    assert dict(first.by_function) == {"kernel": 10, "kit_hal_ticks": 2}
    # Segment 1: bx lr (taken: the next block is elsewhere); the last block never started (icount
    # budget ran out), so it does not count.
    assert (second.instructions, second.cycles, dict(second.mix), second.taken_branches) == (1, 3, {"branch": 1}, 1)


def test_log_parser_refuses_a_block_it_never_saw_listed():
    symbols = cycles.Symbols([0x100], [0x180], ["kernel"])
    with pytest.raises(ValueError, match="never listed"):
        cycles.parse_log(["Trace 0: 0xa0 [00800408/00000100/00000010/ff020200] kernel\n"], symbols, "arm", None,
                         None)


TWINS = {"cortex-m4": ("arm-none-eabi-gcc", "qemu-system-arm"),
         "rv32imc": ("riscv64-unknown-elf-gcc", "qemu-system-riscv32")}


@pytest.fixture(scope="module")
def small_conv_info(tmp_path_factory):
    """tiny_models.small_conv (CONV 3x3 + FC) compiled by kit, with TFLM's output for the bench input."""
    from tests.compile import tiny_models

    kernels = _load("kernels")
    model, shape = tiny_models.small_conv()
    path = tmp_path_factory.mktemp("cycles") / "small_conv.tflite"
    path.write_bytes(tiny_models.convert(model, shape, "int8"))
    return kernels.load_info("small_conv", path)


@pytest.mark.parametrize("target", sorted(TWINS))
def test_traced_small_model_mix_adds_up_to_qemus_count(target, small_conv_info, tmp_path):
    if any(shutil.which(tool) is None for tool in TWINS[target]):
        pytest.skip(f"{' / '.join(TWINS[target])} not installed")
    kernels = _load("kernels")
    traced = kernels.trace(target, "optimised", small_conv_info, tmp_path)
    assert traced.run.exact
    # QEMU's count under -icount shift=0: the M4's 25 MHz SysTick (one tick = 40 instructions),
    # rv32's mcycle (one instruction): the mix must land within one tick, i.e. exactly on rv32.
    assert traced.tick_instructions == {"cortex-m4": 40, "rv32imc": 1}[target]
    for segment, counted in zip(traced.ops, traced.run.op_instructions):
        assert abs(segment.instructions - counted) < traced.tick_instructions
        assert sum(segment.mix.values()) == segment.instructions == sum(segment.by_function.values())
    assert abs(traced.whole.instructions - traced.run.total_instructions) < traced.tick_instructions
    kinds = kernels.trace_by_kind(small_conv_info, traced)
    assert {"CONV 3x3", "FC"} <= set(kinds)
    assert kinds["CONV 3x3"][0].mix["mul"] > 0
    if target == "cortex-m4":
        assert traced.model is not None
        assert traced.whole.cycles >= traced.whole.instructions  # every M4 instruction takes a cycle or more
    else:
        assert traced.model is None and traced.whole.cycles == 0  # no cycle model for rv32
