"""TEST PEER ONLY: a stand-in for a Nordic PPK2 on a pty, speaking the serial byte commands
`ppk2-api` sends (GET_META_DATA 0x19 -> calibration text + `END`, SET_POWER_MODE 0x11,
REGULATOR_SET 0x0d a b, DEVICE_RUNNING_SET 0x0c, AVERAGE_START 0x06 / AVERAGE_STOP 0x07)
and streaming 4-byte little-endian sample words at 100 kHz of wall time while measuring:
ADC bits 0..13 in range 2 (or auto-ranged, with the spikes a range switch makes: see
RangeSwitcher), logic port bits 24..31 (D0 low for 20 us after each timestamp edge of the
coupled DUT peer, as a wired timestamp pin). No PPK2 exists here.
"""

from __future__ import annotations

import bisect
import os
import select
import threading
import time
import tty
from dataclasses import dataclass, field

RATE = 100_000
R = [1031.64, 101.65, 10.15, 0.94, 0.043]
RANGE = 2
PULSE_S = 20e-6


def metadata() -> bytes:
    lines = ["Calibrated: 0"]
    for key, values in (("R", R), ("GS", [0.0] * 5), ("GI", [1.0] * 5), ("O", [0.0] * 5), ("S", [0.0] * 5),
                        ("I", [0.0] * 5), ("UG", [1.0] * 5)):
        lines += [f"{key}{i}: {v}" for i, v in enumerate(values)]
    lines += ["VDD: 3300", "HW: 1234", "mode: 2", "IA: 56", "END"]
    return ("\n".join(lines) + "\n").encode()


def word(current_a: float, d0: int, measuring_range: int = RANGE) -> bytes:
    adc = min(round(current_a * R[measuring_range] / (1.8 / 163840) / 4), 0x3FFF)
    return (adc | (measuring_range << 14) | ((0xFE | d0) << 24)).to_bytes(4, "little")


def auto_range(current_a: float) -> int:
    """The lowest range whose full scale (0x3FFF * 4 ADC counts) holds the current with 10 %
    to spare, as the PPK2 switches ranges by itself."""
    for index, ohms in enumerate(R):
        if current_a * 1.1 <= 0x3FFF * 4 * (1.8 / 163840) / ohms:
            return index
    return len(R) - 1


class RangeSwitcher:
    """What a PPK2's automatic ranging does to the trace: each sample is in the range its
    current needs, and the first `spike_samples` samples after a range switch read
    `spike_factor` times the true current (the switching transient the PPK2 software smooths)."""

    def __init__(self, spike_factor: float = 4.0, spike_samples: int = 2) -> None:
        self.spike_factor, self.spike_samples = spike_factor, spike_samples
        self.range: int | None = None
        self.since_switch = spike_samples

    def word(self, current_a: float, d0: int) -> bytes:
        wanted = auto_range(current_a)
        if self.range is not None and wanted != self.range:
            self.since_switch = 0
        self.range = wanted
        spiking = self.since_switch < self.spike_samples
        self.since_switch += 1
        return word(current_a * (self.spike_factor if spiking else 1.0), d0, wanted)


@dataclass
class Ppk2Behaviour:
    idle_a: float = 1.0e-3
    active_a: float = 12.5e-3
    die_after_samples: int | None = None
    wire_connected: bool = True
    no_metadata: bool = False
    range_switching: bool = False  # auto-range (idle and active in different ranges) with switch spikes


@dataclass
class Ppk2Peer:
    behaviour: Ppk2Behaviour
    commands: list[tuple[int, ...]] = field(default_factory=list)
    edges: list[float] = field(default_factory=list)
    active: list[tuple[float, float]] = field(default_factory=list)
    sent_samples: int = 0
    switcher: RangeSwitcher = field(default_factory=RangeSwitcher)

    def dut_edge(self, phase: str) -> None:
        now = time.monotonic()
        if self.behaviour.wire_connected:
            self.edges.append(now)
        if phase == "start":
            self.active.append((now, float("inf")))
        else:
            self.active[-1] = (self.active[-1][0], now)

    def sample(self, t: float) -> bytes:
        current = self.behaviour.active_a if any(a <= t < b for a, b in self.active) else self.behaviour.idle_a
        at = bisect.bisect_right(self.edges, t)  # the stream may lag the wall clock: look the edge up
        d0 = 0 if at and t < self.edges[at - 1] + PULSE_S else 1
        return self.switcher.word(current, d0) if self.behaviour.range_switching else word(current, d0)


COMMAND_LENGTHS = {0x19: 1, 0x11: 2, 0x0D: 3, 0x0C: 2, 0x06: 1, 0x07: 1}


def serve_ppk2(behaviour: Ppk2Behaviour) -> tuple[str, Ppk2Peer]:
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    peer = Ppk2Peer(behaviour)
    state = {"measuring": False, "start": 0.0, "count": 0, "alive": True}
    lock = threading.Lock()

    def die() -> None:
        state["alive"] = False
        time.sleep(0.25)  # the host reads what was sent; the command thread leaves its poll
        os.close(master)
        os.close(slave)

    def stream() -> None:
        while state["alive"]:
            time.sleep(0.002)
            with lock:
                if not state["measuring"]:
                    continue
                due = int((time.monotonic() - state["start"]) * RATE)
                out = bytearray()
                while state["count"] < due:
                    out += peer.sample(state["start"] + state["count"] / RATE)
                    state["count"] += 1
                    peer.sent_samples += 1
                    if behaviour.die_after_samples is not None and peer.sent_samples >= behaviour.die_after_samples:
                        os.write(master, bytes(out))
                        threading.Thread(target=die, daemon=True).start()
                        state["measuring"] = False
                        return
                if out:
                    os.write(master, bytes(out))

    def commands() -> None:
        pending = b""
        while state["alive"]:
            ready, _, _ = select.select([master], [], [], 0.02)
            if not ready or not state["alive"]:
                continue
            try:
                pending += os.read(master, 64)
            except OSError:
                return
            while pending and len(pending) >= COMMAND_LENGTHS.get(pending[0], 1):
                length = COMMAND_LENGTHS.get(pending[0], 1)
                command, pending = tuple(pending[:length]), pending[length:]
                peer.commands.append(command)
                if command[0] == 0x19 and not behaviour.no_metadata:
                    os.write(master, metadata())
                elif command[0] == 0x06:
                    with lock:
                        state.update(measuring=True, start=time.monotonic(), count=0)
                elif command[0] == 0x07:
                    with lock:
                        state["measuring"] = False

    threading.Thread(target=stream, daemon=True).start()
    threading.Thread(target=commands, daemon=True).start()
    return path, peer
