"""`kit report`'s page: one HTML file (plots inlined as PNG data URIs, no script, no CDN,
so it opens offline and can be mailed) and the same tables as Markdown with the plots as
PNG files beside it."""

from __future__ import annotations

import base64
import html
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kit.report.compare import LEADERBOARD_RULE, Entry, leaderboard

Cell = Callable[[Entry], str]


@dataclass
class Report:
    html_path: Path
    markdown_path: Path
    plots: list[Path]
    entries: list[Entry]


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _bytes(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


COLUMNS: list[tuple[str, Cell]] = [
    ("entry", lambda e: e.name),
    ("host", lambda e: e.host or "-"),
    ("model", lambda e: e.model),
    ("runs", lambda e: str(len(e.latencies_us))),
    ("p50 µs", lambda e: _number(e.percentile(50))),
    ("p90 µs", lambda e: _number(e.percentile(90))),
    ("latency is", lambda e: e.time_label or "-"),
    ("energy µJ", lambda e: _number(e.energy_uj, 2)),
    ("energy is", lambda e: e.energy_label or "-"),
    ("accuracy on device", lambda e: _percent(e.accuracy)),
    ("bit-exact vs TFLM", lambda e: _percent(e.bit_exact)),
    ("arena B", lambda e: _bytes(e.arena_bytes)),
    ("flash B (model)", lambda e: _bytes(e.flash_bytes)),
    ("status", lambda e: e.status),
]


# ----------------------------------------------------------------------------- plots

def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt, *plt.subplots(figsize=(width, height))


def _label(entry: Entry, width: int = 48) -> str:
    """A plot label (the tables carry the full name)."""
    return entry.name if len(entry.name) <= width else entry.name[: width - 1] + "…"


def _png(plt, figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def plot_latency(entries: list[Entry]) -> bytes:
    """p50 bars with the p90 as a whisker, one per entry."""
    shown = [e for e in entries if e.latencies_us]
    plt, figure, axis = _figure(8, 0.5 * len(shown) + 1.5)
    p50 = [e.percentile(50) or 0.0 for e in shown]
    p90 = [e.percentile(90) or 0.0 for e in shown]
    positions = list(range(len(shown)))
    axis.barh(positions, p50, xerr=[[0] * len(shown), [b - a for a, b in zip(p50, p90)]], color="#3b7dd8",
              capsize=3)
    axis.set_yticks(positions, [_label(e) for e in shown], fontsize=8)
    axis.invert_yaxis()
    axis.set_xlabel("latency per inference, µs (bar p50, whisker p90)")
    axis.set_title("latency per board")
    return _png(plt, figure)


def plot_layers(entries: list[Entry]) -> bytes:
    """Stacked per-layer time (µs at the entry's p50 share), one bar per entry, ops coloured."""
    shown = [e for e in entries if e.layers and e.latencies_us]
    plt, figure, axis = _figure(9.5, 0.5 * len(shown) + 2.0)
    ops = sorted({str(layer["op"]) for e in shown for layer in e.layers})
    colours = {op: plt.get_cmap("tab20")(i % 20) for i, op in enumerate(ops)}
    labelled: set[str] = set()
    for row, entry in enumerate(shown):
        left, total = 0.0, entry.percentile(50) or 0.0
        for layer in sorted(entry.layers, key=lambda layer: layer["index"]):
            width = total * float(layer.get("percent", 0.0)) / 100.0
            op = str(layer["op"])
            axis.barh(row, width, left=left, color=colours[op], edgecolor="white", linewidth=0.3,
                      label=op if op not in labelled else None)
            labelled.add(op)
            left += width
    axis.set_yticks(list(range(len(shown))), [_label(e) for e in shown], fontsize=8)
    axis.invert_yaxis()
    axis.set_xlabel("µs per inference, split by layer (colour: op)")
    axis.set_title("where the time goes")
    if ops:
        axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _png(plt, figure)


def plot_accuracy_latency(entries: list[Entry]) -> bytes:
    shown = [e for e in entries if e.accuracy is not None and e.latencies_us]
    plt, figure, axis = _figure(7, 4.5)
    for entry in shown:
        x, y = entry.percentile(50) or 0.0, 100 * (entry.accuracy or 0.0)
        axis.scatter([x], [y], s=40)
        axis.annotate(_label(entry, 32), (x, y), fontsize=7, xytext=(4, 4), textcoords="offset points")
    axis.set_xlabel("p50 latency, µs")
    axis.set_ylabel("accuracy on device, %")
    axis.set_title("accuracy vs latency" + ("" if shown else " (no validated entry)"))
    axis.grid(alpha=0.3)
    return _png(plt, figure)


PLOTS: list[tuple[str, str, Callable[[list[Entry]], bytes]]] = [
    ("latency", "Latency per board", plot_latency),
    ("layers", "Per-layer time", plot_layers),
    ("accuracy-latency", "Accuracy vs latency", plot_accuracy_latency),
]


# ----------------------------------------------------------------------------- page

STYLE = """body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px;text-align:left}th{background:#eee}
img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}.note{color:#555;font-size:13px}"""


def _html_table(entries: list[Entry], columns: list[tuple[str, Cell]], rank: bool = False) -> str:
    head = ("<th>#</th>" if rank else "") + "".join(f"<th>{html.escape(name)}</th>" for name, _ in columns)
    rows = []
    for position, entry in enumerate(entries, 1):
        cells = (f"<td>{position}</td>" if rank else "") + "".join(
            f"<td>{html.escape(cell(entry))}</td>" for _, cell in columns)
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(entries: list[Entry], columns: list[tuple[str, Cell]], rank: bool = False) -> str:
    names = (["#"] if rank else []) + [name for name, _ in columns]
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    for position, entry in enumerate(entries, 1):
        cells = ([str(position)] if rank else []) + [_md_cell(cell(entry)) for _, cell in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


LEADER_COLUMNS = [c for c in COLUMNS if c[0] in ("entry", "model", "p50 µs", "energy µJ", "accuracy on device")]


def write_report(entries: list[Entry], out_dir: Path, title: str = "kit report") -> Report:
    """index.html (self-contained) and report.md (+ plots/*.png) in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_dir = out_dir / "plots"
    plot_dir.mkdir(exist_ok=True)
    images: list[tuple[str, str, bytes]] = [(slug, caption, draw(entries)) for slug, caption, draw in PLOTS]
    plot_paths = []
    for slug, _, data in images:
        path = plot_dir / f"{slug}.png"
        path.write_bytes(data)
        plot_paths.append(path)
    ranked, unranked = leaderboard(entries)
    labels = sorted({e.time_label for e in entries if e.time_label})
    made = time.strftime("%Y-%m-%d %H:%M:%S")
    sessions = sorted({str(s.path) for e in entries for s in (e.bench, e.validate) if s is not None})

    figures = "".join(
        f"<h3>{html.escape(caption)}</h3><img alt=\"{html.escape(caption)}\" id=\"plot-{slug}\" "
        f"src=\"data:image/png;base64,{base64.b64encode(data).decode('ascii')}\">"
        for slug, caption, data in images)
    notes = "".join(f"<li>{html.escape(label)}</li>" for label in labels)
    page = (
        f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p class=\"note\">{len(entries)} entries from {len(sessions)} sessions, made {made}.</p>"
        f"<h2>Leaderboard</h2><p class=\"note\">Rule: {html.escape(LEADERBOARD_RULE)}</p>"
        f"{_html_table(ranked, LEADER_COLUMNS, rank=True)}"
        + (f"<p class=\"note\">Unranked: {html.escape(', '.join(e.name for e in unranked))}</p>" if unranked else "")
        + f"<h2>All entries</h2>{_html_table(entries, COLUMNS)}"
        f"<h2>Plots</h2>{figures}"
        f"<h2>What the times are</h2><ul>{notes or '<li>measured by the boards</li>'}</ul>"
        f"<h2>Sessions</h2><ul>{''.join(f'<li>{html.escape(s)}</li>' for s in sessions)}</ul></body></html>"
    )
    html_path = out_dir / "index.html"
    html_path.write_text(page, encoding="utf-8")

    markdown = "\n\n".join([
        f"# {title}", f"{len(entries)} entries from {len(sessions)} sessions, made {made}.",
        "## Leaderboard", f"Rule: {LEADERBOARD_RULE}", _md_table(ranked, LEADER_COLUMNS, rank=True),
        *([f"Unranked: {', '.join(e.name for e in unranked)}"] if unranked else []),
        "## All entries", _md_table(entries, COLUMNS),
        "## Plots", *[f"![{caption}](plots/{slug}.png)" for slug, caption, _ in images],
        "## What the times are", "\n".join(f"- {label}" for label in labels) or "- measured by the boards",
        "## Sessions", "\n".join(f"- {s}" for s in sessions),
    ]) + "\n"
    markdown_path = out_dir / "report.md"
    markdown_path.write_text(markdown, encoding="utf-8")
    return Report(html_path=html_path, markdown_path=markdown_path, plots=plot_paths, entries=entries)
