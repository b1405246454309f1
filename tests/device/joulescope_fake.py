"""TEST FAKE ONLY: the part of the `joulescope` package's v1 API that kit's Joulescope meter
uses (no Joulescope exists here, and the package is an optional extra): a device with
open/parameter_set/start/stop/close and a stream_buffer whose sample_id_range advances at
the sampling frequency in wall time and whose samples_get(start, stop, fields) returns
{"signals": {field: {"value": array}}}, current following the coupled DUT peer's runs and
GPI0 (in the `current_lsb` field) low for 20 us after each timestamp edge.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field

import numpy as np

PARAMETERS = {"sensor_power": {"on", "off"}, "i_range": {"auto", "10 A", "180 mA", "18 mA"},
              "sampling_frequency": {1000, 10000, 100000, 1000000, 2000000}, "current_lsb": {"normal", "gpi0", "gpi1"},
              "source": {"raw", "off"}, "trigger_source": {"auto", "gpi0", "gpi1"}}
PULSE_S = 20e-6


@dataclass
class FakeBehaviour:
    idle_a: float = 1.0e-3
    active_a: float = 12.5e-3
    volts: float = 3.3
    wire_connected: bool = True
    die_after_samples: int | None = None


@dataclass
class FakeStreamBuffer:
    device: "FakeJoulescope"

    @property
    def sample_id_range(self):
        d = self.device
        if not d.started:
            return 0, 0
        end = int((time.monotonic() - d.start_time) * d.parameters["sampling_frequency"])
        if d.behaviour.die_after_samples is not None and end >= d.behaviour.die_after_samples:
            d.dead = True
        if d.dead:
            raise OSError("device disconnected")  # what a vanished USB device gives the driver
        return max(0, end - 10 * d.parameters["sampling_frequency"]), end

    def samples_get(self, start, stop, fields=None):
        d = self.device
        if d.dead:
            raise OSError("device disconnected")
        rate = d.parameters["sampling_frequency"]
        times = d.start_time + np.arange(start, stop) / rate
        active = np.zeros(len(times), dtype=bool)
        for a, b in d.active:
            active |= (times >= a) & (times < b)
        gpi = np.ones(len(times), dtype=np.uint8)
        for t_index, t in enumerate(times):
            at = bisect.bisect_right(d.edges, t)
            if at and t < d.edges[at - 1] + PULSE_S:
                gpi[t_index] = 0
        values = {"current": np.where(active, d.behaviour.active_a, d.behaviour.idle_a).astype(np.float32),
                  "voltage": np.full(len(times), d.behaviour.volts, dtype=np.float32), "current_lsb": gpi}
        return {"time": {"sample_id_range": {"value": [start, stop]}},
                "signals": {name: {"value": values[name], "units": ""} for name in fields}}


@dataclass
class FakeJoulescope:
    behaviour: FakeBehaviour
    parameters: dict = field(default_factory=lambda: {"sampling_frequency": 2000000})
    calls: list[str] = field(default_factory=list)
    edges: list[float] = field(default_factory=list)
    active: list[tuple[float, float]] = field(default_factory=list)
    started: bool = False
    dead: bool = False
    start_time: float = 0.0

    def __post_init__(self) -> None:
        self.stream_buffer = FakeStreamBuffer(self)

    def open(self):
        self.calls.append("open")

    def parameter_set(self, name, value):
        if name not in PARAMETERS or value not in PARAMETERS[name]:
            raise ValueError(f"invalid parameter {name}={value!r}")
        self.calls.append(f"{name}={value}")
        self.parameters[name] = value

    def start(self, stop_fn=None, duration=None, contiguous_duration=None):
        self.calls.append("start")
        self.started, self.start_time = True, time.monotonic()

    def stop(self):
        self.calls.append("stop")
        self.started = False

    def close(self):
        self.calls.append("close")

    def dut_edge(self, phase: str) -> None:
        now = time.monotonic()
        if self.behaviour.wire_connected:
            self.edges.append(now)
        if phase == "start":
            self.active.append((now, float("inf")))
        else:
            self.active[-1] = (self.active[-1][0], now)
