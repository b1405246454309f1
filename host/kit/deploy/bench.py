"""Latency bench of a deployed lab on a Linux board, streamed live over SSH.

The runner on the board prints one JSON line per measurement; each is appended to a
`kit.bench.results.ResultsFile` the moment it arrives (an interrupted run keeps what it
measured) and summarised with `kit.bench.stats.summarize`, like an MCU bench.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from kit.bench.results import ResultsFile
from kit.bench.stats import LatencyStats, summarize
from kit.deploy import remote
from kit.deploy.deploy import (
    MODEL_NAME, NOT_DEPLOYED_EXIT, RUNNER_NAME, RemotePython, lab_entry, linux_board, parse_record, remote_runner_command, runner_error,
)
from kit.deploy.ssh import SshTarget, stream_lines
from kit.deploy.state import recall
from kit.errors import DeviceError, KitError

# Bits of `vcgencmd get_throttled` (Raspberry Pi firmware documentation).
THROTTLE_FLAGS = {
    0x1: "under-voltage now", 0x2: "ARM frequency capped now", 0x4: "throttled now", 0x8: "soft temperature limit now",
    0x10000: "under-voltage occurred", 0x20000: "frequency capping occurred", 0x40000: "throttling occurred",
    0x80000: "soft temperature limit occurred",
}
UNAVAILABLE = "unavailable"
# What a board can report and still be believed: anything else is a broken runner or sensor.
TEMP_RANGE_C = (-40.0, 150.0)
FREQ_RANGE_MHZ = (1.0, 10_000.0)
LATENCY_RANGE_US = (0.0, 3.6e9)       # above 0, below an hour per inference
LINE_SILENCE_S = 120.0                # no line for this long: the runner hangs
DEADLINE_BASE_S, DEADLINE_PER_RUN_S = 600.0, 60.0


def number_in(value: Any, bounds: tuple[float, float]) -> bool:
    """A real number (not a bool, not NaN/inf) within `bounds`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return bounds[0] <= float(value) <= bounds[1]


@dataclass
class SystemSummary:
    """CPU temperature, clock and throttling seen during the run ("unavailable" where missing)."""

    temps_c: list[float] = field(default_factory=list)
    freqs_mhz: list[float] = field(default_factory=list)
    throttled: list[int] = field(default_factory=list)
    samples: int = 0

    rejected: int = 0  # readings outside any physical range (left out of the figures)

    def add(self, record: dict[str, Any]) -> None:
        self.samples += 1
        temp, freq, throttled = record.get("temp_c"), record.get("freq_mhz"), record.get("throttled")
        if number_in(temp, TEMP_RANGE_C):
            self.temps_c.append(float(temp))  # type: ignore[arg-type]
        elif temp is not None:
            self.rejected += 1
        if number_in(freq, FREQ_RANGE_MHZ):
            self.freqs_mhz.append(float(freq))  # type: ignore[arg-type]
        elif freq is not None:
            self.rejected += 1
        if isinstance(throttled, int) and not isinstance(throttled, bool) and 0 <= throttled < 1 << 32:
            self.throttled.append(throttled)
        elif throttled is not None:
            self.rejected += 1

    @staticmethod
    def _span(values: list[float], unit: str) -> str:
        if not values:
            return UNAVAILABLE
        low, high = min(values), max(values)
        return f"{low:.1f} {unit}" if low == high else f"{low:.1f}-{high:.1f} {unit}"

    def temperature(self) -> str:
        return self._span(self.temps_c, "C")

    def frequency(self) -> str:
        return self._span(self.freqs_mhz, "MHz")

    def throttling(self) -> str:
        if not self.throttled:
            return UNAVAILABLE
        combined = 0
        for value in self.throttled:
            combined |= value
        if combined == 0:
            return "none (0x0)"
        flags = [name for bit, name in THROTTLE_FLAGS.items() if combined & bit]
        return f"{', '.join(flags)} (0x{combined:x})"

    def as_dict(self) -> dict[str, Any]:
        return {"temperature": self.temperature(), "frequency": self.frequency(), "throttling": self.throttling(),
                "samples": self.samples, "rejected_readings": self.rejected}


@dataclass
class PiBenchResult:
    board: str
    lab: str
    host: str
    runtime: str
    runtime_version: str
    threads: int
    latencies_us: list[float]
    stats: LatencyStats
    system: SystemSummary
    results_path: Path
    plot: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "board": self.board, "lab": self.lab, "host": self.host, "runtime": self.runtime,
            "runtime_version": self.runtime_version, "threads": self.threads, "unit": "us",
            "latency_us": self.stats.as_dict(), "inferences_per_second": self.stats.per_second,
            "system": self.system.as_dict(), "results_file": str(self.results_path),
            "plot": str(self.plot) if self.plot else None,
        }


def bench_pi(
    board_name: str,
    target: SshTarget,
    *,
    lab_name: str | None = None,
    runs: int = 100,
    warmup: int = 10,
    threads: int = 1,
    layout: remote.RemoteLayout | None = None,
    python: RemotePython | None = None,
    results_directory: Path | None = None,
    on_record: Callable[[dict[str, Any]], None] = lambda record: None,
) -> PiBenchResult:
    """Run `runs` timed inferences (after `warmup`) of the deployed lab and store every one.

    Lab, remote folder and interpreter default to what `kit deploy` last put on this board."""
    if runs < 1 or warmup < 0 or threads < 1:
        raise KitError("--runs and --threads must be at least 1 and --warmup at least 0", hint="e.g. --runs 100 --warmup 10 --threads 4")
    board = linux_board(board_name)
    deployed = recall(board.name, target.host, target.port)
    if lab_name is None and deployed is None:
        raise KitError(
            f"nothing deployed to {target.host} by this laptop yet, so kit does not know which lab to bench",
            hint=f"run `kit deploy {board.name} LAB --host {target.host}` first, or pass --lab LAB",
        )
    lab = lab_entry(lab_name or deployed.lab)
    if layout is None:
        layout = remote.RemoteLayout(deployed.remote_root) if deployed else remote.RemoteLayout()
    if python is None:
        python = RemotePython(deployed.interpreter, deployed.use_venv) if deployed else RemotePython()
    arguments = ["bench", "--model", MODEL_NAME, "--runs", str(runs), "--warmup", str(warmup), "--threads", str(threads)]
    command = remote_runner_command(layout, lab.name, python.runner_python(layout), arguments)
    not_deployed = KitError(
        f"lab {lab.name} is not deployed on {target.host} (no {RUNNER_NAME} / {MODEL_NAME} in {layout.lab_dir(lab.name)})",
        hint=f"run `kit deploy {board.name} {lab.name} --host {target.host}` first",
    )
    header = {"board": board.name, "lab": lab.name, "host": target.host, "runs": runs, "warmup": warmup, "threads": threads,
              "unit": "us", "model_sha256": deployed.model_sha256 if deployed and deployed.lab == lab.name else None}
    lines = stream_lines(target, command, {NOT_DEPLOYED_EXIT: not_deployed}, silence_s=LINE_SILENCE_S,
                         deadline_s=DEADLINE_BASE_S + DEADLINE_PER_RUN_S * (runs + warmup))
    return _collect(board.name, lab.name, target, lines, header, results_directory, on_record)


def run_record(inference: dict[str, Any], runs: int) -> dict[str, Any]:
    """The runner's `inference` line as stored: a `run` record exactly like an MCU bench's
    (kit.device.bench), so CSV export, plots and readers treat both alike. Numbers outside
    what a real run can give are a DeviceError naming the line."""
    index, latency = inference.get("index"), inference.get("latency_us")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < runs:
        raise DeviceError(f"the board sent a measurement with index {index!r} (expected 0..{runs - 1}): {inference}",
                          hint="the runner on the board is not kit's: run `kit deploy` again")
    if not number_in(latency, LATENCY_RANGE_US) or float(latency) <= 0:
        raise DeviceError(f"the board sent an impossible latency {latency!r} µs (run {index})",
                          hint="the runner on the board is not kit's or its clock is broken: run `kit deploy` again")
    return {"type": "run", "index": index, "latency_us": float(latency)}


def _collect(board: str, lab: str, target: SshTarget, lines, header: dict[str, Any], results_directory: Path | None,
             on_record: Callable[[dict[str, Any]], None]) -> PiBenchResult:
    """Read the runner's stream: store each measurement as it arrives, then summarise."""
    results: ResultsFile | None = None
    start: dict[str, Any] = {}
    latencies: list[float] = []
    system = SystemSummary()
    finished = False
    try:
        for line in lines:
            record = parse_record(line)
            if record is None:
                continue
            kind = record.get("type")
            if kind == "error":
                raise runner_error(target, line, "", "the bench")
            if kind == "start":
                start = record
                results = ResultsFile.create("bench", {**header, **{k: record.get(k) for k in ("runtime", "runtime_version", "python", "machine")}}, results_directory)
            elif kind == "inference" and results is not None:
                run = run_record(record, int(header["runs"]))
                results.append(run)
                latencies.append(run["latency_us"])
            elif kind == "system" and results is not None:
                results.append(record)
                system.add(record)
            elif kind == "done":
                finished = True
            on_record(record)
        if not finished:
            raise DeviceError(
                f"the bench on {target.host} stopped after {len(latencies)} of {header['runs']} measurements"
                + (f"; those are kept in {results.path}" if results else ""),
                hint="check the board's power and network (and `dmesg` on the board), then run the bench again",
            )
    except BaseException as error:
        if results is not None:
            results.close_interrupted(error, len(latencies), "measurement(s)")
        raise
    assert results is not None
    stats = summarize(latencies)
    results.close("complete", summary=stats.as_dict(), system=system.as_dict())
    return PiBenchResult(board=board, lab=lab, host=target.host, runtime=str(start.get("runtime")),
                         runtime_version=str(start.get("runtime_version")), threads=int(header["threads"]),
                         latencies_us=latencies, stats=stats, system=system, results_path=results.path)
