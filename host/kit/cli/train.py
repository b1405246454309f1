"""`kit train LAB` and `kit models`: thin wrappers over kit.train."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from kit.report.tables import Column, fitted_table

console = Console()
error_console = Console(stderr=True)


def warn_unmet_targets(card: dict) -> None:
    """A yellow warning on stderr when the model misses its lab's [targets]."""
    from kit.train.card import targets_text

    targets = card.get("targets")
    if targets and not targets.get("met", True):
        error_console.print(f"[yellow]warning: {card.get('lab')} model misses the lab's accuracy targets: "
                            f"{targets_text(targets)}; int8 accuracy {card.get('accuracy_int8')}, "
                            f"float {card.get('accuracy_float')}[/]")


@click.command("train")
@click.argument("lab")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for data, weights and shuffling.")
@click.option("--source", type=click.Path(path_type=Path), default=None,
              help="Your own data: a folder with one sub-folder per class.")
@click.option("--size", default=None, help="Shrink the generated dataset: tiny, small, medium, full or a fraction.")
@click.option("--force", is_flag=True, help="Retrain even if a cached model exists.")
@click.option("--json", "as_json", is_flag=True, help="Print only the model card as JSON on stdout.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Also copy model.tflite, model.keras (the float model), card.json and card.md to this folder (e.g. models/LAB).")
def train_command(lab: str, seed: int, source: Path | None, size: str | None, force: bool, as_json: bool,
                  out: Path | None) -> None:
    """Train LAB's model, quantize it to int8, evaluate it and print its model card."""
    from kit.train import export_result, train_lab
    from kit.train.card import card_tables

    result = train_lab(lab, seed=seed, source=source, force=force, progress=True, size=size)
    if out is not None:
        result = export_result(result, out)
    warn_unmet_targets(result.card)
    if as_json:
        click.echo(json.dumps({**result.card, "cached": result.cached}, indent=2))
        return
    for table in card_tables(result.card):
        console.print(table)
    state = "cached (no training needed)" if result.cached else "trained"
    console.print(f"{state}: {result.tflite_path}\ncard: {result.card_path}")


def _percent(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


@click.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def models_command(as_json: bool) -> None:
    """List the committed reference models in models/ (no training needed to flash them)."""
    from kit.train import list_reference_models

    rows = list_reference_models()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    columns = [Column("lab"), Column("size", 2, "right"), Column("params", 4, "right"), Column("MACs", 3, "right"),
               Column("int8 acc", 0, "right"), Column("float acc", 1, "right"), Column("TFLM arena", 5, "right"),
               Column("sha256", 6)]
    table_rows = [[row["lab"], f"{row['flash_bytes']:,} B", f"{row['params']:,}", f"{row['macs_total']:,}",
                   _percent(row["accuracy_int8"]), _percent(row["accuracy_float"]), f"{row['arena_bytes_tflm']:,} B",
                   row["sha256"][:12]] for row in rows]
    console.print(fitted_table("reference models (models/<lab>)", columns, table_rows, console.width))
    if not rows:
        console.print("no reference models yet: scripts/make_reference_models.sh creates them")


commands = [train_command, models_command]
