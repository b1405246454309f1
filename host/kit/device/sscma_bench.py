"""`kit bench` on a board running Seeed's SSCMA firmware (the Grove Vision AI V2): inference
over the AT protocol, the board's own pre-process / inference / post-process times.

The times are what the firmware measured and reported in each INVOKE event's `perf` (whole
milliseconds), labelled as measured by the board; the latency statistics are over the
inference stage (the model on the NPU + CPU), with each stage's statistics beside them.
Every run is appended to the results file as it arrives, so a board that stops answering
half way leaves the runs it did measure on disk, and the error says how many.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from kit.bench.results import ResultsFile
from kit.bench.stats import LatencyStats, summarize
from kit.catalog import Board
from kit.device.bench import BenchReport
from kit.device.measure import modelled_energy
from kit.errors import DeviceError, KitError
from kit.protocol.sscma import Perf, SscmaClient

STAGES = ("preprocess", "inference", "postprocess")
TIME_LABEL = "measured by the board's SSCMA firmware (perf, whole ms)"
RUNS_PER_COMMAND = 50


@dataclass(frozen=True)
class SscmaBench:
    """A bench report plus each stage's statistics (µs)."""

    report: BenchReport
    stages: dict[str, LatencyStats]


def run_sscma_bench(client: SscmaClient, board: Board, runs: int, warmup: int, results: ResultsFile,
                    progress: Callable[[int], None] | None = None) -> SscmaBench:
    """Measure `runs` inferences after `warmup` untimed ones on the model the board has loaded."""
    if runs < 1:
        raise KitError("--runs must be at least 1", hint="e.g. `kit bench BOARD --runs 100`")
    perfs: list[Perf] = []

    def record(_index: int, perf: Perf) -> None:
        results.append({"type": "run", "index": len(perfs), "latency_us": perf.inference_ms * 1000,
                        "preprocess_us": perf.preprocess_ms * 1000, "inference_us": perf.inference_ms * 1000,
                        "postprocess_us": perf.postprocess_ms * 1000})
        perfs.append(perf)
        if progress:
            progress(len(perfs))

    try:
        if warmup:
            client.invoke(warmup, lambda _i, _p: None)
        while len(perfs) < runs:
            client.invoke(min(RUNS_PER_COMMAND, runs - len(perfs)), record)
    except DeviceError as error:
        raise DeviceError(f"{error.message}\n  the bench stopped after {len(perfs)} of {runs} runs; "
                          f"the {len(perfs)} measurements are saved in {results.path}", hint=error.hint) from None
    stages = {stage: summarize([getattr(p, f"{stage}_ms") * 1000.0 for p in perfs]) for stage in STAGES}
    model = client.identity.model if client.identity else {}
    report = BenchReport(
        board=board.name, reference_board=board.name, protocol="sscma",
        model=f"sscma model id {model.get('id', '?')}", sha256="", runs=runs, warmup=warmup,
        latency_us=stages["inference"],
        time_label=f"{TIME_LABEL}: latency is the inference stage; pre-process mean {stages['preprocess'].mean / 1000:.1f} ms, "
                   f"post-process mean {stages['postprocess'].mean / 1000:.1f} ms",
        energy=modelled_energy(board, stages["inference"].mean), results_file=results.path, stages=stages,
    )
    return SscmaBench(report=report, stages=stages)


def sscma_header(client: SscmaClient, board: Board, port: str, extra: dict) -> dict:
    """The results-file header of an SSCMA session (the board's identity as it reported it)."""
    identity = client.identity
    return {
        "board": board.name, "reference_board": board.name, "port": port, "protocol": "sscma",
        "dut_name": client.dut_name,
        "info": {"device_id": identity.device_id, "version": identity.version, "model": identity.model}
        if identity else {},
        **extra,
    }


__all__ = ["STAGES", "SscmaBench", "TIME_LABEL", "run_sscma_bench", "sscma_header"]
