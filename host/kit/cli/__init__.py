"""The `kit` command. Each module in this package adds its own commands, so no file here
needs editing when a stage gains a command: a module exposes `commands` (a list of Click
commands) and is picked up automatically."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click
from rich.console import Console

from kit import __version__
from kit.errors import KitError

console = Console()
err_console = Console(stderr=True)


class KitGroup(click.Group):
    """Loads command modules lazily and turns KitError into a clean message and exit code."""

    def _load_all(self) -> None:
        if getattr(self, "_loaded", False):
            return
        self._loaded = True
        for info in pkgutil.iter_modules(__path__):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{__name__}.{info.name}")
            for command in getattr(module, "commands", []):
                self.add_command(command)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_all()
        return sorted(self.commands)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self._load_all()
        return self.commands.get(name)

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except KitError as error:
            err_console.print(f"[bold red]error:[/] {error.message}", highlight=False)
            if error.hint:
                err_console.print(f"[bold]fix:[/] {error.hint}", highlight=False)
            sys.exit(error.exit_code)


@click.group(cls=KitGroup)
@click.version_option(__version__, prog_name="kit")
def main() -> None:
    """kit: train, quantize, compile, flash and benchmark the MLSysBook hardware labs."""
