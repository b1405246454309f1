"""`kit project BOARD LAB --out DIR`: write a real board's PlatformIO project without building."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def _summary(project) -> Table:
    table = Table(title=f"kit project: {project.board} ({project.engine} engine)", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("folder", str(project.project_dir))
    table.add_row("environment", project.env)
    table.add_row("model", f"{project.model_id} ({project.sha256[:12]})")
    table.add_row("HAL", project.hal)
    table.add_row("build id", project.build_id)
    if project.lib_deps:
        table.add_row("lib_deps", ", ".join(project.lib_deps))
    return table


@click.command("project")
@click.argument("board")
@click.argument("lab")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the PlatformIO project into (new, empty, or an earlier kit project).")
@click.option("--engine", type=click.Choice(["kit", "tflm"]), default="kit", show_default=True,
              help="kit: kit's compiled model and runtime; tflm: TensorFlow Lite Micro (Arduino library).")
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path),
              help="An int8 .tflite to use instead of the lab's model.")
@click.option("--model-id", "model_id", help="The id the board reports in `m-model-[...]` (default: the MLPerf Tiny id "
              "for a lab or MLPerf reference model that has one, else the lab or file name).")
@click.option("--revision", help="The board revision to build for, where its board file lists `revisions` "
              "(they differ in sensor parts; default: the first).")
@click.option("--kit", "kit_name", help="A workshop kit for this board (`kit kits`): also drive the sensors it adds.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def project_command(board: str, lab: str, out_dir: Path, engine: str, model: Path | None, as_json: bool,
                    model_id: str | None = None, revision: str | None = None, kit_name: str | None = None) -> None:
    """Write the PlatformIO project for a REAL board (one with a [platformio] table in its
    board file: `kit boards`) running LAB's model, without building it. Open the folder in VS Code, or
    run `pio run -t upload` in it; README.txt inside says how."""
    from kit.build.realboard import project_for_lab
    from kit.targets import open_target

    open_target(board).check("project")
    result = project_for_lab(board, lab, out_dir=out_dir, engine=engine, model=model,
                             log=None if as_json else err_console.print, model_id=model_id, revision=revision,
                             kit=kit_name)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    console.print(_summary(result))
    console.print(f"next: `pio run -d {result.project_dir} -t upload`, or `kit flash {board} {lab}`")


commands = [project_command]
