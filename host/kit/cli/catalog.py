"""`kit boards`, `kit labs`, `kit kits` and the details of one (`kit board NAME`, ...)."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from kit.catalog.models import Board, Sensor
from kit.report.tables import Column, fitted_table

console = Console()


def human_bytes(count: int) -> str:
    """2097152 -> '2 MB', 524288 -> '512 KB'; 0 -> '-'."""
    if count <= 0:
        return "-"
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= size:
            value = count / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{count} B"


def human_hz(hz: int | None) -> str:
    if not hz:
        return "-"
    return f"{hz / 1e9:g} GHz" if hz >= 1_000_000_000 else f"{hz / 1e6:g} MHz"


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2))


@click.command("boards")
@click.option("--json", "as_json", is_flag=True, help="Print every board's full record as JSON.")
def boards_command(as_json: bool) -> None:
    """List the boards kit knows (real, emulated and the host)."""
    from kit.catalog import list_boards

    boards = list_boards()
    if as_json:
        _echo_json([board.model_dump(mode="json") for board in boards])
        return
    columns = [
        Column("name"), Column("kind", 3), Column("core", 5), Column("clock", 1, "right"), Column("flash", 1, "right"),
        Column("RAM", 1, "right"), Column("ext. RAM", 6, "right"), Column("upload", 4), Column("twin", 3),
        Column("kit support", 2),
    ]
    rows = []
    for board in boards:
        limits = board.memory_limits()
        support = "full" if board.support.build and board.support.upload else (
            "deploy" if board.support.upload and board.upload.method == "ssh" else
            "model flash + bench" if board.support.upload else "convert + bench" if board.support.bench else "convert only")
        rows.append([
            board.name, board.kind, board.core, human_hz(board.clock_hz), human_bytes(limits.flash_bytes),
            human_bytes(limits.ram_bytes), human_bytes(board.external_ram_bytes), board.upload.method,
            board.emulated_twin or "-", support,
        ])
    console.print(fitted_table("boards (kit board NAME for details)", columns, rows, console.width))
    console.print("flash/RAM: what an application may use under the board's default framework.")


@click.command("board")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the board's record as JSON.")
def board_command(name: str, as_json: bool) -> None:
    """Show everything the catalog knows about one board."""
    from kit.catalog import get_board

    board = get_board(name)
    if as_json:
        _echo_json(board.model_dump(mode="json"))
        return
    limits = board.memory_limits()
    table = Table(title=f"{board.title} ({board.name})", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    rows = [
        ("vendor", board.vendor),
        ("kind", board.kind),
        ("chip", board.mcu),
        ("core", f"{board.core} x{board.cores} ({board.arch}) at {human_hz(board.clock_hz)}"),
        ("other cores", ", ".join(board.coprocessors) or "-"),
        ("flash / RAM (chip)", f"{human_bytes(board.flash_bytes)} / {human_bytes(board.ram_bytes)}"),
        ("flash / RAM (app)", f"{human_bytes(limits.flash_bytes)} / {human_bytes(limits.ram_bytes)}"),
        ("external flash / RAM", f"{human_bytes(board.external_flash_bytes)} / {human_bytes(board.external_ram_bytes)} {board.external_ram_kind}"),
        ("FPU / SIMD", f"{board.fpu or '-'} / {', '.join(board.simd) or '-'}"),
        ("accelerator", board.accelerator or "-"),
        ("sensors", "\n".join(_sensor_line(s) for s in board.sensors) or "-"),
        ("USB ids", "\n".join(f"{u.label} {u.mode}{' (shared)' if u.shared else ''}" for u in board.usb) or "-"),
        ("baud", str(board.baud)),
        ("PlatformIO", f"{board.platformio.platform} / {board.platformio.board} / {board.platformio.framework}" if board.platformio else "-"),
        ("upload", board.upload.method + (f": {board.upload.notes}" if board.upload.notes else "")),
        ("firmware", _firmware_line(board)),
        ("emulated twin", board.emulated_twin or "-"),
        ("power active / idle", f"{board.active_power_mw:g} mW / {board.idle_power_mw:g} mW ({board.power_basis})"),
        ("kit support", f"build {'yes' if board.support.build else 'no'}, upload {'yes' if board.support.upload else 'no'}, bench {'yes' if board.support.bench else 'no'}"),
        ("notes", "\n".join(board.support.notes) or "-"),
        ("sources", "\n".join(board.sources)),
    ]
    if board.emulator is not None:
        emulator = board.emulator
        rows.insert(-3, ("emulator", f"{emulator.qemu} -M {emulator.machine} {' '.join(emulator.args)}"))
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)


def _sensor_line(sensor: Sensor) -> str:
    """`imu: LSM6DSOXTR (arduino-libraries/Arduino_LSM6DSOX@1.1.0)`: part and Arduino libraries."""
    libraries = [*sensor.drivers, *(f"{name} (core)" for name in sensor.core_libraries)]
    revision = f", {sensor.revision} only" if sensor.revision else ""
    return f"{sensor.kind}: {sensor.part}{revision}" + (f" ({', '.join(libraries)})" if libraries else "")


def _firmware_line(board: Board) -> str:
    """HAL, kernel variant and status LED of kit's firmware on the board."""
    if board.firmware is None:
        return "-"
    firmware = board.firmware
    led = f", LED {firmware.led.pin} ({'active low' if firmware.led.active_low else 'active high'})" if firmware.led else ""
    return f"HAL {firmware.hal}, {firmware.kernels} kernels{led}"


@click.command("labs")
@click.option("--json", "as_json", is_flag=True, help="Print every lab's full record as JSON.")
def labs_command(as_json: bool) -> None:
    """List the labs: the book chapter each follows, sensors, input/output, model and labels."""
    from kit.catalog import list_labs

    labs = list_labs()
    if as_json:
        _echo_json([lab.model_dump(mode="json") for lab in labs])
        return
    columns = [Column("name"), Column("book chapter", 1), Column("title", 4), Column("sensors", 1), Column("input", 2),
               Column("output", 3), Column("model", 2), Column("labels", 5), Column("MLPerf", 3)]
    rows = []
    for lab in labs:
        labels = ", ".join(lab.labels)
        rows.append([
            lab.name, lab.chapter, lab.title, ", ".join(lab.sensors), "x".join(map(str, lab.io.input_shape)),
            "x".join(map(str, lab.io.output_shape)), lab.model.arch,
            labels if len(labels) < 40 else f"{len(lab.labels)} classes", lab.mlperf_model_id or "-",
        ])
    console.print(fitted_table("labs (kit lab NAME for details)", columns, rows, console.width))


@click.command("lab")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the lab's record as JSON.")
def lab_command(name: str, as_json: bool) -> None:
    """Show one lab: dataset recipe, features, model, training and targets."""
    from kit.catalog import get_lab

    lab = get_lab(name)
    data = lab.model_dump(mode="json")
    if as_json:
        _echo_json(data)
        return
    console.print(f"[bold]{lab.title}[/] ({lab.name}): {lab.description}")
    console.print(f"book chapter: {lab.chapter}")
    for section in ("dataset", "features", "model", "training", "io", "targets", "anomaly"):
        if not data.get(section):
            continue
        table = Table(title=section, show_header=False)
        table.add_column("key", style="bold")
        table.add_column("value")
        for key, value in data[section].items():
            if value is not None:
                table.add_row(key, json.dumps(value) if not isinstance(value, str) else value)
        console.print(table)
    console.print(f"labels: {', '.join(lab.labels)}")


@click.command("kits")
@click.option("--json", "as_json", is_flag=True, help="Print every kit's full record as JSON.")
def kits_command(as_json: bool) -> None:
    """List the workshop kits: board, sensors and the labs each one runs."""
    from kit.catalog import list_kits

    kits = list_kits()
    if as_json:
        _echo_json([item.model_dump(mode="json") for item in kits])
        return
    columns = [Column("name"), Column("board"), Column("labs", 1), Column("sensors", 2), Column("title", 3)]
    rows = [[item.name, item.board, "\n".join(item.labs), "\n".join(s.kind for s in item.sensors) or "-", item.title]
            for item in kits]
    console.print(fitted_table("workshop kits (kit kit NAME for details)", columns, rows, console.width))


@click.command("kit")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the kit's record as JSON.")
def kit_command(name: str, as_json: bool) -> None:
    """Show one workshop kit: what is in the box and which labs it runs."""
    from kit.catalog import get_kit

    item = get_kit(name)
    if as_json:
        _echo_json(item.model_dump(mode="json"))
        return
    console.print(f"[bold]{item.title}[/] ({item.name}) by {item.vendor}: {item.description}")
    console.print(f"board: {item.board}   labs: {', '.join(item.labs)}")
    for part in item.parts:
        console.print(f"  - {part.name}" + (f": {part.description}" if part.description else ""))


commands = [boards_command, board_command, labs_command, lab_command, kits_command, kit_command]
