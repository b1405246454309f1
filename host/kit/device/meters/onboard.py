"""The on-board current sensor (INA219 / INA226 on the board's I2C bus, the board file's
[power] table), read by the firmware itself: `kit-power N` (docs/PROTOCOL.md) runs N
inferences, samples the sensor at each run's start and end and around every op, integrates
the energy on the board and streams the samples over the same serial link. The host checks
the board's integral against the samples it received, keeps every sample on disk, and
reports the board's figures. On a twin the sensor is the VIRTUAL one of
firmware/hal/kit_virtual_ina.h (a known current profile): its numbers are labelled
`modelled`, and `virtual_profile_uj` is that profile's exact integral, for the tests.
"""

from __future__ import annotations

import re

from kit.bench.samples import PowerSample
from kit.device.meters.base import MAX_CURRENT_A, Meter, MeterError
from kit.errors import DeviceError

IDLE_RE = re.compile(r"^m-kit-power-idle-\[(-?[0-9]+),([0-9]+)\]$")
SAMPLE_RE = re.compile(r"^m-kit-psample-\[([0-9]+),([0-9]+),(-?[0-9]+),([0-9]+)\]$")
RUN_RE = re.compile(r"^m-kit-power-\[([0-9]+),([0-9]+),([0-9]+),([0-9]+),([0-9]+),([0-9]+)\]$")
MAX_UA = int(MAX_CURRENT_A * 1e6)
MAX_MV = 12_000
CHECK_TOLERANCE = 0.005   # the board's integer integral vs the host's, from the same samples


def trapezoid_nj(samples: list[tuple[int, int, int]], timer_hz: int) -> float:
    """The board's integral on the host: (dt_ticks, uA, mV) samples, power in whole uW."""
    total = 0.0
    for (t0, ua0, mv0), (t1, ua1, mv1) in zip(samples, samples[1:]):
        p0, p1 = (ua0 * mv0) // 1000, (ua1 * mv1) // 1000
        total += max(0, p0 + p1) * (t1 - t0) / 2
    return total / timer_hz * 1000


class OnBoardMeter(Meter):
    """Not a separate instrument: the board's own sensor, read through its serial link."""

    idle_gap_s = 0.0
    on_board = True

    def __init__(self, part: str, supply_v: float, board_name: str, virtual: bool) -> None:
        super().__init__(supply_v)
        self.name = part
        self.title = f"{part.upper()} on {board_name}'s I2C" + (" (virtual, emulator)" if virtual else "")
        self.label = "modelled" if virtual else "measured"
        self.idle_readings: list[tuple[int, int]] = []
        self.board_nj: list[float] = []
        self.window_ticks: list[tuple[int, int]] = []
        self.peak_uw = 0.0
        self.timer_hz = 0
        self._origin: int | None = None

    def _open(self) -> None:
        pass

    def _start(self) -> None:
        pass

    def _stop(self) -> None:
        pass

    def _close(self) -> None:
        pass

    def measure_run(self, client, index: int) -> float:
        """`kit-power 1`: one sampled run; returns its seconds by the board's timer."""
        assert client.info is not None
        self.timer_hz = client.info.timer_hz
        lines: list[str] = []
        try:
            client.command("kit-power 1", on_line=lines.append, line_timeout=client.infer_line_timeout)
        except DeviceError as error:
            if "no power sensor" in error.message or "does not answer" in error.message:
                raise MeterError(f"the board cannot read its {self.name.upper()}: {error.message}",
                                 hint="check the sensor's wiring against the board file's [power] table "
                                      "(address, SDA/SCL pins) and that kit flashed this firmware") from None
            if "stopped answering" in error.message:
                raise MeterError(f"the board's {self.name.upper()} stopped answering during run {index} "
                                 f"(after {len(self.samples):,} samples of the runs before it, which are kept)",
                                 hint="check the sensor's wiring and supply (a loose SDA/SCL wire), then run "
                                      "`kit bench` again") from None
            raise
        return self._parse(lines, index)

    def _parse(self, lines: list[str], index: int) -> float:
        idle = [IDLE_RE.match(line) for line in lines]
        for match in filter(None, idle):
            self.idle_readings.append(self._checked(int(match.group(1)), int(match.group(2)), "idle reading"))
        samples = []
        for match in filter(None, (SAMPLE_RE.match(line) for line in lines)):
            ua, mv = self._checked(int(match.group(3)), int(match.group(4)), "sample")
            samples.append((int(match.group(2)), ua, mv))
        runs = [m for m in (RUN_RE.match(line) for line in lines) if m]
        if len(runs) != 1:
            raise MeterError(f"kit-power sent {len(runs)} run summaries (m-kit-power-[...]) for one run",
                             hint="lines were lost on the link; run `kit bench` again")
        run, start, ticks, nj, count, dropped = (int(v) for v in runs[0].groups())
        if count != len(samples) or not samples or any(b[0] < a[0] for a, b in zip(samples, samples[1:])) \
                or samples[-1][0] > ticks:
            raise MeterError(f"kit-power run {index}: {len(samples)} samples arrived, the board reported {count} "
                             "(or their times are out of order)", hint="run `kit bench` again")
        host_nj = trapezoid_nj(samples, self.timer_hz)
        if abs(host_nj - nj) > CHECK_TOLERANCE * max(host_nj, 1.0) + 1:
            raise MeterError(f"the board integrated {nj} nJ for run {index}, its samples give {host_nj:.0f} nJ",
                             hint="the firmware and kit disagree on the integration: rebuild with `kit flash`")
        if self._origin is None:
            self._origin = start
        to_s = lambda tick: (tick - self._origin) / self.timer_hz  # noqa: E731
        self._edge(to_s(start))
        self._deliver([PowerSample(to_s(start + dt), ua * 1e-6, mv * 1e-3) for dt, ua, mv in samples])
        self._edge(to_s(start + ticks))
        self.board_nj.append(float(nj))
        self.window_ticks.append((start, ticks))
        self.peak_uw = max(self.peak_uw, max(ua * mv / 1000 for _, ua, mv in samples))
        if dropped:
            raise MeterError(f"kit-power run {index} dropped {dropped} samples (the firmware keeps "
                             "KIT_POWER_MAX_SAMPLES per run)", hint="rebuild with a larger -DKIT_POWER_MAX_SAMPLES")
        del run
        return ticks / self.timer_hz

    def _checked(self, ua: int, mv: int, what: str) -> tuple[int, int]:
        if not (abs(ua) <= MAX_UA and 0 < mv <= MAX_MV):
            raise MeterError(f"the board's {self.name.upper()} {what} is out of range ({ua} uA at {mv} mV)",
                             hint="check the sensor's wiring and the shunt value in the board file's [power]")
        return ua, mv

    def summary(self, sync_error_s: float = 0.0):
        from kit.device.power import PowerSummary, Window

        windows = [Window(i, (s - self._origin) / self.timer_hz, (s + t - self._origin) / self.timer_hz)
                   for i, (s, t) in enumerate(self.window_ticks)]
        active_s = sum(w.seconds for w in windows)
        idle_mw = (sum(ua * mv for ua, mv in self.idle_readings) / len(self.idle_readings) / 1e6
                   if self.idle_readings else float("nan"))
        return PowerSummary(
            meter=self.name, label=self.label, sync="board", sync_error_us=sync_error_s, supply_v=self.supply_v,
            energy_uj=[nj / 1000 for nj in self.board_nj], window_us=[w.seconds * 1e6 for w in windows],
            average_power_mw=sum(self.board_nj) * 1e-9 / active_s * 1e3 if active_s else 0.0,
            peak_power_mw=self.peak_uw / 1000, idle_power_mw=idle_mw, samples=len(self.samples),
            sample_hz=len(self.samples) / active_s if active_s else 0.0, windows=windows,
        )


def virtual_profile_uj(start_s: float, end_s: float, min_ua: float = 5000, max_ua: float = 25000,
                       period_s: float = 0.1, bus_v: float = 3.3) -> float:
    """The exact energy of kit_virtual_ina.h's triangle profile between two times (uJ)."""
    def charge(t: float) -> float:  # integral of the current (uA*s) from 0 to t
        periods, phase = divmod(t, period_s)
        half = period_s / 2
        span = max_ua - min_ua
        per_period = min_ua * period_s + span * half  # rise and fall each average span/2
        if phase <= half:
            within = min_ua * phase + span * phase * phase / (2 * half)
        else:
            after = phase - half
            within = min_ua * phase + span * half / 2 + span * (after - after * after / (2 * half))
        return periods * per_period + within
    return (charge(end_s) - charge(start_s)) * bus_v
