"""Rich tables for bench and validate results: every number with its unit and its basis."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


STAGE_NAMES = {"preprocess": "pre-process", "inference": "inference", "postprocess": "post-process"}


def render_bench(report, console: Console) -> None:
    """Latency statistics, throughput, energy and per-layer breakdown of a BenchReport."""
    title = f"{report.board}" + (f" as {report.reference_board}"
                                 if report.reference_board not in (None, report.board) else "")
    caption = f"µs: {report.time_label}"
    if report.counted:
        caption += f"\n{report.count_unit}: {report.counted}"
    table = Table(title=f"kit bench {title}: {report.model} ({report.runs} runs, {report.warmup} warm-up)",
                  caption=caption)
    columns = []
    if report.counts is not None:
        columns.append((report.count_unit, report.counts))
    stages = getattr(report, "stages", None) or {}
    if stages:  # the board timed each stage itself (SSCMA): one column each, as measured
        columns += [(f"{STAGE_NAMES.get(name, name)} µs", stats) for name, stats in stages.items()]
    else:
        columns.append(("µs (estimate)" if "estimate" in report.time_label else "µs", report.latency_us))
    table.add_column("latency")
    for label, _ in columns:
        table.add_column(label, justify="right")
    for key in ("min", "p50", "p90", "p99", "max", "mean", "std"):
        table.add_row(key, *(_fmt(getattr(stats, key)) for _, stats in columns))
    console.print(table)
    estimate = " (estimate)" if "estimate" in report.time_label else ""
    console.print(f"inferences/s: [bold]{report.per_second:,.1f}[/]{estimate}")
    if report.energy is not None and report.energy.meter:
        _render_metered(report.energy, console)
    elif report.energy is not None:
        energy = report.energy
        console.print(
            f"energy/inference: [bold]{energy.microjoules:,.2f} µJ[/] {energy.label} "
            f"({energy.power_board} active power {energy.power_mw:g} mW, {energy.power_basis}, x mean time)"
        )
    elif report.reference_board is None:
        console.print("energy/inference: not measured (no power meter; name the board, `kit bench BOARD --port ...`, "
                      "for an estimate from its catalog power)")
    if report.memory:
        memory = report.memory
        console.print(
            f"memory: arena {memory.get('arena', 0):,} B of {memory.get('arena_capacity', 0):,} B, "
            f"stack high-water {memory.get('stack_used', 0):,} B of {memory.get('stack_size', 0):,} B"
        )
    if report.layers:
        layers = Table(title="per layer (last run)")
        for column in ("#", "op", "ticks", report.count_unit, "%"):
            layers.add_column(column, justify="right" if column not in ("op",) else "left")
        for layer in report.layers:
            layers.add_row(str(layer.index), layer.op, f"{layer.ticks:,}", f"{layer.cycles:,.0f}", f"{layer.percent:.1f}")
        console.print(layers)
    if report.results_file:
        console.print(f"results: {report.results_file}")
    if report.plot:
        console.print(f"plot: {report.plot}")
    if getattr(report, "power_plot", None):
        console.print(f"power plot: {report.power_plot}")


def _render_metered(energy, console: Console) -> None:
    """Energy from a meter's trace: per inference, average/peak/idle power, how it was synchronised."""
    sync = {"trigger": "trigger edges (timestamp pin)", "board": "the board's own timer (it samples its sensor)"}.get(
        energy.sync, f"serial timestamps, window start within ± {energy.sync_error_us:,.0f} µs")
    basis = "" if energy.label == "measured" else f" ({energy.power_basis})"
    console.print(f"energy/inference: [bold]{energy.microjoules:,.3f} µJ[/] {energy.label} by the {energy.meter} "
                  f"meter{basis}")
    console.print(f"power: average {energy.power_mw:,.3f} mW during inference, peak {energy.peak_power_mw:,.3f} mW, "
                  f"idle {energy.idle_power_mw:,.3f} mW at {energy.supply_v:g} V; windows from {sync}")
    console.print(f"samples: {energy.samples:,} at {energy.sample_hz:,.0f} Hz in {energy.samples_file}")


def render_validate(report, console: Console) -> None:
    """Accuracy on the board and the bit-exactness verdict (with the first difference)."""
    accuracy = "n/a (no labels to score against)" if report.accuracy is None else f"{100 * report.accuracy:.1f}%"
    console.print(f"[bold]{report.board}[/] {report.lab}: {report.samples} test samples, "
                  f"on-device {report.accuracy_kind} {accuracy}")
    if getattr(report, "test_set_text", ""):
        console.print(f"test set: {report.test_set_text}")
        if report.card_accuracy is not None and report.test_set == "own-held-out":
            console.print(f"model card: int8 {100 * report.card_accuracy:.1f}% on the same held-out files (TFLM on this machine)")
    elif report.card_accuracy is not None and report.accuracy is not None:
        where = "the same full test split" if report.test_set == "full" else \
            f"the full test split; this run used the {report.test_set} generated set, other speakers or scenes, " \
            "so expect another figure (`--data-size full` for the card's set)"
        console.print(f"model card: {report.accuracy_kind} {100 * report.card_accuracy:.1f}% on {where}")
    if report.bit_exact:
        console.print(f"[green]bit-exact[/]: all {report.samples} outputs identical to the TFLM host interpreter")
    else:
        mismatch = report.first_mismatch
        console.print(
            f"[red]NOT bit-exact[/]: {report.samples - report.matches} of {report.samples} outputs differ from TFLM; "
            f"first at sample {mismatch.index}\n  board: {mismatch.device}\n  TFLM:  {mismatch.reference}"
        )
    anomaly = getattr(report, "anomaly", None)
    if anomaly:
        kinds = ", ".join(f"{kind} {100 * value:.0f}%" for kind, value in anomaly["per_kind_recall"].items())
        console.print(f"anomaly (K-means, host float32 twin of the board's C): balanced accuracy "
                      f"{100 * anomaly['balanced_accuracy']:.1f}% on {anomaly['known_windows']} known test windows vs "
                      f"{anomaly['windows_per_kind'] * len(anomaly['kinds'])} of motions never seen in training "
                      f"(known kept {100 * anomaly['known_recall']:.1f}%; flagged: {kinds})")
    if report.results_file:
        console.print(f"results: {report.results_file}")
