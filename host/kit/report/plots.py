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


def plot_slm_bench(result: Any) -> Path:
    """Tokens/s per generation of a small-language-model bench (kit.deploy.slm.SlmBenchResult),
    prompt evaluation and generation side by side, with the book's Pi 5 figures as lines."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from kit.deploy.slm import BOOK_FIGURES

    figure, axes = plt.subplots(1, 2, figsize=(11, 4), squeeze=False)
    runs = [int(record["index"]) for record in result.generations]
    for axis, key, name, colour in ((axes[0][0], "generation_tokens_per_s", "generation", "#3b7dd8"),
                                    (axes[0][1], "prompt_tokens_per_s", "prompt evaluation", "#e07b39")):
        axis.bar([str(run) for run in runs], [float(record[key]) for record in result.generations], color=colour)
        axis.axhline(BOOK_FIGURES[key], color="#555555", linestyle="--", linewidth=1,
                     label=f"book: {BOOK_FIGURES['model']} on a {BOOK_FIGURES['board']}")
        axis.set_xlabel("run")
        axis.set_ylabel("tokens / s")
        axis.set_title(name)
        axis.legend(fontsize=7)
    figure.suptitle(f"{result.board} ({result.host}) slm {result.model}, {result.runtime}")
    figure.tight_layout()
    path = Path(result.results_path).with_suffix(".png")
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_power_trace(report: Any) -> Path:
    """The meter's current trace of a bench with the inference windows shaded, beside its
    results file (`<results>.power.png`). Reads the samples and windows back from disk."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from kit.bench.results import read_records
    from kit.bench.samples import read_samples

    energy = report.energy
    samples = list(read_samples(Path(energy.samples_file)))
    windows = [(r["start_s"], r["end_s"]) for r in read_records(report.results_file) if r.get("type") == "energy"]
    step = max(1, len(samples) // 200_000)  # a drawable number of points; the file keeps all
    shown = samples[::step]
    figure, axis = plt.subplots(figsize=(10, 4))
    # Samples are held until the next one (what the energy integral assumes): draw steps.
    axis.step([s.t_s * 1e3 for s in shown], [s.current_a * 1e3 for s in shown], where="post", color="#3b7dd8",
              linewidth=0.8, label="current")
    for index, (start, end) in enumerate(windows):
        axis.axvspan(start * 1e3, end * 1e3, color="#e07b39", alpha=0.25, label="inference" if index == 0 else None)
    axis.set_xlabel("time on the meter's clock (ms)")
    axis.set_ylabel("current (mA)")
    axis.legend(loc="upper right", fontsize=8)
    axis.set_title(f"{report.board} {report.model}: {energy.label} by {energy.meter}, "
                   f"{energy.microjoules:,.2f} µJ/inference, sync {energy.sync}")
    note = (f"{len(samples):,} samples at {energy.supply_v:g} V; windows from "
            + {"trigger": "trigger edges", "board": "the board's timer (on-board sensor)"}.get(
                energy.sync, f"serial timestamps (± {energy.sync_error_us:,.0f} µs)"))
    figure.text(0.5, 0.01, note, ha="center", va="bottom", fontsize=7)
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    path = Path(report.results_file).with_suffix(".power.png")
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
