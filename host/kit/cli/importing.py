"""`kit import MODEL.onnx`: a thin wrapper over kit.importers.onnx."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
from rich.console import Console

from kit.errors import KitError

console = Console()


def load_calibration(path: Path) -> np.ndarray:
    """The --calibration batch: one float array saved with numpy.save (no pickles, no .npz)."""
    hint = "save one float array with numpy.save (e.g. numpy.save('calib.npy', batch.astype('float32')))"
    from kit.npyfile import load_npy

    data = load_npy(path, "calibration file", hint)
    if not np.issubdtype(data.dtype, np.number):
        raise KitError(f"cannot read calibration file {path}: its array has dtype {data.dtype}, not numbers", hint)
    return data


@click.command("import")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--calibration", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A .npy batch of representative inputs, normalised as the model expects (NCHW or NHWC).")
@click.option("--lab", default=None, help="Evaluate on this lab's test split (and calibrate on its data).")
@click.option("--labels", default=None, help="Comma-separated class names, if no lab is given.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--size", default=None, help="Shrink the lab dataset used for calibration/evaluation.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Also copy model.tflite + card here.")
@click.option("--force", is_flag=True, help="Convert again even if a cached import exists.")
@click.option("--json", "as_json", is_flag=True, help="Print only the model card as JSON.")
def import_command(model: Path, calibration: Path | None, lab: str | None, labels: str | None, seed: int,
                   size: str | None, out: Path | None, force: bool, as_json: bool) -> None:
    """Convert an ONNX model to full-integer int8 TFLite (offline) and print its model card."""
    from kit.importers.onnx import import_onnx
    from kit.train.card import card_tables
    from kit.train.pipeline import export_model

    data = load_calibration(calibration) if calibration is not None else None
    label_list = [name.strip() for name in labels.split(",")] if labels else None
    result = import_onnx(model, calibration=data, lab=lab, labels=label_list, seed=seed, size=size, force=force)
    card = result.card
    if out is not None:
        _, _, card = export_model(result.tflite_path, card, out, keep=("onnx",))
    if as_json:
        click.echo(json.dumps({**card, "cached": result.cached}, indent=2))
        return
    for table in card_tables(card):
        console.print(table)
    console.print(f"int8 model: {card['artifacts']['tflite']}")


commands = [import_command]
