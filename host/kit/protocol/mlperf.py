"""The MLPerf Tiny device-under-test protocol, host side.

Commands are ASCII lines ending in `%` (at most 80 characters). Every reply ends with a line
containing `m-ready`; errors are `e-[...]` lines. The anchored regexes are the ones the
unmodified MLPerf Tiny runner uses, so a reply kit accepts is a reply that runner accepts.
Lines that match nothing are noise (boot messages, debug prints) and are kept, not fatal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from kit.errors import DeviceError
from kit.link.base import Link

MAX_COMMAND_CHARS = 255  # kit firmware, without the `%`; the MLPerf commands kit sends stay under 80
# The MLPerf runner sends 31 bytes of hex per `db` line: `db ` + 62 hex digits + `%` < 80.
DB_BYTES_PER_LINE = 31
REPLY_LINE_TIMEOUT_S = 5.0
INFER_LINE_TIMEOUT_S = 30.0

NAME_RE = re.compile(r"^m-name-dut-\[([^]]+)]$")
MODEL_RE = re.compile(r"^m-(model|profile)-\[([^]]+)]$")
RESULTS_RE = re.compile(r"^m-results-\[([^]]+)\]$")
LAP_RE = re.compile(r"^m-lap-us-([0-9]+)$")
ERROR_RE = re.compile(r"^e-\[(.*)\]$")
READY_MARK = "m-ready"


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
    """`1.000,-0.500` -> floats; a garbled number is a ProtocolError, not a ValueError."""
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ProtocolError(
            f"the device sent a results line with a value that is not a number: [{text}]",
            hint="the line was garbled on the link; run the command again",
        ) from None


class MlperfClient:
    """Sends MLPerf Tiny commands over a Link and parses the replies."""

    def __init__(self, link: Link, line_timeout: float = REPLY_LINE_TIMEOUT_S) -> None:
        self.link = link
        self.line_timeout = line_timeout

    def command(
        self, text: str, line_timeout: float | None = None, on_line: Callable[[str], None] | None = None
    ) -> Reply:
        """Send one command and collect its reply up to `m-ready`; `e-[...]` raises.
        `on_line` sees every line the moment it arrives (to record measurements as they come)."""
        if len(text) > MAX_COMMAND_CHARS:
            raise ValueError(f"command longer than {MAX_COMMAND_CHARS} characters: {text[:40]}...")
        self.link.write(text + "%")
        reply = Reply(command=text)
        timeout = self.line_timeout if line_timeout is None else line_timeout
        while True:
            line = self.link.read_line(timeout)
            if READY_MARK in line:
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

    def infer(self, count: int = 1, warmups: int = 0, line_timeout: float = INFER_LINE_TIMEOUT_S) -> InferReply:
        reply = self.command(f"infer {count} {warmups}", line_timeout=line_timeout)
        laps = reply.match_all(LAP_RE)
        if len(laps) < 2:
            raise malformed(reply, "pair of timing lines (m-lap-us-N)")
        start, end = int(laps[-2].group(1)), int(laps[-1].group(1))
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
