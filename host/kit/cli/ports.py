"""`kit ports`: the serial ports present and the board each one looks like."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

console = Console()


@click.command("ports")
@click.option("--json", "as_json", is_flag=True, help="Print the ports as JSON.")
def ports_command(as_json: bool) -> None:
    """List serial ports with their USB VID:PID and the catalog board they match."""
    from kit.link.ports import list_ports

    found = list_ports()
    if as_json:
        click.echo(json.dumps([port.to_dict() for port in found], indent=2))
        return
    if not found:
        console.print("no serial ports found: plug a board in with a data USB cable (`dmesg -w` shows it enumerate)")
        return
    table = Table(title="serial ports")
    for column in ("port", "USB id", "looks like", "mode", "description", "serial"):
        table.add_column(column)
    for port in found:
        modes = ", ".join(sorted({match.mode for match in port.matches})) or "-"
        table.add_row(port.device, port.usb_id or "-", port.looks_like() if port.matches else "-", modes,
                      port.description or "-", port.serial_number or "-")
    console.print(table)


commands = [ports_command]
