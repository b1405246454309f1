"""`kit data LAB`: generate (or read) a lab's dataset and show what is in it."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kit.data import load_dataset
from kit.data.raw import SPLITS
from kit.data.spec import lab_spec

console = Console()


def _load_lab(name: str):
    """The catalog's Lab when kit.catalog is available, else the lab file itself."""
    try:
        from kit.catalog import get_lab
    except ImportError:
        return lab_spec(name)
    return get_lab(name)


def counts_table(dataset) -> Table:
    counts = dataset.metadata["counts"]
    table = Table(title=f"{dataset.metadata['lab']} dataset ({dataset.metadata['generator']}, seed {dataset.metadata['seed']})")
    table.add_column("class")
    for split in SPLITS:
        table.add_column(split, justify="right")
    for label in dataset.labels:
        table.add_row(label, *(str(counts[split][label]) for split in SPLITS))
    table.add_row("[bold]total", *(f"[bold]{sum(counts[split].values())}" for split in SPLITS))
    return table


@click.command("data")
@click.argument("lab")
@click.option("--seed", default=0, show_default=True, help="Random seed: the same seed gives the same data.")
@click.option("--source", type=click.Path(path_type=Path), default=None,
              help="Your own data: a folder with one sub-folder per class (WAV, PNG/JPEG or CSV).")
@click.option("--size", default=None, help="Shrink the generated data: tiny, small, medium, full or a fraction.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("kit-out/data"), show_default=True,
              help="Where --preview writes its pictures.")
@click.option("--preview", is_flag=True, help="Write a few example pictures per class into --out.")
def data_command(lab: str, seed: int, source: Path | None, size: str | None, out: Path, preview: bool) -> None:
    """Generate LAB's dataset offline (or read --source) and print its class counts."""
    spec = lab_spec(_load_lab(lab))
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(f"{spec.name} data", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        dataset = load_dataset(spec, seed=seed, source=source, size=size, progress=advance)
    console.print(counts_table(dataset))
    shape = list(dataset.x_train.shape[1:])
    console.print(f"features: {spec.features.get('type')} {shape} float32; cache: {dataset.metadata.get('cache')}")
    if dataset.metadata.get("test_group_names") and spec.generator == "speech-espeak" and source is None:
        console.print(f"test speakers (never heard in training): {len(dataset.metadata['test_group_names'])}")
    if preview:
        from kit.data.preview import write_previews
        paths = write_previews(spec, dataset, out)
        console.print(f"wrote {len(paths)} preview images to {out}")


commands = [data_command]
