"""`kit doctor`: check this machine and print the fix for each problem."""

from __future__ import annotations

import json
import os
import sys

import click
from rich.console import Console
from rich.table import Table

console = Console()

STYLE = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "missing": "[bold red]missing[/]"}


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@click.option("--imports", "import_modules", is_flag=True,
              help="Really import every Python package in a child process (slower; catches broken wheels).")
def doctor_command(as_json: bool, import_modules: bool) -> None:
    """Check Python packages, compilers, QEMU, PlatformIO, serial permissions and disk.

    Exits with 1 if something required is missing."""
    from kit import doctor

    checks = doctor.run_checks(path=os.environ.get("PATH"), import_modules=import_modules)
    if as_json:
        click.echo(json.dumps(doctor.as_json(checks), indent=2))
    else:
        table = Table(title="kit doctor")
        for column in ("check", "status", "detail", "fix"):
            table.add_column(column, no_wrap=column == "check")
        for check in checks:
            table.add_row(check.name, STYLE[check.status], check.detail, check.fix or "")
        console.print(table)
        console.print(f"kit doctor: {doctor.verdict(checks)}")
    if doctor.has_failures(checks):
        sys.exit(1)


commands = [doctor_command]
