"""TEST PEER ONLY: a stand-in for an ST LPM01A PowerShield on a pty, speaking its serial
text protocol (the commands and replies the MLPerf Tiny runner's power manager uses:
`ack CMD` / `error CMD` + `Error detail: ...`, the `PowerShield > ` prompt, ascii_dec
readings `dddd[+-]dd`, `TimeStamp:` lines, `event N ris|fal` at D7 edges, `Acquisition
completed` after `stop`). No LPM01A exists here.

Its samples are paced by the wall clock at the configured frequency: reading k stands for
time start + k / freq, and is `active_a` while the coupled DUT peer is inside a run (it
reports its runs through `dut_edge`, as the timestamp wire would), else `idle_a`; with
`output energy` (what the MLPerf Tiny runner asks for) a reading is the energy of that
sample period instead, current x `volt` / freq in joules. An event line is emitted before
the first reading at or after the edge's time.
"""

from __future__ import annotations

import os
import select
import threading
import time
import tty
from dataclasses import dataclass, field

FREQ = {"100k": 100000, "50k": 50000, "20k": 20000, "10k": 10000, "5k": 5000, "2k": 2000, "1k": 1000,
        "500": 500, "200": 200, "100": 100, "50": 50, "20": 20, "10": 10, "5": 5, "2": 2, "1": 1}
KNOWN = {"htc", "hrc", "version", "volt", "freq", "acqtime", "output", "format", "trigsrc", "eventsrc", "pwr",
         "start", "stop", "powershield", "status", "lcd", "acqmode", "funcmode", "trigdelay"}


@dataclass
class LpmBehaviour:
    idle_a: float = 1.0e-3         # 1.000 mA
    active_a: float = 12.5e-3      # 12.50 mA
    die_after_samples: int | None = None  # close the port mid-run
    wire_connected: bool = True    # False: D7 edges never reach it (no event lines)
    refuse: str | None = None      # a command word answered with `error`


def _reading(current_a: float) -> str:
    """ascii_dec: 4 digits of mantissa, sign, 2 digits of power of ten (6409-07 = 640.9 uA)."""
    exponent = 0
    mantissa = current_a
    while mantissa < 1000 and exponent < 99:
        mantissa *= 10
        exponent += 1
    return f"{int(round(mantissa)):04d}-{exponent:02d}"


@dataclass
class LpmPeer:
    behaviour: LpmBehaviour
    received: list[str] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    edges: list[float] = field(default_factory=list)   # wall times of D7 edges
    active: list[tuple[float, float]] = field(default_factory=list)
    sent_samples: int = 0
    acquiring: bool = False

    def dut_edge(self, phase: str) -> None:
        """The DUT's timestamp pin: a falling edge at each run's start and end (reported as
        events only while acquiring, as the real one does)."""
        now = time.monotonic()
        if self.behaviour.wire_connected and self.acquiring:
            self.edges.append(now)
        if phase == "start":
            self.active.append((now, float("inf")))
        else:
            self.active[-1] = (self.active[-1][0], now)

    def current_at(self, t: float) -> float:
        return self.behaviour.active_a if any(a <= t < b for a, b in self.active) else self.behaviour.idle_a

    def value_at(self, t: float, freq: int) -> float:
        """One reading: the current, or with `output energy` the sample period's energy (J)."""
        if self.settings.get("output") != "energy":
            return self.current_at(t)
        volts = float(self.settings.get("volt", "3300m").rstrip("m")) / 1000
        return self.current_at(t) * volts / freq


def serve_lpm(behaviour: LpmBehaviour) -> tuple[str, LpmPeer]:
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    peer = LpmPeer(behaviour)
    state = {"acquiring": False, "start": 0.0, "count": 0, "events": 0, "alive": True}
    lock = threading.Lock()

    def write(text: str) -> None:
        with lock:
            os.write(master, text.encode("ascii"))

    def reply(command: str) -> None:
        word, *args = command.split()
        if word not in KNOWN or word == behaviour.refuse:
            write(f"{'PowerShield > '}error {command}\r\nError detail: command not supported\r\n")
            return
        if word == "freq" and (not args or args[0] not in FREQ):
            write(f"PowerShield > error {command}\r\nError detail: value out of range\r\n")
            return
        if word in ("volt", "freq", "acqtime", "output", "format", "trigsrc", "pwr"):
            peer.settings[word] = " ".join(args)
        if word == "eventsrc":
            peer.settings[word] = " ".join(args)
        if word == "version":
            write(f"PowerShield > ack {command} 1.0.4\r\n")
            return
        if word == "start":
            with lock:
                state.update(acquiring=True, start=time.monotonic(), count=0, events=0)
                peer.acquiring = True
                os.write(master, f"PowerShield > ack {command}\r\n".encode())
            return
        if word == "stop":
            with lock:
                state["acquiring"] = False
                peer.acquiring = False
            write(f"PowerShield > ack {command}\r\n")
            write("PowerShield > Acquisition completed\r\n")
            return
        write(f"PowerShield > ack {command}\r\n")

    def stream() -> None:
        """Readings for the wall time elapsed, every few ms, while acquiring."""
        while state["alive"]:
            time.sleep(0.003)
            with lock:
                if not state["acquiring"]:
                    continue
                freq = FREQ[peer.settings.get("freq", "100")]
                due = int((time.monotonic() - state["start"]) * freq)
                lines = []
                while state["count"] < due:
                    t = state["start"] + state["count"] / freq
                    while state["events"] < len(peer.edges) and peer.edges[state["events"]] <= t:
                        state["events"] += 1
                        lines.append(f"event {state['events']} ris\r\n")
                    lines.append(_reading(peer.value_at(t, freq)) + "\r\n")
                    state["count"] += 1
                    peer.sent_samples += 1
                    if state["count"] % freq == 0:
                        seconds = state["count"] // freq
                        lines.append(f"TimeStamp: {seconds:03d}s 000ms, buff 00%\r\n")
                    if behaviour.die_after_samples is not None and peer.sent_samples >= behaviour.die_after_samples:
                        os.write(master, "".join(lines).encode())
                        state["alive"] = False
                        time.sleep(0.2)  # let the host read what was sent before the port vanishes
                        time.sleep(0.05)  # and the command thread leave its poll
                        os.close(master)
                        os.close(slave)
                        return
                if lines:
                    os.write(master, "".join(lines).encode())

    def commands() -> None:
        pending = b""
        while state["alive"]:
            # Poll, never block in read: a thread blocked in read(master) keeps the pty open
            # after close(master), and the host would never see the disconnect.
            try:
                ready, _, _ = select.select([master], [], [], 0.02)
                if not ready:
                    continue
                chunk = os.read(master, 4096)
            except OSError:
                return
            if not chunk:
                return
            pending += chunk
            while b"\n" in pending:
                raw, pending = pending.split(b"\n", 1)
                command = raw.decode("ascii", "replace").strip()
                if command and state["alive"]:
                    peer.received.append(command)
                    reply(command)

    threading.Thread(target=stream, daemon=True).start()
    threading.Thread(target=commands, daemon=True).start()
    return path, peer
