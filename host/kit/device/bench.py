"""`kit bench`: time many inferences on a connected board and summarise them.

Each run is appended to a ResultsFile the moment its line arrives, so a bench cut short (the
board unplugged, the emulator killed, Ctrl-C) leaves every measurement made on disk, and the
error says where. Kit boards time each inference in ticks and report per-layer ticks; boards
with only the MLPerf Tiny protocol give one microsecond lap pair per `infer` command.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from kit.bench.results import ResultsFile
from kit.bench.stats import LatencyStats, summarize
from kit.catalog import Board
from kit.device.measure import Energy, Timebase, modelled_energy, runs_emulated
from kit.device.meters import Meter, Sync
from kit.device.power import PowerSummary, metered_runs
from kit.errors import DeviceError, KitError
from kit.protocol import MLPERF_INPUT_BYTES, DeviceClient
from kit.protocol.client import MAX_INPUT_BYTES

RUNS_PER_COMMAND = 10


class BenchInterrupted(KitError):
    """Ctrl-C during a bench: what was measured is on disk, and the message says where."""

    exit_code = 130

Progress = Callable[[int], None]


@dataclass
class LayerTiming:
    index: int
    op: str
    ticks: int
    cycles: float
    percent: float


@dataclass
class BenchReport:
    """Everything `kit bench` shows; `as_dict` is the `--json` document."""

    board: str
    reference_board: str | None  # None: a device kit does not know (`kit bench --port PORT`)
    protocol: str
    model: str
    sha256: str
    runs: int
    warmup: int
    latency_us: LatencyStats
    time_label: str
    counts: LatencyStats | None = None
    count_unit: str = ""
    counted: str = ""  # what the device counted (e.g. instructions under QEMU -icount)
    energy: Energy | None = None
    layers: list[LayerTiming] = field(default_factory=list)
    memory: dict[str, int] = field(default_factory=dict)
    results_file: Path | None = None
    plot: Path | None = None
    power_plot: Path | None = None
    stages: dict[str, LatencyStats] = field(default_factory=dict)  # a board's own stage times (SSCMA)

    @property
    def per_second(self) -> float:
        return self.latency_us.per_second

    def as_dict(self) -> dict[str, Any]:
        return {
            "board": self.board,
            "reference_board": self.reference_board,
            "protocol": self.protocol,
            "model": self.model,
            "sha256": self.sha256,
            "runs": self.runs,
            "warmup": self.warmup,
            "latency_us": {**self.latency_us.as_dict(), "label": self.time_label},
            "inferences_per_second": self.per_second,
            self.count_unit or "counts": self.counts.as_dict() if self.counts else None,
            "counted": self.counted or None,
            "energy": self.energy.as_dict() if self.energy else None,
            "layers": [vars(layer) for layer in self.layers],
            "memory": self.memory,
            "results_file": str(self.results_file) if self.results_file else None,
            "plot": str(self.plot) if self.plot else None,
            "power_plot": str(self.power_plot) if self.power_plot else None,
            "stages_us": {stage: stats.as_dict() for stage, stats in self.stages.items()} or None,
        }


def bench_input(size: int, seed: int = 0) -> bytes:
    """A fixed pseudo-random input: latency of these models does not depend on the values."""
    if not 1 <= size <= MAX_INPUT_BYTES:
        raise KitError(f"an input of {size:,} bytes is not a microcontroller model's input",
                       hint=f"pass --input-bytes between 1 and {MAX_INPUT_BYTES:,}")
    return random.Random(seed).randbytes(size)


def run_bench(
    client: DeviceClient,
    board: Board | None,
    reference: Board | None,
    runs: int,
    warmup: int,
    results: ResultsFile,
    progress: Progress | None = None,
    input_bytes: int | None = None,
    meter: Meter | None = None,
    sync: Sync = "trigger",
    power_sink: Callable[[list], None] | None = None,
) -> BenchReport:
    """Measure `runs` inferences after `warmup` untimed ones; records go to `results`.
    `board`/`reference` None: a device kit does not know, measured by its own timer, no energy.
    `meter` (already open): one command per run while it records, every sample to `power_sink`
    as it arrives (kit.bench.samples.SampleFile.append); energy from its trace."""
    sink = power_sink or (lambda _samples: None)
    if runs < 1:
        raise KitError("--runs must be at least 1", hint="e.g. `kit bench BOARD --runs 100`")
    done = [0]
    kept = lambda: (f"the bench stopped after {done[0]} of {runs} runs; "  # noqa: E731
                    f"the {done[0]} measurements are saved in {results.path}")
    try:
        if client.info is not None:
            report = _bench_kit(client, board, reference, runs, warmup, results, progress, done, meter, sync,
                                sink)
        else:
            report = _bench_mlperf(client, board, reference, runs, warmup, results, progress, done, input_bytes,
                                   meter, sync, sink)
        return report
    except DeviceError as error:
        raise DeviceError(f"{error.message}\n  {kept()}", hint=error.hint) from None
    except KeyboardInterrupt:
        raise BenchInterrupted(f"interrupted (Ctrl-C): {kept()}",
                               hint=f"read them with `kit.bench.results.read_records`, or run `kit bench` again") from None


def _device_name(client: DeviceClient) -> str:
    if client.info is not None and client.info.board:
        return client.info.board
    return client.dut_name or "unknown device"


def _bench_kit(client, board, reference, runs, warmup, results, progress, done, meter=None, sync="trigger",
               sink=None) -> BenchReport:
    info = client.info
    timebase = Timebase(board=board, reference=reference, clock_hz=info.clock_hz, timer_hz=info.timer_hz,
                        qemu=board is None and info.build.startswith("qemu-"))
    client.load(bench_input(info.input_bytes))
    if warmup:
        client.kit_infer(warmup)
    ticks: list[int] = []

    def record(_index: int, run_ticks: int) -> None:
        results.append({
            "type": "run", "index": len(ticks), "ticks": run_ticks,
            timebase.count_unit: timebase.cycles(run_ticks), "latency_us": timebase.microseconds(run_ticks),
        })
        ticks.append(run_ticks)
        done[0] = len(ticks)
        if progress:
            progress(len(ticks))

    summary = None
    if meter is not None and getattr(meter, "on_board", False):
        while len(ticks) < runs:  # latency without the sensor reads, then the sampled runs
            client.kit_infer(min(RUNS_PER_COMMAND, runs - len(ticks)), on_run=record)
        summary = metered_runs(lambda index: meter.measure_run(client, index), meter, runs, "board", results, sink)
    elif meter is not None:
        def run_one(_index: int) -> float:
            client.kit_infer(1, on_run=record)
            return timebase.microseconds(ticks[-1]) / 1e6

        summary = metered_runs(run_one, meter, runs, sync, results, sink)
    while len(ticks) < runs:
        client.kit_infer(min(RUNS_PER_COMMAND, runs - len(ticks)), on_run=record)
    layers = _layer_timings(client, timebase)
    for layer in layers:
        results.append({"type": "layer", **vars(layer)})
    memory = vars(client.memory())
    results.append({"type": "memory", **memory})
    latency = summarize([timebase.microseconds(t) for t in ticks])
    return BenchReport(
        board=board.name if board else _device_name(client), reference_board=reference.name if reference else None,
        protocol="kit", model=info.model,
        sha256=info.sha256, runs=runs, warmup=warmup, latency_us=latency, time_label=timebase.time_label,
        counts=summarize([timebase.cycles(t) for t in ticks]), count_unit=timebase.count_unit,
        counted=timebase.counted if timebase.emulated else "",
        energy=_energy(summary, reference, latency.mean, results), layers=layers, memory=memory,
        results_file=results.path,
    )


def _layer_timings(client: DeviceClient, timebase: Timebase) -> list[LayerTiming]:
    layers = client.layers()
    total = sum(layer.ticks for layer in layers) or 1
    return [
        LayerTiming(layer.index, layer.op, layer.ticks, timebase.cycles(layer.ticks), 100.0 * layer.ticks / total)
        for layer in layers
    ]


def _bench_mlperf(client, board, reference, runs, warmup, results, progress, done, input_bytes, meter=None,
                  sync="trigger", sink=None) -> BenchReport:
    model = client.profile().model
    size = input_bytes or MLPERF_INPUT_BYTES.get(model)
    if not size:
        raise KitError(
            f"the board runs MLPerf Tiny model {model!r}, whose input size kit does not know",
            hint="pass the model's input size in bytes with --input-bytes N",
        )
    client.load(bench_input(size))
    if warmup:
        client.infer(warmup, 0)
    latencies: list[float] = []

    def run_one(index: int) -> float:
        reply = client.infer(1, 0)
        latencies.append(reply.per_inference_us)
        results.append({"type": "run", "index": index, "latency_us": reply.per_inference_us})
        done[0] = index + 1
        if progress:
            progress(index + 1)
        return reply.per_inference_us / 1e6

    summary = None
    if meter is not None and getattr(meter, "on_board", False):
        raise KitError(f"the {meter.name.upper()} is read by kit firmware (kit-power); this board speaks only MLPerf Tiny",
                       hint="flash it with `kit flash BOARD LAB`, or use an external meter (--meter lpm01a)")
    if meter is not None:
        summary = metered_runs(run_one, meter, runs, sync, results, sink)
    for index in range(len(latencies), runs):
        run_one(index)
    latency = summarize(latencies)
    emulated = board is not None and runs_emulated(board)
    label = "measured by the device (MLPerf m-lap-us)" + (
        "; on QEMU this is virtual time, not a real chip's" if emulated else "")
    return BenchReport(
        board=board.name if board else _device_name(client), reference_board=reference.name if reference else None,
        protocol="mlperf", model=model, sha256="",
        runs=runs, warmup=warmup, latency_us=latency, time_label=label,
        energy=_energy(summary, reference, latency.mean, results), results_file=results.path,
    )


def _power_basis(summary: PowerSummary, reference: Board | None) -> str:
    if summary.label == "measured":
        return f"measured by the {summary.meter} meter"
    if summary.sync == "board":
        return (f"the emulator's virtual {summary.meter.upper()} (a known current profile, not any board's "
                "power): the firmware's on-board sensor path, exercised")
    return (f"modelled meter: {reference.name if reference else '?'} catalog power "
            f"({reference.power_basis if reference else '?'}) over the device's timings")


def _energy(summary: PowerSummary | None, reference: Board | None, mean_us: float, results: ResultsFile) -> Energy | None:
    """The meter's figures when there was one (recorded in the results file), else the model."""
    if summary is None:
        return modelled_energy(reference, mean_us)
    samples = results.path.with_suffix(".power.csv")
    energy = Energy(
        microjoules=summary.mean_energy_uj, power_mw=summary.average_power_mw,
        power_board=reference.name if reference else "", label=summary.label, meter=summary.meter,
        power_basis=_power_basis(summary, reference),
        idle_power_mw=summary.idle_power_mw, peak_power_mw=summary.peak_power_mw, sync=summary.sync,
        sync_error_us=summary.sync_error_us, per_inference_uj=summary.energy_uj, samples_file=str(samples),
        samples=summary.samples, sample_hz=summary.sample_hz, supply_v=summary.supply_v,
    )
    results.append({"type": "power", **energy.as_dict(), "uj_stats": summarize(summary.energy_uj).as_dict()})
    return energy


def write_csv(path: Path, results_path: Path) -> Path:
    """Per-run rows of a session file as CSV (index, ticks, count, latency_us[, energy_uj])."""
    from kit.bench.results import read_records

    records = list(read_records(results_path))
    rows = [r for r in records if r.get("type") == "run"]
    energy = {r["index"]: r["uj"] for r in records if r.get("type") == "energy"}  # a bench with --meter
    for row in rows:
        if row["index"] in energy:
            row["energy_uj"] = energy[row["index"]]
    columns = ["index"] + [c for c in ("ticks", "instructions", "cycles", "latency_us", "energy_uj")
                           if rows and c in rows[0]]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(column, "") for column in columns])
    return path
