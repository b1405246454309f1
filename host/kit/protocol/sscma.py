"""The SSCMA AT protocol: how kit talks to a board running Seeed's SSCMA-Micro firmware
(the Grove Vision AI V2's factory and SenseCraft firmware) over its USB serial port.

As documented in Seeed-Studio/SSCMA-Micro docs/protocol/at_protocol.md (v2023.12.12): a
command is `AT+[TAG@]BODY\\r` (ASCII, under 4096 bytes); a reply is `\\r<JSON>\\n` with
`type` (0 operation, 1 event, 2 logging), `name` (the command, with its tag), `code` (0
success, 1-10 the error table below) and `data`. `AT+INVOKE=N,DIFFERED,RESULT_ONLY` answers
with one operation reply and then one event per inference whose `perf` is
[pre-process ms, inference ms, post-process ms] as the board's firmware timed them.

What the firmware source (SSCMA-Micro 1.0.x sscma/repl/server.hpp, static_resource.hpp)
adds to the document: the command name is upper-cased before it is echoed, tag included
(`AT+k7@ID?` is answered as `K7@ID?`); an unknown command or a wrong argument count is
answered by a logging reply named just `AT`, code 5 (EL_EINVAL), whose data is the message
("Unknown command: AT+k7@X?", "Command K7@INVOKE got wrong arguements."), so kit matches
that reply to its command by the tag inside the message.

Every command is tagged with a counter so a stale reply (of an earlier, timed-out command)
is never taken for the current one; every read has an overall deadline; every number the
board sends is range-checked.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from kit.errors import DeviceError
from kit.link.base import Link, LinkTimeout

RESPONSE_CODES = {
    0: "success", 1: "try again", 2: "logic error", 3: "timeout", 4: "IO error", 5: "invalid argument",
    6: "out of memory", 7: "busy", 8: "not supported", 9: "operation not permitted", 10: "failed",
}  # el_err_code_t in SSCMA-Micro 1.0.x core/el_types.h (EL_OK .. EL_FAILED)
OPERATION, EVENT, LOGGING = 0, 1, 2
MAX_COMMAND_BYTES = 4095
MAX_REPLY_LINES = 4096          # a pretty-printed reply spans lines; more than this is noise
MAX_STAGE_MS = 600_000          # one stage longer than 10 minutes is not a real timing


class SscmaError(DeviceError):
    """The board answered a command with a non-zero code (the protocol's error table)."""

    def __init__(self, message: str, hint: str, code: int) -> None:
        super().__init__(message, hint=hint)
        self.code = code


@dataclass(frozen=True)
class Reply:
    type: int
    name: str
    code: int
    data: Any


@dataclass(frozen=True)
class Perf:
    """One inference's timing as the board's firmware measured it (milliseconds)."""

    preprocess_ms: int
    inference_ms: int
    postprocess_ms: int


@dataclass
class DeviceIdentity:
    device_id: str
    name: str
    version: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)


class SscmaClient:
    """One board on a link: AT commands with deadlines, replies matched by tag."""

    protocol = "sscma"
    info = None            # not a kit firmware: no kit-info
    dut_name: str | None = None

    def __init__(self, link: Link, reply_timeout: float = 5.0, run_timeout: float = 30.0) -> None:
        self.link = link
        self.reply_timeout = reply_timeout
        self.run_timeout = run_timeout      # the longest one inference's event may take
        self._tag = 0
        self.identity: DeviceIdentity | None = None

    @classmethod
    def connect(cls, link: Link, reply_timeout: float = 5.0, run_timeout: float = 30.0) -> "SscmaClient":
        """Stop whatever the board was doing (AT+BREAK), then read who it is."""
        client = cls(link, reply_timeout, run_timeout)
        link.drain()
        client.command("BREAK")
        identity = DeviceIdentity(device_id=str(client.command("ID?").data), name=str(client.command("NAME?").data))
        version = client.command("VER?").data
        identity.version = version if isinstance(version, dict) else {"software": str(version)}
        model = client.command("MODEL?").data
        identity.model = model if isinstance(model, dict) else {}
        client.identity = identity
        client.dut_name = identity.name
        return client

    # --- one command ------------------------------------------------------------------
    def command(self, body: str, timeout: float | None = None) -> Reply:
        """Send `AT+TAG@BODY\\r` and return its operation reply (code 0), or raise."""
        tag = self._next_tag()
        line = f"AT+{tag}@{body}\r"
        if len(line) > MAX_COMMAND_BYTES or not line.isascii():
            raise DeviceError(f"SSCMA command {body[:40]!r} is too long or not ASCII",
                              hint="the AT protocol takes ASCII commands under 4096 bytes")
        self.link.write(line)
        reply = self._wait_for(f"{tag}@", timeout or self.reply_timeout, body)
        return self._checked(reply, body)

    def _next_tag(self) -> str:
        self._tag = (self._tag + 1) % 100000
        return f"k{self._tag}"

    def _wait_for(self, tag: str, timeout: float, body: str, kinds: tuple[int, ...] = (OPERATION, LOGGING)) -> Reply:
        deadline = time.monotonic() + timeout
        wanted = tag.upper()
        while True:
            reply = self.read_reply(deadline, body)
            if reply.name.upper().startswith(wanted) and reply.type in kinds:
                return reply
            if wanted and _refusal_of(reply, wanted):
                return reply
            # anything else (an earlier command's reply, an untagged event) is not ours

    def read_reply(self, deadline: float, what: str) -> Reply:
        """The next JSON reply before `deadline` (non-JSON lines: the firmware's own logging)."""
        buffered: list[str] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._silent(what)
            try:
                raw = self.link.read_line(remaining)
                line = raw.strip()
            except LinkTimeout:
                raise self._silent(what) from None
            if not buffered and not line.startswith("{"):
                continue  # an unhandled reply (stdout, a crash log): not protocol
            # a reply longer than the link's line limit arrives cut into pieces: join them
            buffered.append(line if not buffered else raw)
            try:
                value = json.loads("".join(buffered))
            except ValueError:
                if len(buffered) > MAX_REPLY_LINES:
                    buffered.clear()
                continue
            return _reply(value, what)

    def _silent(self, what: str) -> DeviceError:
        return DeviceError(f"the board stopped answering: no SSCMA reply to AT+{what} within the deadline "
                           f"(last line received: {self.link.last_line!r})",
                           hint="check the USB cable and that the board runs SSCMA firmware; press RESET and retry")

    def _checked(self, reply: Reply, body: str) -> Reply:
        if reply.code == 0:
            return reply
        meaning = RESPONSE_CODES.get(reply.code, "unknown code")
        said = f": {reply.data[:160]!r}" if isinstance(reply.data, str) and reply.data else ""
        raise SscmaError(f"the board refused AT+{body}: code {reply.code} ({meaning}){said}",
                         hint=_hint_for(reply.code), code=reply.code)

    # --- inference ----------------------------------------------------------------------
    def invoke(self, times: int, on_perf: Callable[[int, Perf], None]) -> int:
        """AT+INVOKE=times,0,1 (every result, no image): `on_perf(index, perf)` as each event
        arrives. Returns the number of events; a board that goes silent raises after
        `run_timeout` with the events so far already handed over."""
        return self.invoke_events(times, True, lambda index, data: on_perf(index, parse_perf(data)))

    def invoke_events(self, times: int, results_only: bool, on_event: Callable[[int, dict], None]) -> int:
        """AT+INVOKE=times,0,RESULT_ONLY: `on_event(index, data)` with each event's whole
        `data` (perf, classes/boxes, and with results_only False the frame it used)."""
        if not 1 <= times <= 100000:
            raise DeviceError(f"cannot invoke {times} times", hint="ask for 1 to 100000 inferences")
        tag = self._next_tag()
        body = f"INVOKE={times},0,{1 if results_only else 0}"
        self.link.write(f"AT+{tag}@{body}\r")
        self._checked(self._wait_for(f"{tag}@", self.reply_timeout, body), body)
        received = 0
        while received < times:
            reply = self._wait_for(f"{tag}@", self.run_timeout, body, kinds=(EVENT,))
            self._checked(reply, body)
            if not isinstance(reply.data, dict):
                raise DeviceError(f"SSCMA INVOKE event {received} has no data object: {str(reply.data)[:120]}",
                                  hint="update the board to the SSCMA firmware kit supports (see the README)")
            on_event(received, reply.data)
            received += 1
        return received

    # --- model on the board ---------------------------------------------------------------
    def models(self) -> list[dict[str, Any]]:
        """AT+MODELS?: every model the firmware found in its flash partition."""
        data = self.command("MODELS?").data
        return [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []

    def store_info(self, text: str) -> None:
        """AT+INFO="text": a string the firmware keeps in its flash (kit writes what it flashed)."""
        if not text.isascii() or '"' in text or "\\" in text:
            raise DeviceError("SSCMA info string must be ASCII without quotes", hint="this is a kit bug: report it")
        self.command(f'INFO="{text}"')

    def read_info(self) -> str:
        data = self.command("INFO?").data
        return str(data.get("info", "")) if isinstance(data, dict) else ""


ALGORITHM_TYPES = {"fomo": 1, "pfld": 2, "yolo": 3, "imcls": 4}   # el_algorithm_type_t
MODEL_HEADER_MAGIC = b"LHT"     # CONFIG_EL_MODEL_HEADER_MAGIC 0x004C4854, big-endian in flash
MAX_PACKED_MODEL_BYTES = 2**24 - 1


def packed_model(tflite: bytes, model_id: int, algorithm_type: int) -> bytes:
    """A model as SSCMA-Micro finds it in its flash partition with its id and algorithm
    stated (el_model_header_t): "LHT", id<<4 | type, the size in 24 bits, one pad byte,
    then the .tflite."""
    if not 1 <= model_id <= 15 or not 1 <= algorithm_type <= 15:
        raise ValueError("SSCMA model ids and algorithm types are 1 to 15")
    if not 0 < len(tflite) <= MAX_PACKED_MODEL_BYTES or tflite[4:8] != b"TFL3":
        raise DeviceError(f"not a .tflite SSCMA can hold ({len(tflite):,} bytes, identifier {tflite[4:8]!r})",
                          hint="flash an int8 .tflite (kit compiles it with Vela first)")
    header = MODEL_HEADER_MAGIC + bytes([(model_id << 4) | algorithm_type]) + len(tflite).to_bytes(3, "big") + b"\0"
    return header + tflite


def _refusal_of(reply: Reply, tag: str) -> bool:
    """A logging reply named `AT` (unknown command, wrong argument count) about our command."""
    return (reply.type == LOGGING and reply.name.upper() == "AT" and reply.code != 0
            and isinstance(reply.data, str) and tag in reply.data.upper())


def _reply(value: Any, what: str) -> Reply:
    if not isinstance(value, dict) or not {"type", "name", "code"} <= value.keys():
        raise DeviceError(f"the board answered AT+{what} with JSON that is not an SSCMA reply: {str(value)[:120]}",
                          hint="is this board running Seeed's SSCMA firmware? (`kit board BOARD` names the firmware kit supports)")
    kind, code = value["type"], value["code"]
    if kind not in (OPERATION, EVENT, LOGGING) or not isinstance(code, int) or not -1000 < code < 1000:
        raise DeviceError(f"SSCMA reply to AT+{what} has type {kind!r} / code {code!r}, outside the protocol",
                          hint="update the board to the SSCMA firmware kit supports (see the README)")
    return Reply(type=kind, name=str(value["name"]), code=code, data=value.get("data"))


def parse_perf(data: Any) -> Perf:
    """An INVOKE event's `perf` [pre, inference, post] ms, each range-checked."""
    perf = data.get("perf") if isinstance(data, dict) else None
    if not isinstance(perf, list) or len(perf) != 3 or not all(isinstance(v, int) for v in perf):
        raise DeviceError(f"SSCMA INVOKE event without a [pre, inference, post] perf list: {str(data)[:120]}",
                          hint="update the board to the SSCMA firmware kit supports (see the README)")
    if not all(0 <= v <= MAX_STAGE_MS for v in perf):
        raise DeviceError(f"SSCMA perf {perf} ms is out of range (0 to {MAX_STAGE_MS} ms per stage)",
                          hint="the board's timer is not sane: press RESET and measure again")
    return Perf(*perf)


def _hint_for(code: int) -> str:
    if code in (1, 7):
        return "the board is busy: wait a moment and run the command again"
    if code == 5:
        return ("the firmware does not know this command or its arguments (or has no model loaded): "
                "update the board to the SSCMA firmware kit supports, and flash a model")
    if code == 8:
        return "this firmware does not support the command: flash the SSCMA firmware version kit supports"
    if code == 6:
        return "the model does not fit the board's memory: use a smaller model"
    return "press RESET on the board and try again; if it persists, re-flash the firmware"


__all__ = ["ALGORITHM_TYPES", "packed_model", "DeviceIdentity", "Perf", "RESPONSE_CODES", "Reply", "SscmaClient", "SscmaError", "parse_perf"]
