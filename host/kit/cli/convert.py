"""`kit convert MODEL.tflite`: TFLM C arrays plus kit's ahead-of-time compiled model."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from kit.errors import KitError

console = Console()


def _read_labels(labels_file: Path | None, lab: str | None) -> list[str] | None:
    """Labels from a file (one per line) or a lab's catalog entry; None lets the card decide."""
    if labels_file is not None and lab is not None:
        raise KitError("--labels and --lab both given", "pass one of them")
    if labels_file is not None:
        try:
            lines = Path(labels_file).read_text().splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise KitError(f"cannot read labels file {labels_file}: {error}", "pass a text file with one label per line") from None
        return [line.strip() for line in lines if line.strip()]
    if lab is not None:
        from kit.catalog import get_lab

        return list(get_lab(lab).labels)
    return None


def _summary_table(result) -> Table:
    table = Table(title=f"kit convert: {result.model_id} ({result.sha256[:12]})")
    table.add_column("op")
    table.add_column("count", justify="right")
    for op, count in result.op_counts.items():
        table.add_row(op, str(count))
    return table


def _numbers_table(result) -> Table:
    table = Table(show_header=True)
    table.add_column("figure")
    table.add_column("kit", justify="right")
    table.add_column("TFLM", justify="right")
    table.add_row("arena bytes", f"{result.arena_bytes_kit:,}", f"{result.arena_bytes_tflm:,} measured")
    table.add_row("declared arena (kTensorArenaSize)", "-", f"{result.tensor_arena_size:,}")
    table.add_row("weight bytes (flash)", f"{result.weight_bytes:,}", f"{result.model_bytes:,} (whole .tflite)")
    table.add_row("ops / tensors", f"{len(result.ops)} / {result.tensors}", "")
    table.add_row("MACs per inference", f"{result.macs:,}", "")
    return table


@click.command("convert")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Output folder (default: the compile cache).")
@click.option("--labels", "labels_file", type=click.Path(path_type=Path), help="Text file with one label per line.")
@click.option("--lab", help="Take the labels from this lab (kit labs).")
@click.option("--model-id", help="Model identity reported by the firmware (default: the card's lab or the file name).")
@click.option("--card", "card_path", type=click.Path(path_type=Path), help="Model card to update with kit's arena bytes.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def convert_command(
    model: Path, out_dir: Path | None, labels_file: Path | None, lab: str | None, model_id: str | None,
    card_path: Path | None, as_json: bool,
) -> None:
    """Compile MODEL.tflite into TFLM C arrays (tflm/) and kit's static C plan (kit/)."""
    from kit.compile import convert

    labels = _read_labels(labels_file, lab)
    with warnings.catch_warnings(record=True) as caught:  # a card kit could not update: said below
        warnings.simplefilter("always")
        result = convert(model, out_dir, labels=labels, model_id=model_id, card_path=card_path, tflm=True)
        if result.card_path is not None and result.refusal is None:
            from kit.train.card import update_card

            result = dataclasses.replace(result, card_updated=update_card(result.card_path, result.arena_bytes_kit))
    card_problems = [str(w.message) for w in caught if str(w.message).startswith("model card")]
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        console.print(_summary_table(result))
        if result.refusal is None:
            console.print(_numbers_table(result))
        console.print(f"TFLM arrays: {result.tflm_dir}")
        console.print(f"kit model:   {result.kit_dir or 'not emitted (kit refused the model, see below)'}")
        if result.card_updated:
            console.print(f"model card updated: {result.card_path}")
        elif card_problems:
            console.print("\n".join(card_problems), markup=False)
        elif result.card_path and result.refusal is None:
            console.print(f"model card unchanged: {result.card_path} (arena_bytes_kit already {result.arena_bytes_kit:,})")
    if result.refusal is not None:
        raise result.refusal  # printed as error:/fix:, exit status 2


commands = [convert_command]
