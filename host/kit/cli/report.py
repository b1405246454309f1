"""`kit report`: one offline HTML page (and Markdown) comparing boards and models."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

console = Console()


@click.command("report")
@click.argument("sessions", nargs=-1, type=click.Path(path_type=Path))
@click.option("--last", type=click.IntRange(min=1), default=None,
              help="The newest N sessions in $KIT_HOME/results (default: all of them, when no SESSIONS are named).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder for index.html, report.md and plots/.")
@click.option("--title", default="kit report", show_default=True)
def report_command(sessions: tuple[Path, ...], last: int | None, out_dir: Path, title: str) -> None:
    """Compare bench and validate sessions (results files or folders of them): latency p50/p90 and per
    layer, energy (measured or modelled, labelled), accuracy on device, arena and flash, plots and a
    leaderboard. The HTML needs no network (plots are inlined)."""
    from kit.report.compare import build_entries, find_sessions
    from kit.report.page import write_report

    entries = build_entries(find_sessions(list(sessions), last))
    report = write_report(entries, out_dir, title=title)
    console.print(f"report of {len(entries)} entries: {report.html_path} (and {report.markdown_path.name})",
                  highlight=False)


commands = [report_command]
