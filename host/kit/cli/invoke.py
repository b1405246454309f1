"""`kit invoke BOARD --model M --input in.npy --output out.npy`: raw model outputs from a board."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from kit.errors import KitError


def _load_inputs(path: Path) -> np.ndarray:
    from kit.npyfile import load_npy

    return load_npy(path, "input file", "pass a .npy file written with numpy.save(path, array)")


def _save_outputs(path: Path, outputs: np.ndarray) -> None:
    """Write exactly `path` (numpy.save would append .npy to a name without it)."""
    from kit.paths import make_dir

    hint = "pass --output a file path you can write to, e.g. out.npy"
    if path.is_dir():
        raise KitError(f"--output {path} is a folder", hint)
    make_dir(path.parent, "folder for --output", hint)
    try:
        with path.open("wb") as handle:
            np.save(handle, outputs)
    except OSError as error:
        raise KitError(f"cannot write --output {path}: {error.strerror or error}", hint) from error


@click.command("invoke")
@click.argument("board")
@click.option("--model", "model", required=True, help="A .tflite file or a lab name (its reference model).")
@click.option("--input", "input_path", required=True, type=click.Path(path_type=Path), help="in.npy: one input or a batch along axis 0.")
@click.option("--output", "output_path", required=True, type=click.Path(path_type=Path), help="out.npy: one output per input.")
def invoke_command(board: str, model: str, input_path: Path, output_path: Path) -> None:
    """Run a model compiled by kit on BOARD and save its raw outputs."""
    from rich.console import Console

    from kit.targets import invoke_on_board

    outputs = invoke_on_board(board, model, _load_inputs(input_path))
    _save_outputs(output_path, outputs)
    Console().print(f"{len(outputs)} output(s) of shape {outputs.shape[1:]} {outputs.dtype} -> {output_path}")


commands = [invoke_command]
