"""The host side of kit's device protocol (docs/PROTOCOL.md): MLPerf Tiny plus `kit-` extensions.

`DeviceClient.connect(link)` synchronises with the board and asks `kit-info`. A board that
answers `kit-info` with an error speaks only the MLPerf Tiny protocol (any MLPerf Tiny
firmware); the client then works with reduced detail (`info is None`): microsecond laps
instead of ticks, no per-layer timings, no raw outputs, no model hash.
"""

from __future__ import annotations

import base64
import math
import re
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from kit.errors import DeviceError
from kit.link.base import Link, LinkTimeout
from kit.protocol.mlperf import (
    ERROR_RE,
    MAX_COMMAND_CHARS,
    MAX_U32,
    MAX_U64,
    NAME_RE,
    RESULTS_RE,
    MlperfClient,
    ProtocolError,
    Reply,
    _short,
    device_number,
    is_ready,
    malformed,
    parse_floats,
)
from kit.link.base import MAX_LINE_BYTES

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
FEATURES_RE = re.compile(r"^m-kit-features-\[values=([0-9]+),crc=([0-9a-f]{8}),ticks=([0-9]+),timer_hz=([0-9]+)\]$")
FEATURES_DATA_RE = re.compile(r"^m-kit-features-data-\[([0-9a-f]{2,128})\]$")
MAX_FEATURE_VALUES = 1 << 20

# Input sizes of the MLPerf Tiny reference models, for boards that do not report them.
MLPERF_INPUT_BYTES = {"kws01": 490, "vww01": 27648, "ic01": 3072, "ad01": 640}
# What a microcontroller model can plausibly take and give: larger values are a garbled or
# foreign kit-info, and believing them would mean building gigabytes of input.
MAX_INPUT_BYTES = 16 * 1024 * 1024
MAX_OUTPUT_BYTES = (MAX_LINE_BYTES - len("m-kit-output-[]")) // 2  # the raw output fits one line
MAX_OPS = 65535
BOOT_LINES_KEPT = 500
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


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
        """Decimal or C99 hex-float text (`0x1.2b5e2ep-1`, exact); NaN when unreadable."""
        text = self.fields.get(key, "0")
        for parse in (float, float.fromhex):
            try:
                return parse(text)
            except (ValueError, OverflowError):
                continue
        return math.nan

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


@dataclass(frozen=True)
class FeaturesReply:
    """kit-features: the int8 model input the board computed from one raw window (None when
    only its CRC was asked for), the CRC-32 of it, and the ticks the extraction took."""

    values: bytes | None
    count: int
    crc: int
    ticks: int
    timer_hz: int


@dataclass
class KitInferReply:
    """`kit-infer N`: ticks per run, the raw int8 output of the last run, dequantised results."""

    ticks: list[int] = field(default_factory=list)
    output: bytes = b""
    results: list[float] = field(default_factory=list)


def parse_info(line: str) -> DeviceInfo:
    """The kit-info line as a DeviceInfo whose every number is in its protocol range."""
    match = INFO_RE.match(line)
    if not match:
        raise ProtocolError(f"not a kit-info line: {line!r}", hint="reflash the board with kit firmware")
    items: dict[str, str] = {}
    for item in match.group(1).split(","):
        pair = INFO_ITEM_RE.match(item)
        if pair:
            items[pair.group(1)] = pair.group(2)
    info = DeviceInfo(fields=items)
    problems = info_problems(info)
    if problems:
        raise ProtocolError(
            f"the board's kit-info cannot be right: {'; '.join(problems)}",
            hint="the firmware is not kit's, is corrupted, or the line was garbled; run again, and reflash "
            "the board (`kit flash BOARD LAB`) if it keeps happening",
        )
    return info


# kit-load-file lines must fit the firmware's 255-character command line.
MAX_FILE_COMMAND = 240

# field -> (low, high): integer fields of kit-info and the values a real board can report.
INFO_RANGES = {
    "clock_hz": (1, MAX_U32), "timer_hz": (1, MAX_U32), "arena": (0, MAX_U32), "arena_capacity": (0, MAX_U32),
    "input_bytes": (1, MAX_INPUT_BYTES), "output_bytes": (1, MAX_OUTPUT_BYTES), "ops": (1, MAX_OPS),
    "in_zp": (-128, 127), "out_zp": (-128, 127), "dropped": (0, MAX_U64),
}
# Fields newer firmware adds: checked when present.
OPTIONAL_INFO_RANGES = {"host_files": (0, 1)}
# The kernels a firmware may report running (kit-info `kernels`, optional).
KNOWN_KERNELS = ("arm-dsp", "helium", "portable", "tflm")


def _clip(text: str | None, limit: int) -> str:
    if text is None:
        return "(none)"
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


def info_problems(info: DeviceInfo) -> list[str]:
    """Every kit-info value outside what the protocol allows, as readable phrases."""
    fields = info.fields
    problems = []
    if fields.get("proto") != str(PROTOCOL_VERSION):
        problems.append(f"protocol version {_clip(fields.get('proto'), 20)}, this kit speaks {PROTOCOL_VERSION} "
                        "(update kit or reflash the board)")
    for key, (low, high) in {**INFO_RANGES, **OPTIONAL_INFO_RANGES}.items():
        text = fields.get(key)
        if text is None:
            if key in INFO_RANGES:
                problems.append(f"no {key}")
        elif not re.fullmatch(r"-?[0-9]{1,20}", text) or not low <= int(text) <= high:
            problems.append(f"{key}={_clip(text, 30)} (must be {low}..{high:,})")
    if "kernels" in fields and fields["kernels"] not in KNOWN_KERNELS:
        problems.append(f"kernels={_clip(fields['kernels'], 30)} (must be one of {', '.join(KNOWN_KERNELS)})")
    if not SHA256_RE.match(fields.get("sha256", "")):
        problems.append(f"sha256={_clip(fields.get('sha256'), 80)} (must be 64 lowercase hex digits)")
    for key in ("in_scale", "out_scale"):
        value = info._float(key)
        if key not in fields or not math.isfinite(value) or value < 0:
            problems.append(f"{key}={_clip(fields.get(key), 30)} (must be a finite scale >= 0)")
    return problems


class DeviceClient(MlperfClient):
    """A connected board: `info` is the kit-info report, or None for an MLPerf-only board."""

    def __init__(self, link: Link, line_timeout: float = 5.0) -> None:
        super().__init__(link, line_timeout=line_timeout)
        self.info: DeviceInfo | None = None
        self.boot_lines: deque[str] = deque(maxlen=BOOT_LINES_KEPT)
        # kit-load lines in flight before waiting for their acknowledgements: 1 for real boards
        # (a UART without flow control drops what a busy board cannot buffer); an emulator's
        # socket holds back what the board has not read, so it can take several at once.
        self.load_window = 1
        # A folder the board can read files from (an emulator kit started on this machine,
        # whose firmware has kit-load-file): inputs go through a file instead of the UART.
        self.host_file_dir: Path | None = None
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
        retried. A boot error (`e-[...]` before the first `m-ready`) means the model cannot run.
        The boot and the `name` exchange each end within `timeout` s, whatever the device sends."""
        self._read_boot(quiet, timeout)
        deadline = time.monotonic() + timeout
        for attempt in range(NAME_ATTEMPTS):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.link.write("name%")
            wait = remaining if attempt == NAME_ATTEMPTS - 1 else remaining / (NAME_ATTEMPTS - attempt)
            try:
                if self._await_name(time.monotonic() + wait):
                    return
            except LinkTimeout:
                continue
        raise LinkTimeout(
            f"no answer to `name` from {self.link.description} within {timeout:g} s ({NAME_ATTEMPTS} tries); "
            f"last line received: {_short(self.link.last_line)}",
            hint="check that the board is powered, runs MLPerf Tiny or kit firmware at the right baud rate "
            "and is on this port (for emulated boards: `kit stop` then `kit flash` again)",
        )

    def _read_boot(self, quiet: float, timeout: float) -> None:
        """Read the boot output up to its `m-ready`, for at most `timeout` s (a port that
        streams noise from the moment it opens must not hold the host forever)."""
        try:
            line = self.link.read_line(quiet)
        except LinkTimeout:
            return
        deadline = time.monotonic() + timeout
        count = 0
        while not is_ready(line):
            self.boot_lines.append(line)
            count += 1
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise LinkTimeout("boot deadline")
                line = self.link.read_line(remaining)
            except LinkTimeout:
                raise ProtocolError(
                    f"{self.link.description} sent {count} lines in {timeout:g} s but never finished booting "
                    f"(no m-ready line); last line: {_short(self.link.last_line)}",
                    hint="check the baud rate and that the board runs MLPerf Tiny or kit firmware",
                ) from None
        self._check_boot()

    def _await_name(self, deadline: float) -> bool:
        """Read up to the reply to our `name`: True when answered, False when the board
        refused a garbled one (`e-[...]`, worth a retry). A late boot `m-ready` is skipped,
        and a late boot's error is reported as such (not as a refusal of `name`)."""
        named, refused = False, False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LinkTimeout("name deadline")
            line = self.link.read_line(remaining)
            name = NAME_RE.match(line)
            if name:
                named, self.dut_name = True, name.group(1)
            elif is_ready(line):
                self._check_boot()  # the boot finished after our quiet wait
                if named or refused:
                    return named
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
        """Load one input: kit-load (base64, CRC checked) on kit boards, `db` on others;
        `load_window` kit-load lines travel before the first acknowledgement is awaited."""
        if self.info is None:
            self.load_input(data)
            return
        if self._load_through_file(data):
            return
        pending: deque[tuple[str, int]] = deque()  # commands sent, not yet acknowledged
        offset = 0
        while offset < len(data) or pending:
            if offset < len(data) and len(pending) < max(1, self.load_window):
                chunk = data[offset : offset + kit_load_chunk(offset)]
                text = f"kit-load {offset} {base64.b64encode(chunk).decode('ascii')}"
                self.send(text)
                offset += len(chunk)
                pending.append((text, offset))
                continue
            text, end = pending.popleft()
            self._check_load(self.collect(text), data[:end])

    def _load_through_file(self, data: bytes) -> bool:
        """kit-load-file: the input written to a file the board reads itself (an emulator on
        this machine reads it with semihosting in microseconds; its UART takes ~5 s for a
        camera frame). False when the board or the path cannot take it (then kit-load)."""
        if self.host_file_dir is None or self.info is None or self.info.fields.get("host_files") != "1":
            return False
        if len(data) != self.info.input_bytes:
            return False
        path = Path(self.host_file_dir) / "input.bin"  # one board, one client: rewritten each load
        command = f"kit-load-file {path}"
        if " " in str(path) or len(command) > MAX_FILE_COMMAND:
            return False
        path.write_bytes(data)
        self._check_load(self.command(command), data)
        return True

    def _check_load(self, reply: Reply, sent: bytes) -> None:
        match = reply.match_one(LOAD_RE, "load acknowledgement (m-kit-load-[next=..,crc=..])")
        next_offset = device_number(match.group(1), "the loaded byte count (kit-load next)", 0, MAX_U32)
        crc = int(match.group(2), 16)
        expected = zlib.crc32(sent) & 0xFFFFFFFF
        if next_offset != len(sent) or crc != expected:
            raise ProtocolError(
                f"the board stored a different input than sent: it has {next_offset} bytes with "
                f"CRC {crc:08x}, expected {len(sent)} bytes with CRC {expected:08x}",
                hint="bytes were corrupted on the serial link; check the cable and run again",
            )

    # --- features (kit_lab.h builds) ---------------------------------------------------------
    def kit_features(self, path: Path | str, values: bool = True, timeout: float | None = 30.0) -> FeaturesReply:
        """kit-features: the board reads one raw sensor window from `path` (a file on the
        computer that runs it: twins), computes the lab's int8 model input with kit_features.c
        and sends it back (with `values=False` only its CRC-32, for big camera inputs)."""
        command = f"kit-features {path}" + ("" if values else " crc")
        if " " in str(path) or len(command) > MAX_FILE_COMMAND:
            raise ProtocolError(f"the file path {str(path)[:60]}... is too long or has a space for kit-features",
                                hint="use a short path without spaces (e.g. under /tmp)")
        reply = self.command(command, line_timeout=timeout, deadline_s=None if timeout is None else 4 * timeout)
        match = reply.match_one(FEATURES_RE, "feature summary (m-kit-features-[values=..,crc=..,ticks=..])")
        count = device_number(match.group(1), "the feature count", 1, MAX_FEATURE_VALUES)
        crc = int(match.group(2), 16)
        ticks = device_number(match.group(3), "the feature ticks")
        timer_hz = device_number(match.group(4), "the feature timer rate", 1, MAX_U32)
        data = None
        if values:
            data = b"".join(bytes.fromhex(m.group(1)) for m in reply.match_all(FEATURES_DATA_RE))
            if len(data) != count or zlib.crc32(data) & 0xFFFFFFFF != crc:
                raise ProtocolError(f"the board sent {len(data)} feature bytes for {count} values, or their CRC "
                                    f"is not {crc:08x}", hint="lines were lost or garbled on the link; run again")
        return FeaturesReply(values=data, count=count, crc=crc, ticks=ticks, timer_hz=timer_hz)

    # --- running -------------------------------------------------------------------------
    def kit_infer(
        self, count: int = 1, on_run: Callable[[int, int], None] | None = None,
        line_timeout: float | None = None,
    ) -> KitInferReply:
        """Run `count` timed inferences; `on_run(index, ticks)` fires as each result line arrives
        (runs numbered 0, 1, ... in order, ticks a 64-bit count: anything else is a garbled line)."""
        result = KitInferReply()
        line_timeout = self.infer_line_timeout if line_timeout is None else line_timeout

        def see(line: str) -> None:
            run = RUN_RE.match(line)
            if run:
                index = device_number(run.group(1), "a run index (m-kit-run)", 0, MAX_U32)
                if index != len(result.ticks) or index >= count:
                    raise ProtocolError(
                        f"the device numbered a run {index} where run {len(result.ticks)} of {count} was due: {line!r}",
                        hint="lines were lost or garbled on the link; run the command again",
                    )
                ticks = device_number(run.group(2), "a run's ticks (m-kit-run)")
                result.ticks.append(ticks)
                if on_run is not None:
                    on_run(index, ticks)

        reply = self.command(f"kit-infer {count}", line_timeout=line_timeout, on_line=see,
                             deadline_s=(count + 2) * line_timeout)
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
        """Per-op ticks of the last kit-infer run, in op order (indices 0..ops-1, 64-bit ticks)."""
        reply = self.command("kit-layers")
        layers = [
            Layer(device_number(m.group(1), "a layer index (m-kit-layer)", 0, MAX_OPS), m.group(2),
                  device_number(m.group(3), "a layer's ticks (m-kit-layer)"))
            for m in reply.match_all(LAYER_RE)
        ]
        done_text = reply.match_one(LAYERS_DONE_RE, "end of the layer list (m-kit-layers-done-[N])").group(1)
        done = device_number(done_text, "the layer count (m-kit-layers-done)", 0, MAX_OPS)
        if done != len(layers) or [layer.index for layer in layers] != list(range(done)):
            raise malformed(reply, f"list of {done} layers numbered 0..{done - 1} (got {len(layers)})")
        if self.info is not None and done != self.info.ops:
            raise malformed(reply, f"list of the model's {self.info.ops} layers (got {done})")
        return layers

    def memory(self) -> Memory:
        match = self.command("kit-mem").match_one(MEM_RE, "memory line (m-kit-mem-[...])")
        names = ("arena", "arena_capacity", "stack_used", "stack_size")
        return Memory(*(device_number(text, f"{name} (m-kit-mem)", 0, MAX_U32) for name, text in zip(names, match.groups())))

    def exit(self, code: int = 0) -> None:
        """Ask an emulator to exit; its reply has no m-ready, so read just the exit line."""
        self.link.write(f"kit-exit {code}%")
        deadline = time.monotonic() + max(self.line_timeout, 1.0) * 4
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LinkTimeout(f"{self.link.description} did not confirm kit-exit (last line: "
                                  f"{_short(self.link.last_line)})", hint="use `kit stop` or reset it")
            line = self.link.read_line(min(self.line_timeout, remaining))
            if EXIT_RE.match(line):
                return
            error = ERROR_RE.match(line)
            if error:
                raise ProtocolError(f"the board cannot exit: {error.group(1)}", hint="use `kit stop` or reset it")
