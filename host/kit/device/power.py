"""Energy per inference from a meter's trace: windows, integration, idle and peak power.

The inference windows come from the trigger edges the firmware makes at each run's start and
end (exact on the meter's clock), or, without a wire, from serial timestamps: the host knows
when it sent each `kit-infer 1` and when its result arrived, the device how long the run
took, so the window lies inside that bracket; its start is placed in the middle and the error
bound (half the slack, plus how well the meter's clock zero is known) is stated.
Samples are held until the next one (a meter's reading stands for its interval), so the
integral of a step at a sample's time is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from kit.bench.samples import PowerSample
from kit.device.meters.base import MeterError, RunWindow, Sync


@dataclass(frozen=True)
class Window:
    """One inference on the meter's clock (seconds)."""

    index: int
    start_s: float
    end_s: float

    @property
    def seconds(self) -> float:
        return self.end_s - self.start_s


@dataclass
class PowerSummary:
    """What `kit bench --meter` reports about power (all per the meter's trace)."""

    meter: str
    label: str                 # "measured" | "modelled"
    sync: Sync
    sync_error_us: float       # 0 with a trigger wire (edges on the meter's own clock)
    supply_v: float
    energy_uj: list[float]     # per inference
    window_us: list[float]
    average_power_mw: float    # during inferences
    peak_power_mw: float
    idle_power_mw: float
    samples: int
    sample_hz: float
    windows: list[Window] = field(default_factory=list)

    @property
    def mean_energy_uj(self) -> float:
        return float(np.mean(self.energy_uj))


def windows_from_edges(edges: Sequence[float], runs: int, title: str) -> list[Window]:
    """Pairs of edges (start, end) per run; an odd or short count says what the wire did."""
    if len(edges) < 2 * runs:
        raise MeterError(
            f"the {title} saw {len(edges)} timestamp edge(s) for {runs} inference(s) (2 per inference expected)",
            hint="check the timestamp wire (board's [power] timestamp_pin to the meter's trigger input, common "
                 "ground), or pass --sync serial")
    edges = sorted(edges)[: 2 * runs]
    windows = [Window(i, edges[2 * i], edges[2 * i + 1]) for i in range(runs)]
    for window in windows:
        if window.seconds <= 0:
            raise MeterError(f"the {title}'s edges for inference {window.index} are not in order", hint="run again")
    return windows


def windows_from_serial(runs: Sequence[RunWindow], host_zero: float, zero_error_s: float) -> tuple[list[Window], float]:
    """Windows placed by host timestamps; returns them and the error bound on their start (s)."""
    windows, bound = [], 0.0
    for run in runs:
        slack = max(0.0, (run.host_end - run.host_start) - run.device_s)
        start = run.host_start + slack / 2 - host_zero
        windows.append(Window(run.index, start, start + run.device_s))
        bound = max(bound, slack / 2 + zero_error_s)
    return windows, bound


def _cumulative(samples: Sequence[PowerSample]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample times, their powers (W) and the energy (J) up to each time, samples held."""
    t = np.array([s.t_s for s in samples], dtype=np.float64)
    p = np.array([s.current_a * s.voltage_v for s in samples], dtype=np.float64)
    order = np.argsort(t, kind="stable")
    t, p = t[order], p[order]
    energy = np.concatenate(([0.0], np.cumsum(p[:-1] * np.diff(t))))
    return t, p, energy


def _energy_between(t: np.ndarray, energy: np.ndarray, a: float, b: float) -> float:
    return float(np.interp(b, t, energy) - np.interp(a, t, energy))


def summarize_power(samples: Sequence[PowerSample], windows: Sequence[Window], *, meter: str, label: str,
                    sync: Sync, sync_error_s: float, supply_v: float, title: str) -> PowerSummary:
    """Energy per window, average/peak power in the windows, idle power outside them."""
    if len(samples) < 2:
        raise MeterError(f"the {title} sent {len(samples)} sample(s): too few to integrate",
                         hint="check that the meter is acquiring (its LED/display), then run again")
    t, p, energy = _cumulative(samples)
    for window in windows:
        if window.start_s < t[0] or window.end_s > t[-1]:
            raise MeterError(
                f"inference {window.index} ({window.start_s:.6f}..{window.end_s:.6f} s) lies outside the "
                f"{title}'s trace ({t[0]:.6f}..{t[-1]:.6f} s)",
                hint="the meter started late or stopped early; run `kit bench` again")
    energies = [_energy_between(t, energy, w.start_s, w.end_s) for w in windows]
    active_s = sum(w.seconds for w in windows)
    inside = np.zeros(len(t), dtype=bool)
    for w in windows:
        inside |= (t >= w.start_s) & (t < w.end_s)
    idle_s = (t[-1] - t[0]) - active_s
    idle_j = (energy[-1] - sum(energies))
    steps = np.diff(t)
    return PowerSummary(
        meter=meter, label=label, sync=sync, sync_error_us=sync_error_s * 1e6, supply_v=supply_v,
        energy_uj=[e * 1e6 for e in energies], window_us=[w.seconds * 1e6 for w in windows],
        average_power_mw=sum(energies) / active_s * 1e3 if active_s > 0 else 0.0,
        peak_power_mw=float(p[inside].max() * 1e3) if inside.any() else float(max(
            np.interp([w.start_s for w in windows], t, p, left=0)) * 1e3),
        idle_power_mw=idle_j / idle_s * 1e3 if idle_s > 0 else float("nan"),
        samples=len(t), sample_hz=float(1 / np.median(steps[steps > 0])) if (steps > 0).any() else 0.0,
        windows=list(windows),
    )


# ---------------------------------------------------------------------------- the bench loop
TRIGGER_TIMEOUT_S = 3.0   # a wired edge reaches the meter within microseconds; 3 s is "never"
TRACE_TIMEOUT_S = 5.0     # a meter's stream lags the host by its buffering, well under this


def metered_runs(run_one, meter, runs: int, sync: Sync, results, sink) -> PowerSummary:
    """Time `runs` inferences one command each while `meter` records; returns the summary.

    `run_one(index) -> device seconds` runs one timed inference. `results` gets a `window`
    record per run (host bracket, device time) as it ends. The meter starts here (after the
    warm-up, so warm-up runs are not counted as idle) and every sample goes to `sink` (the
    samples file) as it arrives."""
    import time

    windows: list[RunWindow] = []
    gap = meter.idle_gap_s
    meter.start(sink)
    for index in range(runs):
        if gap:
            time.sleep(gap)  # idle between runs: the meter measures idle power here
        meter.check_alive()
        started = time.monotonic()
        device_s = run_one(index)
        window = RunWindow(index, started, time.monotonic(), device_s)
        windows.append(window)
        meter.run_done(window)
        results.append({"type": "window", "index": index, "host_start": window.host_start,
                        "host_end": window.host_end, "device_us": device_s * 1e6})
        if index == 0 and sync == "trigger":
            meter.wait_for(lambda: len(meter.edges) >= 2, TRIGGER_TIMEOUT_S,
                           "saw no timestamp edge on its trigger input for the first inference")
    if gap:
        time.sleep(gap)
    if getattr(meter, "on_board", False):
        summary = meter.summary()
        for index, (start, ticks) in enumerate(meter.window_ticks):  # the board's own numbers, raw
            results.append({"type": "board_window", "index": index, "start_tick": start, "ticks": ticks,
                            "timer_hz": meter.timer_hz, "board_nj": meter.board_nj[index]})
        _record_energies(results, summary)
        return summary
    if sync == "trigger":
        meter.wait_for(lambda: len(meter.edges) >= 2 * runs, TRIGGER_TIMEOUT_S,
                       f"saw {len(meter.edges)} of the {2 * runs} timestamp edges the inferences made")
        placed = windows_from_edges(meter.edges, runs, meter.title)
        error_s = 0.0
    else:
        placed, error_s = windows_from_serial(windows, meter.host_zero, meter.start_uncertainty_s)
        last_end = placed[-1].end_s + gap / 2
        meter.wait_for(lambda: meter.latest_time() >= last_end, TRACE_TIMEOUT_S,
                       "stream did not reach the end of the last inference")
    meter.stop()
    meter.check_alive()
    summary = summarize_power(meter.samples, placed, meter=meter.name, label=meter.label, sync=sync,
                              sync_error_s=error_s, supply_v=meter.supply_v, title=meter.title)
    _record_energies(results, summary)
    return summary


def _record_energies(results, summary: PowerSummary) -> None:
    for window, uj in zip(summary.windows, summary.energy_uj):
        results.append({"type": "energy", "index": window.index, "start_s": window.start_s, "end_s": window.end_s,
                        "uj": uj})
