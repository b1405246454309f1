"""A dynamic instruction mix per kernel from QEMU's own log, and a Cortex-M4 cycle ESTIMATE from it.

    .venv/bin/python bench/cycles.py ELF [--target cortex-m4] [--timer-symbol kit_hal_ticks]

QEMU counts instructions, not cycles (issue 13). This module runs a bench program once under
`qemu-system-* -icount shift=0 -d in_asm,exec,nochain -D FIFO` and reads the log while QEMU writes
it (a named pipe: the log of a large model is hundreds of MB and is never stored):

- `in_asm` prints every translated block's instructions once; `exec` with `nochain` prints one
  `Trace` line per block execution, so executions per block times the block's instructions is the
  dynamic mix. The log's other exec lines are honoured: `Stopped execution of TB chain before`
  (an icount budget ran out before that block started: it did not run) and `cpu_io_recompile:
  rewound execution of TB to ADDR` (an MMIO access in icount mode: only the instructions before
  ADDR ran, then QEMU runs the access alone in a block flagged CF_LAST_IO). So the mix is the
  exact instruction count QEMU's virtual clock advances by.
- Blocks are attributed to functions by address (`nm -S` of the ELF). A branch that ends a block
  was taken when the next executed block does not start right after it (only a taken conditional
  branch costs more than its table entry: B/BL/BX are priced as always taken).
- Segments: the first timer read after an entry into the timer function (`kit_hal_ticks`) closes
  a segment (Arm: its first MMIO read, SysTick's counter; rv32: `csrr mcycle`), so segment k holds
  exactly the instructions between the firmware's k-th and (k+1)-th timer reads: what its tick
  differences measure. bench/kernels.py's traced program reads the timer once before its one
  invoke, twice per op (its op hook) and once after, so op i is segment 2i+2.

The cycle model (`M4_MODEL`) prices each instruction from Arm's public timing table: "Arm
Cortex-M4 Processor Technical Reference Manual" (Arm DDI 0439 / 100166_0001_00), section 3.3.1
"Table of processor instructions" (Table 3-1) and the FPU instruction table, zero wait states.
It is an ESTIMATE: it ignores flash wait states and caches (a real L4R5 at 120 MHz runs from
flash through its ART accelerator), register-dependency stalls (a load whose address was computed
by the previous instruction waits a cycle; a load after a load that feeds it does not pipeline),
IT folding onto the previous instruction, interrupt entry, bus contention. Assumed where the
table gives a range or a note: pipeline refill P = 2 (of 1-3: taken branches cost 1+P = 3),
LDR 2 and 1 when it follows another single load/store (pipelined), STR 1 (its data phase
overlaps the next instruction), SDIV/UDIV 7 (of 2-12), barriers B = 0, IT 1. No cycle model is
made for the Cortex-M7 (dual issue, caches) or rv32: for them only the instruction mix is reported.
"""

from __future__ import annotations

import argparse
import bisect
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

CF_COUNT_MASK = 0x1FF
CF_LAST_IO = 0x8000  # QEMU 7.2 include/exec/exec-all.h: the block runs one MMIO access last
ESTIMATE_LABEL = "est."

ARM_CONDITIONS = ("eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le",
                  "al")

# Mix classes, for both ISAs.
ALU, MUL, DSP, DIV, LOAD, STORE, LOAD_MULTI, STORE_MULTI, BRANCH, FP, OTHER = (
    "alu", "mul", "dsp", "div", "load", "store", "ldm", "stm", "branch", "fp", "other")
MIX_CLASSES = (ALU, MUL, DSP, DIV, LOAD, STORE, LOAD_MULTI, STORE_MULTI, BRANCH, FP, OTHER)

ARM_CLASSES: dict[str, str] = {}
for _names, _cls in (
    ("mov mvn movw movt add adc sub sbc rsb adr and orr eor bic orn tst teq cmp cmn lsl lsr asr ror rrx "
     "bfi bfc ubfx sbfx sxtb sxth uxtb uxth sxtab sxtah uxtab uxtah rev rev16 revsh rbit clz neg addw subw "
     "cpy", ALU),
    ("mul mla mls smull umull smlal umlal smmul smmla smmls smmulr smmlar smmlsr smlad smladx smlsd smlsdx "
     "smlald smlaldx smlsld smlsldx smuad smuadx smusd smusdx smulbb smulbt smultb smultt smulwb smulwt "
     "smlabb smlabt smlatb smlatt smlawb smlawt smlalbb smlalbt smlaltb smlaltt umaal usad8 usada8", MUL),
    ("ssat usat ssat16 usat16 qadd qsub qdadd qdsub qadd8 qadd16 qsub8 qsub16 qasx qsax uqadd8 uqadd16 "
     "uqsub8 uqsub16 sadd8 sadd16 ssub8 ssub16 sasx ssax uadd8 uadd16 usub8 usub16 uasx usax shadd8 "
     "shadd16 shsub8 shsub16 uhadd8 uhadd16 uhsub8 uhsub16 sxtb16 uxtb16 sxtab16 uxtab16 pkhbt pkhtb sel",
     DSP),
    ("sdiv udiv", DIV),
    ("ldr ldrb ldrh ldrsb ldrsh ldrt ldrbt ldrht ldrsbt ldrsht ldrex ldrexb ldrexh", LOAD),
    ("str strb strh strt strbt strht strex strexb strexh", STORE),
    ("ldm ldmia ldmfd ldmdb ldmea pop ldrd", LOAD_MULTI),
    ("stm stmia stmea stmdb stmfd push strd", STORE_MULTI),
    ("b bl blx bx cbz cbnz tbb tbh", BRANCH),
    ("vadd vsub vmul vnmul vmla vmls vnmla vnmls vfma vfms vfnma vfnms vdiv vsqrt vabs vneg vcmp vcmpe "
     "vcvt vcvtr vcvta vcvtn vcvtp vcvtm vmov vmrs vmsr vldr vstr vldm vldmia vldmdb vstm vstmia vstmdb "
     "vpush vpop vsel vmaxnm vminnm vrinta vrintn vrintp vrintm vrintx vrintz vrintr", FP),
    ("nop it ite itt itee itte ittt itet iteee iteet itett itete ittee ittet itttt ittte mrs msr cpsid cpsie "
     "dmb dsb isb wfi wfe sev yield bkpt svc udf pld pli clrex", OTHER),
):
    for _name in _names.split():
        ARM_CLASSES[_name] = _cls

RV_CLASSES: dict[str, str] = {}
for _names, _cls in (
    ("add addi sub lui auipc and andi or ori xor xori sll slli srl srli sra srai slt slti sltu sltiu mv li "
     "not neg nop seqz snez sltz sgtz sext.w zext.b", ALU),
    ("mul mulh mulhu mulhsu", MUL),
    ("div divu rem remu", DIV),
    ("lb lh lw lbu lhu", LOAD),
    ("sb sh sw", STORE),
    ("beq bne blt bge bltu bgeu beqz bnez blez bgez bltz bgtz bgt ble bgtu bleu j jal jr jalr ret call tail",
     BRANCH),
    ("csrr csrw csrs csrc csrrw csrrs csrrc csrrwi csrrsi csrrci csrwi csrsi csrci ecall ebreak fence "
     "fence.i wfi mret unimp", OTHER),
):
    for _name in _names.split():
        RV_CLASSES[_name] = _cls


@dataclass(frozen=True)
class Insn:
    """One instruction as QEMU's in_asm log prints it."""

    address: int
    size: int
    mnemonic: str
    operands: str


_HEX4 = re.compile(r"[0-9a-f]{4}")
_HEX8 = re.compile(r"[0-9a-f]{8}")


def parse_insn_line(line: str) -> Insn | None:
    """`0x00000176:  681a       ldr      r2, [r3]` -> Insn; None for a line that is not one.
    The bytes are one or two 4-digit Thumb halfwords or one 8-digit word (rv32)."""
    head, sep, rest = line.partition(":")
    if not sep or not head.startswith("0x"):
        return None
    tokens = rest.split()
    size, index = 0, 0
    if tokens and _HEX8.fullmatch(tokens[0]):
        size, index = 4, 1
    else:
        while index < min(2, len(tokens)) and _HEX4.fullmatch(tokens[index]):
            size, index = size + 2, index + 1
    if size == 0 or index >= len(tokens):
        return None
    return Insn(int(head, 16), size, tokens[index].lower(), " ".join(tokens[index + 1:]))


def arm_base(mnemonic: str) -> tuple[str, bool]:
    """(table name, conditional) for a Thumb mnemonic: `.w`/`.f32` qualifiers, the S flag and an
    IT/branch condition suffix are stripped (`bhs` -> b, conditional; `lsls` -> lsl)."""
    name = mnemonic.split(".", 1)[0]
    if name in ARM_CLASSES:
        return name, False
    for condition in ARM_CONDITIONS:  # before the S flag: `bls` is B if lower or same, not BL
        if name.endswith(condition) and len(name) > len(condition):
            stem = name[: -len(condition)]
            for candidate in (stem, stem[:-1] if stem.endswith("s") else ""):
                if candidate in ARM_CLASSES:
                    return candidate, True
    if name.endswith("s") and name[:-1] in ARM_CLASSES:
        return name[:-1], False
    return name, False


def classify_arm(insn: Insn) -> str:
    return ARM_CLASSES.get(arm_base(insn.mnemonic)[0], OTHER)


def classify_riscv(insn: Insn) -> str:
    name = insn.mnemonic[2:] if insn.mnemonic.startswith("c.") else insn.mnemonic
    if name in RV_CLASSES:
        return RV_CLASSES[name]
    if name.startswith(("f", "fl", "fs")):
        return FP
    return RV_CLASSES.get(name.split(".", 1)[0], OTHER)


def register_count(operands: str) -> int:
    """Registers in a `{r4, r5, lr}` / `{r4-r7}` / `{d8, d9}` list, in words (a d register is two)."""
    inside = operands[operands.find("{") + 1: operands.find("}")] if "{" in operands else ""
    count = 0
    for item in filter(None, (part.strip() for part in inside.split(","))):
        words = 2 if item.startswith("d") else 1
        if "-" in item:
            low, high = (int(re.sub(r"\D", "", end)) for end in item.split("-"))
            count += (high - low + 1) * words
        else:
            count += words
    return count


def writes_pc(insn: Insn) -> bool:
    operands = insn.operands.replace(" ", "")
    return operands.startswith("pc,") or ("{" in operands and "pc" in operands[operands.find("{"):])


@dataclass(frozen=True)
class BlockCost:
    """Estimated cycles of one execution of a block, and the extra cycles if its last (conditional)
    branch is taken."""

    cycles: int
    taken_extra: int


@dataclass(frozen=True)
class CycleModel:
    """A per-instruction cycle table for one core, with where it comes from and what it assumes."""

    name: str
    source: str
    assumptions: str
    block_cost: Callable[[list[Insn]], BlockCost]


M4_REFILL_P = 2  # pipeline refill after a taken branch: the TRM gives 1-3; 2 is its typical aligned case
M4_DIV_CYCLES = 7  # SDIV/UDIV: 2-12 with early termination; the middle of the range
M4_FP_MAC_CYCLES = 3  # VMLA/VMLS/VFMA/VNMLA (FPU table)
M4_FP_DIV_CYCLES = 14  # VDIV/VSQRT (FPU table)


def m4_insn_cycles(insn: Insn, after_single_memory: bool) -> tuple[int, int]:
    """(cycles if a branch is not taken / the instruction's own cost, extra cycles when taken)."""
    name, conditional = arm_base(insn.mnemonic)
    cls = ARM_CLASSES.get(name, OTHER)
    refill = M4_REFILL_P if writes_pc(insn) else 0
    if cls == LOAD:
        # LDR 2; a load right after another single load/store pipelines its address phase: 1.
        return (1 if after_single_memory else 2) + refill, 0
    if cls == STORE:
        return 1, 0  # the store's data phase overlaps the next instruction (write buffer)
    if cls in (LOAD_MULTI, STORE_MULTI):
        words = 2 if name in ("ldrd", "strd") else register_count(insn.operands)
        return 1 + words + (refill if cls == LOAD_MULTI else 0), 0
    if cls == BRANCH:
        if name in ("tbb", "tbh"):
            return 2 + M4_REFILL_P, 0
        if name in ("cbz", "cbnz") or (name == "b" and conditional) or conditional:
            return 1, M4_REFILL_P
        return 1 + M4_REFILL_P, 0  # B, BL, BX, BLX: always taken
    if cls == DIV:
        return M4_DIV_CYCLES, 0
    if cls == FP:
        if name in ("vmla", "vmls", "vnmla", "vnmls", "vfma", "vfms", "vfnma", "vfnms"):
            return M4_FP_MAC_CYCLES, 0
        if name in ("vdiv", "vsqrt"):
            return M4_FP_DIV_CYCLES, 0
        if name in ("vldm", "vldmia", "vldmdb", "vstm", "vstmia", "vstmdb", "vpush", "vpop"):
            return 1 + register_count(insn.operands), 0
        if name in ("vldr", "vstr"):
            return 2, 0
        return 1, 0
    if name == "isb":
        return 1 + M4_REFILL_P, 0
    return 1 + refill, 0  # ALU, MUL/MLA/SMLAL/SMLAD (single cycle on M4), DSP, IT, barriers (B = 0)


def m4_block_cost(insns: list[Insn]) -> BlockCost:
    cycles, taken_extra, after_memory = 0, 0, False
    for insn in insns:
        own, taken_extra = m4_insn_cycles(insn, after_memory)
        cycles += own
        after_memory = classify_arm(insn) in (LOAD, STORE)
    return BlockCost(cycles, taken_extra)


M4_MODEL = CycleModel(
    "cortex-m4",
    "Arm Cortex-M4 Processor Technical Reference Manual (Arm 100166_0001_00 / DDI 0439), "
    "3.3.1 Table 3-1 'Processor instruction set summary' and the FPU instruction table; zero wait states",
    f"P={M4_REFILL_P} (taken branch {1 + M4_REFILL_P}), LDR 2 / 1 pipelined, STR 1, LDM/STM/PUSH/POP 1+N, "
    f"LDRD/STRD 3, MUL/MLA/SMLAL/SMLAD 1, SDIV {M4_DIV_CYCLES}, VMLA {M4_FP_MAC_CYCLES}; ignores wait states, "
    "caches, dependency stalls, IT folding, interrupts",
    m4_block_cost,
)
CYCLE_MODELS: dict[str, CycleModel] = {"cortex-m4": M4_MODEL}
CLASSIFIERS: dict[str, Callable[[Insn], str]] = {"arm": classify_arm, "riscv": classify_riscv}


@dataclass
class Block:
    """One translated block: its instructions, their mix, function, estimated cost and fall-through."""

    insns: list[Insn]
    function: str
    mix: Counter[str]
    cost: BlockCost | None
    ends_in_branch: bool
    reads_cycle_csr: bool  # rv32: ends with a read of mcycle (the timer), which ends QEMU's block

    @property
    def pc(self) -> int:
        return self.insns[0].address if self.insns else -1

    @property
    def instructions(self) -> int:
        return len(self.insns)

    @property
    def fallthrough(self) -> int:
        last = self.insns[-1]
        return last.address + last.size


@dataclass
class Segment:
    """What ran between two timer reads: instructions, mix, taken branches, estimated cycles, by function."""

    instructions: int = 0
    mix: Counter[str] = field(default_factory=Counter)
    taken_branches: int = 0
    cycles: int = 0
    by_function: Counter[str] = field(default_factory=Counter)  # instructions per function
    cycles_by_function: Counter[str] = field(default_factory=Counter)
    mix_by_function: dict[str, Counter[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Symbols:
    """Function address ranges of an ELF, from `nm -S`."""

    starts: list[int]
    ends: list[int]
    names: list[str]

    def function_at(self, address: int) -> str:
        index = bisect.bisect_right(self.starts, address) - 1
        if index >= 0 and address < self.ends[index]:
            return self.names[index]
        return "?"

    def address_of(self, name: str) -> int:
        return self.starts[self.names.index(name)]


def read_symbols(nm_tool: str, elf: Path) -> Symbols:
    """Function symbols (nm types t/T/w/W with a size); Thumb addresses have their low bit cleared."""
    output = subprocess.run([nm_tool, "-S", "--defined-only", str(elf)], capture_output=True, text=True,
                            check=True).stdout
    rows = []
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2].lower() in ("t", "w"):
            start = int(parts[0], 16) & ~1
            rows.append((start, start + int(parts[1], 16), parts[3]))
    rows.sort()
    return Symbols([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])


class LogParser:
    """Consumes QEMU `-d in_asm,exec,nochain` lines and keeps execution counts per block and segment.

    Little work per Trace line (one dict lookup, one counter update): a large model logs millions."""

    def __init__(self, symbols: Symbols, isa: str, model: CycleModel | None, timer_entry: int | None) -> None:
        self.symbols, self.model, self.timer_entry = symbols, model, timer_entry
        self.isa, self.classify = isa, CLASSIFIERS[isa]
        self.blocks: dict[str, Block] = {}  # by QEMU's host pointer of the translated block
        self.fresh: list[Insn] | None = None  # the block in_asm just printed, until its first Trace
        self.listing: list[Insn] | None = None
        self.counts: list[Counter[str]] = [Counter()]
        self.taken: list[Counter[str]] = [Counter()]
        self.pending: str | None = None  # the last executed block, until the next one says where it went
        self.armed = False  # a timer call started: its first MMIO read closes the segment

    def make_block(self, insns: list[Insn], function: str) -> Block:
        mix = Counter(self.classify(insn) for insn in insns)
        cost = self.model.block_cost(insns) if self.model else None
        branch = bool(insns) and self.classify(insns[-1]) == BRANCH
        reads_cycle = bool(insns) and self.isa == "riscv" and "mcycle" in insns[-1].operands.split(",")
        return Block(insns, function, mix, cost, branch, reads_cycle)

    def feed(self, line: str) -> None:
        if line.startswith("Trace "):
            self._trace(line)
        elif self.listing is not None:
            insn = parse_insn_line(line)
            if insn is not None:
                self.listing.append(insn)
            elif not line.strip():
                self.fresh = self.listing or None
                self.listing = None
        elif line.startswith("IN:"):
            self.listing = []
        elif line.startswith("cpu_io_recompile: rewound execution of TB to "):
            self._rewound(int(line.rsplit(" ", 1)[1], 16))
        elif line.startswith("Stopped execution of TB chain before "):
            self._not_started()

    def _trace(self, line: str) -> None:
        if self.listing:
            self.fresh, self.listing = self.listing, None
        parts = line.split(" ", 4)
        host, fields = parts[2], parts[3][1:-1].split("/")
        pc, cflags = int(fields[1], 16), int(fields[3], 16)
        if self.fresh is not None:
            self.blocks[host] = self.make_block(self.fresh, self.symbols.function_at(self.fresh[0].address))
            self.fresh = None
        block = self.blocks.get(host)
        if block is None or block.pc != pc:
            raise ValueError(f"QEMU log: the block executed at {pc:#x} was never listed (is -d in_asm on?)")
        if self.pending is not None:
            previous = self.blocks[self.pending]
            if previous.ends_in_branch and pc != previous.fallthrough:
                self.taken[-1][self.pending] += 1
        if pc == self.timer_entry:
            self.armed = True
        self.counts[-1][host] += 1
        self.pending = host
        if self.armed and (cflags & CF_LAST_IO or block.reads_cycle_csr):
            # The timer's read (Arm: SysTick's counter, an MMIO access QEMU runs alone in a block
            # flagged CF_LAST_IO; rv32: csrr mcycle, which ends its block) closes the segment.
            self.armed, self.pending = False, None
            self.counts.append(Counter())
            self.taken.append(Counter())

    def _not_started(self) -> None:
        """The icount budget ran out before the last traced block began: it did not run."""
        if self.pending is not None:
            self.counts[-1][self.pending] -= 1
            self.pending = None

    def _rewound(self, address: int) -> None:
        """The last block stopped at an MMIO access: only its instructions before `address` ran."""
        if self.pending is None:
            return
        host, name = self.pending, f"{self.pending}@{address:x}"
        if name not in self.blocks:
            block = self.blocks[host]
            self.blocks[name] = self.make_block([i for i in block.insns if i.address < address], block.function)
        self.counts[-1][host] -= 1
        self.counts[-1][name] += 1
        self.pending = None

    def segments(self) -> list[Segment]:
        return [self._segment(counts, taken) for counts, taken in zip(self.counts, self.taken)]

    def _segment(self, counts: Counter[str], taken: Counter[str]) -> Segment:
        segment = Segment(taken_branches=sum(taken.values()))
        for host, count in counts.items():
            if count == 0:
                continue
            block = self.blocks[host]
            instructions = block.instructions * count
            segment.instructions += instructions
            segment.by_function[block.function] += instructions
            function_mix = segment.mix_by_function.setdefault(block.function, Counter())
            for cls, n in block.mix.items():
                segment.mix[cls] += n * count
                function_mix[cls] += n * count
            if block.cost is not None:
                cycles = block.cost.cycles * count + block.cost.taken_extra * taken.get(host, 0)
                segment.cycles += cycles
                segment.cycles_by_function[block.function] += cycles
        return segment


def parse_log(lines: Iterable[str], symbols: Symbols, isa: str, model: CycleModel | None,
              timer_entry: int | None) -> list[Segment]:
    """Segments of a QEMU in_asm+exec+nochain log (see the module docstring)."""
    parser = LogParser(symbols, isa, model, timer_entry)
    for line in lines:
        parser.feed(line)
    return parser.segments()


@dataclass
class TracedRun:
    """One traced QEMU run: the program's stdout and its segments."""

    stdout: str
    returncode: int
    segments: list[Segment]


def _lines(path: Path) -> Iterator[str]:
    with open(path, "r", errors="replace") as log:
        yield from log


def trace_run(qemu: list[str], elf: Path, symbols: Symbols, isa: str, model: CycleModel | None,
              timer_symbol: str = "kit_hal_ticks", timeout_s: float = 600.0) -> TracedRun:
    """Run `qemu ELF` once with the block log on a named pipe, parsed as QEMU writes it."""
    timer_entry = symbols.address_of(timer_symbol) if timer_symbol in symbols.names else None
    with tempfile.TemporaryDirectory(prefix="kit-cycles-") as tmp:
        fifo = Path(tmp) / "qemu.log"
        os.mkfifo(fifo)
        command = [*qemu, str(elf), "-d", "in_asm,exec,nochain", "-D", str(fifo)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output: list[str] = []
        stdout = process.stdout
        assert stdout is not None
        reader = threading.Thread(target=lambda: output.append(stdout.read()), daemon=True)
        watcher = threading.Thread(target=_release_reader, args=(process, fifo), daemon=True)
        timer = threading.Timer(timeout_s, process.kill)
        for thread in (reader, watcher, timer):
            thread.start()
        try:
            segments = parse_log(_lines(fifo), symbols, isa, model, timer_entry)
        except BaseException:
            process.kill()
            raise
        finally:
            timer.cancel()
            returncode = process.wait()
            reader.join()
            watcher.join()
    return TracedRun("".join(output), returncode, segments)


def _release_reader(process: subprocess.Popen[str], fifo: Path) -> None:
    """Once QEMU has exited, open and close the pipe's write end: a reader still blocked in open()
    (QEMU died before opening its log) then sees the end of the log instead of waiting forever."""
    process.wait()
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:  # no reader left (ENXIO): the log was read to its end
        pass


def mix_text(segment: Segment, classes: Iterable[str] = MIX_CLASSES) -> str:
    """`alu 41% mul 20% ...`: the mix as shares of the segment's instructions."""
    total = segment.instructions or 1

    def share(count: int) -> str:
        percent = 100 * count / total
        return f"{percent:.0f}%" if percent >= 0.5 else "<1%"

    return " ".join(f"{cls} {share(segment.mix[cls])}" for cls in classes if segment.mix[cls])


def main() -> int:
    """Trace one ELF and print the mix per segment and per function (for a quick look)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("elf", type=Path)
    parser.add_argument("--qemu", default="qemu-system-arm -M mps2-an386 -nographic -icount shift=0,sleep=off "
                        "-semihosting-config enable=on,target=native -kernel")
    parser.add_argument("--nm", default="arm-none-eabi-nm")
    parser.add_argument("--isa", default="arm", choices=sorted(CLASSIFIERS))
    parser.add_argument("--target", default="cortex-m4")
    parser.add_argument("--timer-symbol", default="kit_hal_ticks")
    args = parser.parse_args()
    symbols = read_symbols(args.nm, args.elf)
    model = CYCLE_MODELS.get(args.target)
    run = trace_run(args.qemu.split(), args.elf, symbols, args.isa, model, args.timer_symbol)
    sys.stdout.write(run.stdout)
    for index, segment in enumerate(run.segments):
        cycles = f"{segment.cycles:,} cycles ({ESTIMATE_LABEL})" if model else "no cycle model"
        print(f"segment {index}: {segment.instructions:,} instructions, {cycles}, {mix_text(segment)}")
        for function, count in segment.by_function.most_common(5):
            print(f"    {function:<32} {count:>12,}")
    return run.returncode


if __name__ == "__main__":
    raise SystemExit(main())
