"""`kit train LAB` and `kit models`: thin wrappers over kit.train."""

from __future__ import annotations

import json
import shlex
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
    anomaly = card.get("anomaly") if isinstance(card.get("anomaly"), dict) else {}
    if anomaly.get("targets") and not anomaly["targets"].get("met", True):
        unseen = anomaly.get("unseen") or {}
        error_console.print(f"[yellow]warning: {card.get('lab')} K-means anomaly detector misses the lab's target: "
                            f"balanced accuracy {unseen.get('balanced_accuracy')} on unseen motions, "
                            f"[anomaly] min_balanced_accuracy {anomaly['targets'].get('min_balanced_accuracy')}[/]")


@click.command("train")
@click.argument("lab")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for data, weights and shuffling.")
@click.option("--source", type=click.Path(path_type=Path), default=None,
              help="Your own data: a folder with one sub-folder per class (the folder names are the classes).")
@click.option("--size", default=None, help="Shrink the generated dataset: tiny, small, medium, full or a fraction.")
@click.option("--force", is_flag=True, help="Retrain even if a cached model exists.")
@click.option("--json", "as_json", is_flag=True, help="Print only the model card as JSON on stdout.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Also copy model.tflite, model.keras (the float model), card.json and card.md to this folder (e.g. models/LAB).")
def train_command(lab: str, seed: int, source: Path | None, size: str | None, force: bool, as_json: bool,
                  out: Path | None) -> None:
    """Train LAB's model, quantize it to int8, evaluate it and print its model card.

    With --source DIR the classes are DIR's sub-folders (sorted; the lab gives the features and
    the architecture): kit checks the layout first, then trains a new head on the lab's trained
    layers with augmented copies of your clips. Exit code 3: trained, but the held-out accuracy
    stays near chance (the causes and fixes are printed); 2: an error (e.g. the folder layout)."""
    from kit.train import export_result, train_lab
    from kit.train.card import card_tables

    result = train_lab(lab, seed=seed, source=source, force=force, progress=True, size=size)
    if out is not None:
        result = export_result(result, out)
    warn_unmet_targets(result.card)
    if as_json:
        click.echo(json.dumps({**result.card, "cached": result.cached}, indent=2))
        if result.card.get("diagnosis"):
            exit_near_chance(result.card["diagnosis"])
        return
    for table in card_tables(result.card):
        console.print(table)
    state = "cached (no training needed)" if result.cached else "trained"
    console.print(f"{state}: {result.tflite_path}\ncard: {result.card_path}")
    if result.card.get("own_data"):
        own = result.card["own_data"]
        console.print(f"float {_percent(result.card.get('accuracy_float'))}, int8 {_percent(result.card.get('accuracy_int8'))} "
                      f"on {len(own.get('test_files', []))} held-out files of your folder; base: {own.get('base')}")
    console.print(next_commands(lab, result.tflite_path, source))
    found = result.card.get("diagnosis")
    if found:
        exit_near_chance(found)


def next_commands(lab: str, model: Path, source: Path | None) -> str:
    """The commands that put this model on a board and check it there, with the real paths."""
    source_part = f" --source {shlex.quote(str(Path(source).expanduser().resolve()))}" if source is not None else ""
    path = shlex.quote(str(model))
    return ("next (BOARD: one of `kit boards`, e.g. an emulated twin):\n"
            f"  kit flash BOARD {lab} --model {path}\n"
            f"  kit validate BOARD {lab} --model {path}{source_part}\n"
            "  kit bench BOARD")


NEAR_CHANCE_EXIT = 3


def exit_near_chance(found: dict) -> None:
    """Exit 3: the model and card are written, but the model is not worth flashing yet."""
    from kit.train.diagnose import diagnosis_text

    error_console.print(f"[bold red]error:[/] {diagnosis_text(found)}", highlight=False)
    error_console.print(f"[bold]fix:[/] address the causes above and run kit train again "
                        f"(exit code {NEAR_CHANCE_EXIT}: trained, but near chance)", highlight=False)
    raise SystemExit(NEAR_CHANCE_EXIT)


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
