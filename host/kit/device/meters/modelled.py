"""The modelled meter of the twins: a current trace drawn from the instruction counts.

An emulator has no supply to measure, but every path of kit's measuring code (samples on
disk as they arrive, trigger edges, windows, integration, idle power, the plot) should run in
CI. This meter draws the trace a real meter would see if the board drew its catalog active
power while an inference runs and its idle power between them: the window lengths are the
device's own timings (instruction counts at the reference board's clock on a twin), the
edges are where a wired timestamp pin would put them. Its numbers are labelled `modelled`:
the energy per inference equals the catalog active power x the time, as without a meter.
"""

from __future__ import annotations

from kit.bench.samples import PowerSample
from kit.device.meters.base import Meter, MeterError, RunWindow

# Rates a bench meter offers (Hz); the modelled meter takes the highest that keeps a window
# under MAX_SAMPLES_PER_WINDOW samples, so a long inference does not write millions of rows.
RATES_HZ = (100_000, 50_000, 20_000, 10_000, 5_000, 2_000, 1_000, 500, 200, 100)
MAX_SAMPLES_PER_WINDOW = 2_000


class ModelledMeter(Meter):
    name = "modelled"
    title = "modelled meter"
    label = "modelled"
    idle_gap_s = 0.0  # its idle gaps are drawn on its own (virtual) clock

    def __init__(self, supply_v: float, active_mw: float, idle_mw: float, power_board: str) -> None:
        super().__init__(supply_v)
        if not (0 < idle_mw and 0 < active_mw):
            raise MeterError(f"{power_board}'s catalog power ({active_mw} mW active, {idle_mw} mW idle) is not positive",
                             hint="fix active_power_mw / idle_power_mw in the board file")
        self.active_a = active_mw / 1000 / supply_v
        self.idle_a = idle_mw / 1000 / supply_v
        self.power_board = power_board
        self.rate_hz: int | None = None
        self._cursor = 0.0
        self._last_window_s = 0.0

    def _open(self) -> None:
        pass

    def _start(self) -> None:
        self._cursor = 0.0

    def _stop(self) -> None:
        if self.rate_hz is not None:
            self._hold(self.idle_a, self._gap_s())  # the idle tail after the last run

    def _close(self) -> None:
        pass

    def _gap_s(self) -> float:
        assert self.rate_hz is not None
        return max(10 / self.rate_hz, self._last_window_s)

    def run_done(self, window: RunWindow) -> None:
        """Idle before the run (as long as the run, at least 10 samples), then the run itself,
        with an edge and a sample exactly at each end so the step is where the device says."""
        if not 0 < window.device_s < 3600:
            raise MeterError(f"run {window.index} lasted {window.device_s!r} s by the device's timer",
                             hint="the device's timings are out of range; run `kit bench` again")
        if self.rate_hz is None:
            self.rate_hz = next((rate for rate in RATES_HZ if window.device_s * rate <= MAX_SAMPLES_PER_WINDOW),
                                RATES_HZ[-1])
        self._last_window_s = window.device_s
        self._hold(self.idle_a, self._gap_s())
        start = self._cursor
        self._edge(start)
        self._hold(self.active_a, window.device_s)
        self._edge(self._cursor)

    def _hold(self, current_a: float, seconds: float) -> None:
        """Samples of `current_a` from the cursor for `seconds`: one at the cursor, then on the
        meter's grid (a fixed rate, as a real meter samples)."""
        assert self.rate_hz is not None
        begin, end = self._cursor, self._cursor + seconds
        times = [begin]
        tick = int(begin * self.rate_hz) + 1
        while tick / self.rate_hz < end:
            times.append(tick / self.rate_hz)
            tick += 1
        self._deliver([PowerSample(t, current_a, self.supply_v) for t in times])
        self._cursor = end
