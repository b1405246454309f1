"""The host side of kit's device protocol (docs/PROTOCOL.md): MLPerf Tiny plus `kit-` extensions.

`DeviceClient.connect(link)` synchronises with the board and asks `kit-info`. A board that
answers `kit-info` with an error speaks only the MLPerf Tiny protocol (any MLPerf Tiny
firmware); the client then works with reduced detail (`info is None`): microsecond laps
instead of ticks, no per-layer timings, no raw outputs, no model hash.
"""

from __future__ import annotations

import base64
import re
import zlib
from dataclasses import dataclass, field
from typing import Callable

from kit.errors import DeviceError
from kit.link.base import Link, LinkTimeout
from kit.protocol.mlperf import (
    ERROR_RE,
    INFER_LINE_TIMEOUT_S,
    MAX_COMMAND_CHARS,
    NAME_RE,
    READY_MARK,
    RESULTS_RE,
    MlperfClient,
    ProtocolError,
    Reply,
    malformed,
    parse_floats,
)

PROTOCOL_VERSION = 1
BOOT_QUIET_S = 0.5
NAME_ATTEMPTS = 3
KIT_LOAD_CHUNK = 180

BOOT_RE = re.compile(r"^m-kit-boot-\[proto=([0-9]+),board=([^],]+)\]$")
INFO_RE = re.compile(r"^m-kit-info-\[(.*)\]$")
INFO_ITEM_RE = re.compile(r"^([a-z_0-9]+)=([^,]*)$")
LOAD_RE = re.compile(r"^m-kit-load-\[next=([0-9]+),crc=([0-9a-f]{8})\]$")
RUN_RE = re.compile(r"^m-kit-run-\[([0-9]+),([0-9]+)\]$")
OUTPUT_RE = re.compile(r"^m-kit-output-\[([0-9a-f]*)\]$")
LAYER_RE = re.compile(r"^m-kit-layer-\[([0-9]+),([A-Z0-9_]+),([0-9]+)\]$")
LAYERS_DONE_RE = re.compile(r"^m-kit-layers-done-\[([0-9]+)\]$")
MEM_RE = re.compile(
    r"^m-kit-mem-\[arena=([0-9]+),arena_capacity=([0-9]+),stack_used=([0-9]+),stack_size=([0-9]+)\]$"
)
EXIT_RE = re.compile(r"^m-kit-exit-\[([0-9]+)\]$")

# Input sizes of the MLPerf Tiny reference models, for boards that do not report them.
MLPERF_INPUT_BYTES = {"kws01": 490, "vww01": 27648, "ic01": 3072, "ad01": 640}


def kit_load_chunk(offset: int) -> int:
    """Bytes per `kit-load` line: at most 180, and the command within 255 characters."""
    room = MAX_COMMAND_CHARS - len(f"kit-load {offset} ")
    return min(KIT_LOAD_CHUNK, (room // 4) * 3)


@dataclass(frozen=True)
class DeviceInfo:
    """What `kit-info` reports, typed. `fields` keeps every item, including future ones."""

    fields: dict[str, str]

    def _int(self, key: str, default: int = 0) -> int:
        try:
            return int(self.fields.get(key, default))
        except ValueError:
            return default

    def _float(self, key: str) -> float:
        """Decimal or C99 hex-float text (`0x1.2b5e2ep-1`, exact); 0.0 when unknown."""
        text = self.fields.get(key, "0")
        for parse in (float, float.fromhex):
            try:
                return parse(text)
            except ValueError:
                continue
        return 0.0

    proto = property(lambda self: self._int("proto"))
    board = property(lambda self: self.fields.get("board", ""))
    clock_hz = property(lambda self: self._int("clock_hz"))
    timer_hz = property(lambda self: self._int("timer_hz"))
    model = property(lambda self: self.fields.get("model", ""))
    sha256 = property(lambda self: self.fields.get("sha256", ""))
    arena = property(lambda self: self._int("arena"))
    arena_capacity = property(lambda self: self._int("arena_capacity"))
    input_bytes = property(lambda self: self._int("input_bytes"))
    output_bytes = property(lambda self: self._int("output_bytes"))
    in_scale = property(lambda self: self._float("in_scale"))
    in_zp = property(lambda self: self._int("in_zp"))
    out_scale = property(lambda self: self._float("out_scale"))
    out_zp = property(lambda self: self._int("out_zp"))
    ops = property(lambda self: self._int("ops"))
    build = property(lambda self: self.fields.get("build", ""))

    def ticks_to_cycles(self, ticks: float) -> float:
        """Cycles (instructions on QEMU) = ticks * clock_hz / timer_hz (docs/PROTOCOL.md)."""
        return ticks * self.clock_hz / self.timer_hz


@dataclass(frozen=True)
class Layer:
    index: int
    op: str
    ticks: int


@dataclass(frozen=True)
class Memory:
    arena: int
    arena_capacity: int
    stack_used: int
    stack_size: int


@dataclass
class KitInferReply:
    """`kit-infer N`: ticks per run, the raw int8 output of the last run, dequantised results."""

    ticks: list[int] = field(default_factory=list)
    output: bytes = b""
    results: list[float] = field(default_factory=list)


def parse_info(line: str) -> DeviceInfo:
    match = INFO_RE.match(line)
    if not match:
        raise ProtocolError(f"not a kit-info line: {line!r}", hint="reflash the board with kit firmware")
    items: dict[str, str] = {}
    for item in match.group(1).split(","):
        pair = INFO_ITEM_RE.match(item)
        if pair:
            items[pair.group(1)] = pair.group(2)
    return DeviceInfo(fields=items)


class DeviceClient(MlperfClient):
    """A connected board: `info` is the kit-info report, or None for an MLPerf-only board."""

    def __init__(self, link: Link, line_timeout: float = 5.0) -> None:
        super().__init__(link, line_timeout=line_timeout)
        self.info: DeviceInfo | None = None
        self.boot_lines: list[str] = []
        self.dut_name = ""

    @classmethod
    def connect(cls, link: Link, line_timeout: float = 5.0, boot_timeout: float = 10.0,
                boot_quiet: float = BOOT_QUIET_S) -> "DeviceClient":
        """Synchronise (boot output or a running board), then identify the board."""
        client = cls(link, line_timeout=line_timeout)
        client.synchronise(boot_timeout, quiet=boot_quiet)
        client.info = client.query_info()
        return client

    @property
    def is_kit(self) -> bool:
        return self.info is not None

    # --- session start --------------------------------------------------------------------
    def synchronise(self, timeout: float, quiet: float = BOOT_QUIET_S) -> None:
        """Wait out the boot output (a board that just started prints it and `m-ready`; one
        already running prints nothing within `quiet` s), then send `name%` until it is answered.
        Bytes sent while a board boots can be lost, so an unanswered or garbled `name` is
        retried. A boot error (`e-[...]` before the first `m-ready`) means the model cannot run."""
        self._read_boot(quiet, timeout)
        for attempt in range(NAME_ATTEMPTS):
            self.link.write("name%")
            try:
                if self._await_name(timeout if attempt == NAME_ATTEMPTS - 1 else min(timeout, self.line_timeout)):
                    return
            except LinkTimeout:
                if attempt == NAME_ATTEMPTS - 1:
                    raise
        raise ProtocolError(
            f"the board on {self.link.description} does not answer `name` (last line: {self.link.last_line!r})",
            hint="check that it runs MLPerf Tiny or kit firmware at the right baud rate",
        )

    def _read_boot(self, quiet: float, timeout: float) -> None:
        try:
            first = self.link.read_line(quiet)
        except LinkTimeout:
            return
        line = first
        while READY_MARK not in line:
            self.boot_lines.append(line)
            line = self.link.read_line(timeout)
        self._check_boot()

    def _await_name(self, timeout: float) -> bool:
        """Read up to the reply to our `name`: True when answered, False when the board
        refused a garbled one (`e-[...]`, worth a retry). A late boot `m-ready` is skipped."""
        named, refused = False, False
        while True:
            line = self.link.read_line(timeout)
            name = NAME_RE.match(line)
            if name:
                named, self.dut_name = True, name.group(1)
            elif READY_MARK in line:
                if named or refused:
                    return named
                self._check_boot()  # the boot finished after our quiet wait
            elif ERROR_RE.match(line):
                refused = True
                self.boot_lines.append(line)
            else:
                self.boot_lines.append(line)

    def _check_boot(self) -> None:
        """An `e-[...]` between the boot banner and `m-init-done` means the model cannot run."""
        errors, in_boot = [], False
        for line in self.boot_lines:
            if line.startswith(("m-timestamp-mode", "m-kit-boot-")):
                in_boot = True
            elif line.startswith("m-init-done"):
                in_boot = False
            elif in_boot and ERROR_RE.match(line):
                errors.append(ERROR_RE.match(line).group(1))  # type: ignore[union-attr]
        if errors:
            raise DeviceError(
                f"the board booted but cannot run its model: {errors[0]}",
                hint="the model does not fit this firmware; check `kit flash` output for its fit check",
            )

    def query_info(self) -> DeviceInfo | None:
        """kit-info, or None when the board answers with an error (MLPerf-only firmware)."""
        try:
            reply = self.command("kit-info")
        except ProtocolError:
            return None
        info_lines = reply.match_all(INFO_RE)
        if not info_lines:
            raise malformed(reply, "kit-info line (m-kit-info-[...])")
        return parse_info(info_lines[-1].string)

    # --- input --------------------------------------------------------------------------
    def load(self, data: bytes) -> None:
        """Load one input: kit-load (base64, CRC checked) on kit boards, `db` on others."""
        if self.info is None:
            self.load_input(data)
            return
        offset = 0
        while offset < len(data):
            chunk = data[offset : offset + kit_load_chunk(offset)]
            reply = self.command(f"kit-load {offset} {base64.b64encode(chunk).decode('ascii')}")
            offset += len(chunk)
            self._check_load(reply, data[:offset])

    def _check_load(self, reply: Reply, sent: bytes) -> None:
        match = reply.match_one(LOAD_RE, "load acknowledgement (m-kit-load-[next=..,crc=..])")
        next_offset, crc = int(match.group(1)), int(match.group(2), 16)
        expected = zlib.crc32(sent) & 0xFFFFFFFF
        if next_offset != len(sent) or crc != expected:
            raise ProtocolError(
                f"the board stored a different input than sent: it has {next_offset} bytes with "
                f"CRC {crc:08x}, expected {len(sent)} bytes with CRC {expected:08x}",
                hint="bytes were corrupted on the serial link; check the cable and run again",
            )

    # --- running -------------------------------------------------------------------------
    def kit_infer(
        self, count: int = 1, on_run: Callable[[int, int], None] | None = None,
        line_timeout: float = INFER_LINE_TIMEOUT_S,
    ) -> KitInferReply:
        """Run `count` timed inferences; `on_run(index, ticks)` fires as each result line arrives."""
        result = KitInferReply()

        def see(line: str) -> None:
            run = RUN_RE.match(line)
            if run:
                result.ticks.append(int(run.group(2)))
                if on_run is not None:
                    on_run(int(run.group(1)), int(run.group(2)))

        reply = self.command(f"kit-infer {count}", line_timeout=line_timeout, on_line=see)
        if len(result.ticks) != count:
            raise malformed(reply, f"set of {count} run lines (m-kit-run-[I,TICKS]); got {len(result.ticks)}")
        hex_output = reply.match_one(OUTPUT_RE, "raw output (m-kit-output-[HEX])").group(1)
        expected = self.info.output_bytes if self.info else len(hex_output) // 2
        if len(hex_output) != 2 * expected:
            raise malformed(reply, f"raw output of {expected} bytes (m-kit-output-[HEX])")
        result.output = bytes.fromhex(hex_output)
        results = reply.match_all(RESULTS_RE)
        result.results = parse_floats(results[-1].group(1)) if results else []
        return result

    def layers(self) -> list[Layer]:
        reply = self.command("kit-layers")
        layers = [Layer(int(m.group(1)), m.group(2), int(m.group(3))) for m in reply.match_all(LAYER_RE)]
        done = int(reply.match_one(LAYERS_DONE_RE, "end of the layer list (m-kit-layers-done-[N])").group(1))
        if done != len(layers):
            raise malformed(reply, f"list of {done} layers (got {len(layers)})")
        return layers

    def memory(self) -> Memory:
        match = self.command("kit-mem").match_one(MEM_RE, "memory line (m-kit-mem-[...])")
        return Memory(*(int(group) for group in match.groups()))

    def exit(self, code: int = 0) -> None:
        """Ask an emulator to exit; its reply has no m-ready, so read just the exit line."""
        self.link.write(f"kit-exit {code}%")
        while True:
            line = self.link.read_line(self.line_timeout)
            if EXIT_RE.match(line):
                return
            error = ERROR_RE.match(line)
            if error:
                raise ProtocolError(f"the board cannot exit: {error.group(1)}", hint="use `kit stop` or reset it")
