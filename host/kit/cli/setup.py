"""`kit setup-offline`: prepare PlatformIO to build kit's emulated boards without internet."""

from __future__ import annotations

import click
from rich.console import Console

from kit.build.offline import install_offline_scons, platformio_core_dir

console = Console()


@click.command("setup-offline")
@click.option("--quiet", is_flag=True, help="Print nothing on success.")
def setup_offline(quiet: bool) -> None:
    """Install the local SCons package PlatformIO would otherwise download."""
    package = install_offline_scons()
    if not quiet:
        console.print(f"PlatformIO core folder: {platformio_core_dir()}")
        console.print(f"offline tool-scons ready: {package}")


commands = [setup_offline]
