"""The MLPerf Tiny device-under-test protocol, host side.

Commands are ASCII lines ending in `%` (at most 80 characters). Every reply ends with the line
`m-ready` (the whole line: a line that merely contains it is noise); errors are `e-[...]` lines. The anchored regexes are the ones the
unmodified MLPerf Tiny runner uses, so a reply kit accepts is a reply that runner accepts.
Lines that match nothing are noise (boot messages, debug prints) and are kept, not fatal.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import Callable

from kit.errors import DeviceError
from kit.link.base import Link, LinkTimeout

MAX_COMMAND_CHARS = 255  # kit firmware, without the `%`; the MLPerf commands kit sends stay under 80
# The MLPerf runner sends 31 bytes of hex per `db` line: `db ` + 62 hex digits + `%` < 80.
DB_BYTES_PER_LINE = 31
REPLY_LINE_TIMEOUT_S = 5.0
INFER_LINE_TIMEOUT_S = 30.0
# A reply is a few lines sent in milliseconds; a device that keeps sending noise and never
# `m-ready` must not hold the host forever: every reply has an overall deadline (this many
# line timeouts, unless the command says otherwise) and a line cap.
REPLY_DEADLINE_LINE_TIMEOUTS = 4
MAX_REPLY_LINES = 5000
# Numbers the protocol defines as 64-bit counters (ticks, microseconds).
MAX_U64 = 2**64 - 1
MAX_U32 = 2**32 - 1

NAME_RE = re.compile(r"^m-name-dut-\[([^]]+)]$")
MODEL_RE = re.compile(r"^m-(model|profile)-\[([^]]+)]$")
RESULTS_RE = re.compile(r"^m-results-\[([^]]+)\]$")
LAP_RE = re.compile(r"^m-lap-us-([0-9]+)$")
ERROR_RE = re.compile(r"^e-\[(.*)\]$")
READY_MARK = "m-ready"


def is_ready(line: str) -> bool:
    """The end of a reply: the line `m-ready` itself (docs/PROTOCOL.md `^m-ready$`)."""
    return line == READY_MARK


class ProtocolError(DeviceError):
    """The device answered, but with an error line or a reply kit cannot read."""


@dataclass
class Reply:
    """All lines of one reply, without the final `m-ready`."""

    command: str
    lines: list[str] = field(default_factory=list)

    def match_all(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        return [m for m in (pattern.match(line) for line in self.lines) if m]

    def match_one(self, pattern: re.Pattern[str], what: str) -> re.Match[str]:
        found = self.match_all(pattern)
        if not found:
            raise malformed(self, what)
        return found[-1]


@dataclass(frozen=True)
class Profile:
    profile: str
    model: str


@dataclass(frozen=True)
class InferReply:
    """`infer N W`: the device timed N inferences between two lap marks (µs)."""

    count: int
    start_us: int
    end_us: int
    results: list[float]
    reply: Reply

    @property
    def per_inference_us(self) -> float:
        return (self.end_us - self.start_us) / self.count


def malformed(reply: Reply, what: str) -> ProtocolError:
    shown = reply.lines[-6:]
    return ProtocolError(
        f"the device's reply to {reply.command!r} has no valid {what}; it sent {shown!r}",
        hint="the line may have been cut or garbled on the link; run the command again, "
        "and reflash the board if it keeps happening",
    )


def parse_floats(text: str) -> list[float]:
    """`1.000,-0.500` -> floats; a garbled or non-finite number is a ProtocolError."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = [math.nan]
    if not all(math.isfinite(value) for value in values):
        raise ProtocolError(
            f"the device sent a results line with a value that is not a finite number: [{text[:200]}]",
            hint="the line was garbled on the link; run the command again",
        )
    return values


def device_number(text: str, what: str, low: int = 0, high: int = MAX_U64) -> int:
    """A decimal the device sent, checked against the range the protocol allows (a 400-digit
    tick count is a garbled line, not a measurement)."""
    if not text.isdigit() or len(text) > 20 or not low <= int(text) <= high:
        shown = text if len(text) <= 30 else f"{text[:30]}... ({len(text)} digits)"
        raise ProtocolError(
            f"the device sent {what} = {shown}, outside {low}..{high}",
            hint="the line was garbled on the link or the firmware is not kit's; run again, and reflash "
            "the board if it keeps happening",
        )
    return int(text)


class MlperfClient:
    """Sends MLPerf Tiny commands over a Link and parses the replies."""

    def __init__(self, link: Link, line_timeout: float = REPLY_LINE_TIMEOUT_S) -> None:
        self.link = link
        self.line_timeout = line_timeout
        self.infer_line_timeout = INFER_LINE_TIMEOUT_S  # lines of a reply that waits for inferences

    def command(
        self, text: str, line_timeout: float | None = None, on_line: Callable[[str], None] | None = None,
        deadline_s: float | None = None,
    ) -> Reply:
        """Send one command and collect its reply up to `m-ready`; `e-[...]` raises.
        `on_line` sees every line the moment it arrives (to record measurements as they come).
        Each line must come within `line_timeout`, the whole reply within `deadline_s`."""
        self.send(text)
        return self.collect(text, line_timeout, on_line, deadline_s)

    def send(self, text: str) -> None:
        """Write one command (its reply is read by `collect`)."""
        if len(text) > MAX_COMMAND_CHARS:
            raise ValueError(f"command longer than {MAX_COMMAND_CHARS} characters: {text[:40]}...")
        self.link.write(text + "%")

    def collect(
        self, text: str, line_timeout: float | None = None, on_line: Callable[[str], None] | None = None,
        deadline_s: float | None = None,
    ) -> Reply:
        """Read the reply to command `text`, already sent, up to `m-ready`; `e-[...]` raises."""
        reply = Reply(command=text)
        timeout = self.line_timeout if line_timeout is None else line_timeout
        budget = REPLY_DEADLINE_LINE_TIMEOUTS * timeout if deadline_s is None else deadline_s
        deadline = time.monotonic() + budget
        while True:
            line = self._reply_line(reply, timeout, deadline, budget)
            if is_ready(line):
                break
            reply.lines.append(line)
            if on_line is not None:
                on_line(line)
        errors = reply.match_all(ERROR_RE)
        if errors:
            raise ProtocolError(
                f"the device refused {text!r}: {errors[0].group(1)}",
                hint="this command or its arguments are not supported by the firmware on the board",
            )
        return reply

    def _reply_line(self, reply: Reply, timeout: float, deadline: float, budget: float) -> str:
        """The next line of `reply`, or an error once the reply's overall deadline or line cap is hit."""
        remaining = deadline - time.monotonic()
        if remaining <= 0 or len(reply.lines) >= MAX_REPLY_LINES:
            raise LinkTimeout(
                f"{self.link.description} sent {len(reply.lines)} lines in reply to {reply.command!r} "
                f"but never ended it with m-ready (waited {budget:g} s); last line: {_short(self.link.last_line)}",
                hint="the device prints something other than kit or MLPerf Tiny replies: check the baud rate "
                "and that the board runs kit or MLPerf Tiny firmware",
            )
        try:
            return self.link.read_line(min(timeout, remaining))
        except LinkTimeout:
            if time.monotonic() < deadline or not reply.lines:
                raise
            return self._reply_line(reply, timeout, deadline, budget)

    def sync(self) -> None:
        """Drop boot noise and stale lines, so the next reply is the answer to our command."""
        self.link.drain()

    def name(self) -> str:
        return self.command("name").match_one(NAME_RE, "name line (m-name-dut-[...])").group(1)

    def profile(self) -> Profile:
        reply = self.command("profile")
        found = {m.group(1): m.group(2) for m in reply.match_all(MODEL_RE)}
        if "model" not in found:
            raise malformed(reply, "model line (m-model-[...])")
        return Profile(profile=found.get("profile", ""), model=found["model"])

    def load_input(self, data: bytes) -> None:
        """MLPerf `db load N` + `db HH...` lines: slow (2 hex digits per byte) but universal."""
        self.command(f"db load {len(data)}")
        for start in range(0, len(data), DB_BYTES_PER_LINE):
            self.command("db " + data[start : start + DB_BYTES_PER_LINE].hex())

    def infer(self, count: int = 1, warmups: int = 0, line_timeout: float | None = None) -> InferReply:
        # Lines come before the warm-ups, before the timed runs and after them: three long gaps.
        line_timeout = self.infer_line_timeout if line_timeout is None else line_timeout
        reply = self.command(f"infer {count} {warmups}", line_timeout=line_timeout, deadline_s=3 * line_timeout + 10)
        laps = reply.match_all(LAP_RE)
        if len(laps) < 2:
            raise malformed(reply, "pair of timing lines (m-lap-us-N)")
        start = device_number(laps[-2].group(1), "the start lap (m-lap-us, µs)")
        end = device_number(laps[-1].group(1), "the end lap (m-lap-us, µs)")
        if end < start:
            raise ProtocolError(
                f"the device's timer went backwards during {reply.command!r} ({start} -> {end} µs)",
                hint="the board's microsecond counter wrapped; run fewer inferences per command",
            )
        results_match = reply.match_all(RESULTS_RE)
        results = parse_floats(results_match[-1].group(1)) if results_match else []
        return InferReply(count=count, start_us=start, end_us=end, results=results, reply=reply)

    def results(self) -> list[float]:
        return parse_floats(self.command("results").match_one(RESULTS_RE, "results line").group(1))


def _short(line: str | None, limit: int = 120) -> str:
    if line is None:
        return "nothing"
    return repr(line if len(line) <= limit else line[:limit] + f"... ({len(line)} chars)")
