"""One small interface for every power meter kit reads (issue 14).

A meter streams current samples on its own clock and, when the board's timestamp GPIO is
wired to its trigger input, the edges the firmware makes at each inference's start and end
(the MLPerf Tiny energy-mode wiring: a falling edge >= 1 us). A reader thread delivers every
batch to a sink the moment it arrives (kit.bench.samples writes it to disk); the bench asks
the meter only for what it has seen so far. Every wait has a deadline, every number a range
check, and a meter that goes away mid-run raises MeterError with the count kept on disk.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, Literal

from kit.bench.samples import PowerSample
from kit.errors import DeviceError

Sink = Callable[[list[PowerSample]], None]
Sync = Literal["trigger", "serial", "board"]  # board: the firmware samples its own sensor

MAX_CURRENT_A = 10.0  # no board kit measures draws more: a larger reading is a garbled line


class MeterError(DeviceError):
    """A power meter misbehaves, disconnects, or never sees the trigger."""


@dataclass(frozen=True)
class RunWindow:
    """What the host knows of one timed inference: when its command was sent and its result
    line arrived (host monotonic seconds), and its length by the device's own timer."""

    index: int
    host_start: float
    host_end: float
    device_s: float


class Meter(ABC):
    """A power meter kit can read. Subclasses implement `_open`, `_start`, `_stop`, `_close`;
    the reader thread calls `_deliver(samples)` and `_edge(t_s)`."""

    name: str = ""
    title: str = ""
    label: Literal["measured", "modelled"] = "measured"
    #: Idle time before each run and after the last (s): a real meter measures idle power there.
    idle_gap_s: float = 0.05
    #: How far a sample's meter time may sit from the host clock after `start` (seconds):
    #: the serial-timestamp error bound adds it (a trigger wire makes it irrelevant).
    start_uncertainty_s: float = 0.0

    def __init__(self, supply_v: float, port: str | None = None) -> None:
        if not 0 < supply_v <= 12:
            raise MeterError(f"a supply of {supply_v} V is outside what kit's meters drive (0..12 V)",
                             hint="set [power] supply_v in the board file")
        self.supply_v = supply_v
        self.port = port
        self._lock = threading.Lock()
        self._samples: list[PowerSample] = []
        self._edges: list[float] = []
        self._failure: str | None = None
        self._sink: Sink | None = None
        self.host_zero = 0.0  # host monotonic time of meter time 0

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "Meter":
        self._open()
        return self

    def __exit__(self, *_exc) -> None:
        self._close()

    def start(self, sink: Sink) -> None:
        """Begin acquisition; every batch goes to `sink` as it arrives."""
        self._sink = sink
        before = time.monotonic()
        self._start()
        after = time.monotonic()
        self.host_zero = (before + after) / 2
        self.start_uncertainty_s = max(self.start_uncertainty_s, (after - before) / 2)

    def stop(self) -> None:
        """End acquisition (the samples stay; a meter that already failed is not asked)."""
        if self._failure is None:
            self._stop()

    def run_done(self, window: RunWindow) -> None:
        """A timed inference ended (a modelled meter draws its trace from it; real ones ignore it)."""

    # ------------------------------------------------------------------ what it saw
    @property
    def samples(self) -> list[PowerSample]:
        with self._lock:
            return list(self._samples)

    @property
    def edges(self) -> list[float]:
        with self._lock:
            return list(self._edges)

    @property
    def failure(self) -> str | None:
        return self._failure

    def latest_time(self) -> float:
        with self._lock:
            return self._samples[-1].t_s if self._samples else float("-inf")

    def wait_for(self, ready: Callable[[], bool], timeout_s: float, what: str) -> None:
        """Wait until `ready()` (samples or edges arrived) or the meter fails; a deadline names `what`."""
        deadline = time.monotonic() + timeout_s
        while not ready():
            if self._failure is not None:
                raise MeterError(self._failure, hint=self.reconnect_hint())
            if time.monotonic() > deadline:
                raise MeterError(f"the {self.title} {what} within {timeout_s:g} s",
                                 hint=self.trigger_hint() if "edge" in what else self.reconnect_hint())
            time.sleep(0.005)
        if self._failure is not None:
            raise MeterError(self._failure, hint=self.reconnect_hint())

    def check_alive(self) -> None:
        if self._failure is not None:
            raise MeterError(self._failure, hint=self.reconnect_hint())

    def reconnect_hint(self) -> str:
        return f"check the {self.title}'s USB cable and port ({self.port or 'auto'}), then run `kit bench` again"

    def trigger_hint(self) -> str:
        return (f"wire the board's timestamp pin ([power] timestamp_pin in the board file) to the {self.title}'s "
                "trigger input with a common ground, or pass --sync serial to time the windows by serial "
                "timestamps (less exact; the error bound is shown)")

    # ------------------------------------------------------------------ for subclasses
    def _deliver(self, samples: list[PowerSample]) -> None:
        for sample in samples:
            if not (abs(sample.current_a) <= MAX_CURRENT_A and 0 < sample.voltage_v <= 12):
                self._fail(f"the {self.title} sent a reading out of range ({sample.current_a!r} A at "
                           f"{sample.voltage_v!r} V)")
                return
        if not samples:
            return
        if self._sink is not None:
            self._sink(samples)  # on disk first
        with self._lock:
            self._samples.extend(samples)

    def _edge(self, t_s: float) -> None:
        with self._lock:
            self._edges.append(t_s)

    def _fail(self, message: str) -> None:
        if self._failure is None:
            with self._lock:
                count = len(self._samples)
            self._failure = f"{message} (after {count:,} samples)"

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _start(self) -> None: ...

    @abstractmethod
    def _stop(self) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...
