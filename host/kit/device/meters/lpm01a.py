"""ST LPM01A (STM32 Power shield, X-NUCLEO-LPM01A) over its serial text protocol.

The board powers the DUT and measures its current; the host drives it with short text
commands, each answered `ack CMD ...` or `error CMD ...` + `Error detail: ...` (lines may
carry the prompt `PowerShield > `). The settings are the ones the MLPerf Tiny runner uses,
except that kit asks for `output current` (a current trace it can plot and integrate itself)
instead of integrated energy: `htc` (host takes control), `volt`, `freq`, `acqtime 0`
(unlimited), `output current`, `format ascii_dec` (readable, unlimited acquisition up to
5 kHz), `trigsrc sw`, `eventsrc d7 fal` (the DUT's timestamp pin on Arduino D7 reports an
event line in the stream), `pwr on`, then `start` / `stop` and `hrc` at the end.

Data lines: one or more readings `dddd[+-]dd` (mantissa, power of ten: `6409-07` is
640.9 uA); `TimeStamp: 001s 000ms, buff 00%` lines; `event N ris|fal` at a D7 edge. The
meter's clock is its sample count / frequency, so an event's time is the number of samples
before it over the rate: exact to one sample.
"""

from __future__ import annotations

import queue
import re
import threading
import time

from kit.bench.samples import PowerSample
from kit.device.meters.base import Meter, MeterError
from kit.errors import DeviceError

BAUD = 3_686_400            # the LPM01A's virtual COM port rate (ST UM2269)
PROMPT = "PowerShield > "
READING_RE = re.compile(r"(\d{4})([+-])(\d{2})")
DATA_LINE_RE = re.compile(r"^(?:\d{4}[+-]\d{2}\s*)+$")
EVENT_RE = re.compile(r"^event (\d+) (ris|fal)$")
TIMESTAMP_RE = re.compile(r"^TimeStamp: ?[<>]?(\d{3})s (\d{3})ms, buff (\d{2})%$")
COMMAND_TIMEOUT_S = 2.0
STOP_TIMEOUT_S = 3.0
FREQUENCIES_HZ = {5000: "5k", 2000: "2k", 1000: "1k", 500: "500", 200: "200", 100: "100"}


def parse_reading(text: str) -> float:
    """`6409-07` -> 6409e-7 A."""
    match = READING_RE.fullmatch(text)
    if not match:
        raise ValueError(text)
    mantissa, sign, exponent = match.groups()
    return int(mantissa) * 10.0 ** (int(exponent) if sign == "+" else -int(exponent))


class Lpm01a(Meter):
    name = "lpm01a"
    title = "ST LPM01A"

    def __init__(self, supply_v: float, port: str, frequency_hz: int = 5000) -> None:
        super().__init__(supply_v, port)
        if not 1.8 <= supply_v <= 3.3:
            raise MeterError(f"the LPM01A supplies 1.8..3.3 V, the board file asks for {supply_v} V",
                             hint="set [power] supply_v in the board file to a voltage the LPM01A can supply")
        if frequency_hz not in FREQUENCIES_HZ:
            raise MeterError(f"the LPM01A cannot stream {frequency_hz} Hz in ascii_dec",
                             hint=f"use one of {sorted(FREQUENCIES_HZ)}")
        self.frequency_hz = frequency_hz
        self._link = None
        self._messages: queue.Queue[str] = queue.Queue()
        self._acquiring = False
        self._count = 0        # readings since `start` (the meter's clock)
        self._reader: threading.Thread | None = None
        self._running = False
        self.version = ""

    # ------------------------------------------------------------------ lifecycle
    def _open(self) -> None:
        from kit.link import open_link

        try:
            self._link = open_link(self.port, baudrate=BAUD)
        except DeviceError as error:
            raise MeterError(f"cannot open the LPM01A on {self.port}: {error.message}", hint=error.hint) from None
        self._running = True
        self._reader = threading.Thread(target=self._read_loop, name="lpm01a-reader", daemon=True)
        self._reader.start()
        self._command("htc")
        version = self._command("version")
        self.version = version[0] if version else ""
        for command in (f"volt {int(round(self.supply_v * 1000))}m", f"freq {FREQUENCIES_HZ[self.frequency_hz]}",
                        "acqtime 0", "output current", "format ascii_dec", "trigsrc sw", "eventsrc d7 fal",
                        "pwr on"):
            self._command(command)

    def _start(self) -> None:
        self._count = 0
        self._acquiring = True
        self._command("start")

    def _stop(self) -> None:
        self._send("stop")
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while True:
            line = self._next_message(deadline, "stop")
            if "Acquisition completed" in line:
                break

    def _close(self) -> None:
        try:
            if self._failure is None and self._link is not None:
                if self._acquiring:
                    self._stop()
                self._command("hrc")
        finally:
            self._running = False
            if self._reader is not None:
                self._reader.join(timeout=1.0)
            if self._link is not None:
                self._link.close()

    # ------------------------------------------------------------------ commands
    def _send(self, command: str) -> None:
        assert self._link is not None
        try:
            self._link.write(command + "\r\n")
        except DeviceError as error:
            self._fail(f"the LPM01A on {self.port} went away ({error.message})")
            raise MeterError(self._failure or error.message, hint=self.reconnect_hint()) from None

    def _next_message(self, deadline: float, command: str) -> str:
        while True:
            self.check_alive()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise MeterError(f"the LPM01A on {self.port} did not answer `{command}` within the deadline",
                                 hint="is it an LPM01A (not the DUT's port)? Close ST's PowerShield software, "
                                      "press its reset button, then run `kit bench` again")
            try:
                return self._messages.get(timeout=min(remaining, 0.05))
            except queue.Empty:
                continue

    def _command(self, command: str) -> list[str]:
        """Send `command`; the words after `ack COMMAND` (or MeterError with the meter's detail)."""
        while not self._messages.empty():
            self._messages.get_nowait()
        self._send(command)
        deadline = time.monotonic() + COMMAND_TIMEOUT_S
        while True:
            line = self._next_message(deadline, command)
            if line.startswith("ack " + command) or line == "ack " + command:
                rest = line[len("ack " + command):].strip()
                return rest.split() if rest else []
            if line.startswith("error"):
                detail = line
                try:
                    more = self._next_message(time.monotonic() + 0.5, command)
                    if more.startswith("Error detail"):
                        detail = more.split(":", 1)[1].strip()
                except MeterError:
                    pass
                raise MeterError(f"the LPM01A refused `{command}`: {detail}",
                                 hint="check the LPM01A's firmware version (ST UM2269) and its jumpers")

    # ------------------------------------------------------------------ the stream
    def _read_loop(self) -> None:
        from kit.link import LinkTimeout

        assert self._link is not None
        batch: list[PowerSample] = []
        last_flush = time.monotonic()
        while self._running:
            try:
                line = self._link.read_line(0.05)
            except LinkTimeout:
                line = None
            except DeviceError as error:
                self._deliver(batch)
                self._fail(f"the LPM01A on {self.port} disconnected mid-run ({error.message})")
                return
            if line is not None:
                message = self._route(line.replace(PROMPT, "").strip(), batch)
                if message is not None:
                    # Samples before a reply are delivered before it: after "Acquisition
                    # completed" the trace the bench reads is the whole trace.
                    self._deliver(batch)
                    batch = []
                    if "Acquisition completed" in message:
                        self._acquiring = False
                    self._messages.put(message)
            if batch and (len(batch) >= 500 or time.monotonic() - last_flush > 0.05 or line is None):
                self._deliver(batch)
                batch = []
                last_flush = time.monotonic()
        self._deliver(batch)

    def _route(self, line: str, batch: list[PowerSample]) -> str | None:
        """Readings go to `batch`, events to the edges; anything else is returned (a reply)."""
        if not line:
            return None
        if self._acquiring and DATA_LINE_RE.match(line):
            for text in READING_RE.findall(line):
                current = parse_reading("".join(text))
                batch.append(PowerSample(self._count / self.frequency_hz, current, self.supply_v))
                self._count += 1
            return None
        if EVENT_RE.match(line):
            self._edge(self._count / self.frequency_hz)
            return None
        if TIMESTAMP_RE.match(line):
            return None  # the sample count is the clock; the meter's own seconds add nothing
        return line
