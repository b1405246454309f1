"""Pictures of a bench session: latency distribution and where the time goes per layer.

Rendered with matplotlib's Agg backend so it works on headless CI and over SSH.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence


@dataclass(frozen=True)
class LayerShare:
    """One layer's share of an inference."""

    index: int
    op: str
    ticks: float
    percent: float


def plot_bench(
    latencies: Sequence[float],
    unit: str,
    layers: Sequence[LayerShare],
    title: str,
    path: Path,
    note: str = "",
) -> Path:
    """Histogram of per-inference latency beside per-layer bars; written as PNG to `path`.
    `note` says what the numbers are (counted instructions, an estimate, measured time)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    columns = 2 if layers else 1
    figure, axes = plt.subplots(1, columns, figsize=(6 * columns, 4), squeeze=False)
    _latency_histogram(axes[0][0], latencies, unit)
    if layers:
        _layer_bars(axes[0][1], layers)
    figure.suptitle(title)
    if note:
        import textwrap

        figure.text(0.5, 0.01, "\n".join(textwrap.wrap(note, 70 * columns)), ha="center", va="bottom", fontsize=7)
    figure.tight_layout(rect=(0, 0.08 if note else 0, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _latency_histogram(axis, latencies: Sequence[float], unit: str) -> None:
    values = sorted(set(latencies))
    axis.set_xlabel(f"latency per inference ({unit})")
    axis.set_ylabel("runs")
    axis.set_title(f"{len(latencies)} runs")
    if len(values) <= 5:
        # Emulated boards repeat exactly: one bar per distinct count, labelled with its value.
        labels = [f"{value:,.0f}" for value in values]
        axis.bar(labels, [list(latencies).count(value) for value in values], color="#3b7dd8")
        return
    axis.hist(list(latencies), bins=min(30, len(values)), color="#3b7dd8")
    axis.ticklabel_format(axis="x", style="plain", useOffset=False)


def _layer_bars(axis, layers: Sequence[LayerShare]) -> None:
    labels = [f"{layer.index} {layer.op}" for layer in layers]
    positions = list(range(len(layers)))
    axis.barh(positions, [layer.percent for layer in layers], color="#e07b39")
    axis.set_yticks(positions, labels, fontsize=7)
    axis.invert_yaxis()
    axis.set_xlabel("% of inference")
    axis.set_title("per layer")


def plot_bench_report(report: Any) -> Path:
    """The latency distribution and per-layer shares of an MCU or emulated bench
    (kit.device.bench.BenchReport), beside its results file."""
    from kit.bench.results import read_records

    records = [r for r in read_records(report.results_file) if r.get("type") == "run"]
    unit_key = report.count_unit if report.counts is not None else "latency_us"
    values = [float(r[unit_key]) for r in records]
    layers = [LayerShare(layer.index, layer.op, layer.ticks, layer.percent) for layer in report.layers]
    shown = report.board if report.reference_board in (None, report.board) else f"{report.board} ({report.reference_board})"
    return plot_bench(values, unit_key.replace("_us", " µs"), layers, f"{shown} {report.model}",
                      Path(report.results_file).with_suffix(".png"), note=report.time_label)


def plot_pi_bench(result: Any) -> Path:
    """The latency histogram of a Linux-board bench (kit.deploy.bench.PiBenchResult), beside
    its results file (like `kit bench` on an MCU)."""
    title = f"{result.board} ({result.host}) {result.lab}, {result.runtime} {result.threads} thread(s)"
    return plot_bench(result.latencies_us, "latency µs", [], title, Path(result.results_path).with_suffix(".png"))
