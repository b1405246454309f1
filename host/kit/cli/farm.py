"""`kit farm`: boards on many machines through a labgrid coordinator (coordinator, export, list, bench)."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from kit.farm.coordinator import DEFAULT_COORDINATOR

console = Console()
err_console = Console(stderr=True)

coordinator_option = click.option(
    "--coordinator", default=DEFAULT_COORDINATOR, show_default=True, envvar="LG_COORDINATOR",
    help="The labgrid coordinator, HOST:PORT (env LG_COORDINATOR).")


@click.group("farm")
def farm_group() -> None:
    """Many boards on many machines: a labgrid coordinator, one exporter per machine, places
    that `kit farm bench` acquires and releases (see README, "A farm of boards")."""


@farm_group.command("coordinator")
@click.option("--listen", default=DEFAULT_COORDINATOR, show_default=True,
              help="Where the coordinator listens: loopback unless you name the lab network's address.")
@click.option("--dir", "workdir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Where it keeps places.yaml (default $KIT_HOME/farm/coordinator).")
def coordinator_command(listen: str, workdir: Path | None) -> None:
    """Run labgrid-coordinator in the foreground (Ctrl-C stops it)."""
    from kit.farm.coordinator import start_coordinator
    from kit.paths import home_dir

    folder = workdir or home_dir() / "farm" / "coordinator"
    folder.mkdir(parents=True, exist_ok=True)
    process = start_coordinator(listen, str(folder), log=None)
    console.print(f"labgrid coordinator on {listen} (places in {folder / 'places.yaml'}); Ctrl-C stops it",
                  highlight=False)
    _stop_on_sigterm()
    try:
        sys.exit(process.wait())
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


def _stop_on_sigterm() -> None:
    """SIGTERM ends the command like Ctrl-C does: its `finally` blocks stop what it started."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


@farm_group.command("export")
@coordinator_option
@click.option("--name", default=None, help="This exporter's name on the coordinator (default: the host name).")
@click.option("--hostname", default=None,
              help="The address clients reach this machine at: its serial ports, and SSH for flashing "
                   "(default: the host name; with --no-usb, 127.0.0.1).")
@click.option("--emulate", "twins", multiple=True, metavar="BOARD[,BOARD...]|BOARD=PLACE",
              help="Export emulated twins of these boards too (one QEMU each); BOARD=PLACE names the place.")
@click.option("--lab", default="kws", show_default=True, help="The lab the twins run.")
@click.option("--no-usb", is_flag=True, help="Do not export the boards `kit ports` sees.")
def export_command(coordinator: str, name: str | None, hostname: str | None, twins: tuple[str, ...], lab: str,
                   no_usb: bool) -> None:
    """Export this machine's boards (and twins) to the coordinator, until stopped."""
    from kit.farm import export

    _stop_on_sigterm()
    name = name or export.default_name()
    log = lambda message: console.print(message, highlight=False)  # noqa: E731
    export.reap_stale(name, log)
    exports = [] if no_usb else export.usb_exports(name)
    running: list = []
    exporter = None
    try:
        if twins:
            twin_exports, running = export.start_twins(export.parse_twins(list(twins), name), lab, log, exporter=name)
            exports += twin_exports
        exporter = export.start_exporter(name, coordinator, exports,
                                         hostname or ("127.0.0.1" if no_usb else export.default_name()), log)
        console.print(f"exporting {len(exports)} board(s) as {name!r} to {coordinator}; Ctrl-C stops it",
                      highlight=False)
        code = export.serve(exporter)
        console.print(f"labgrid-exporter exited with code {code}", highlight=False)
        sys.exit(2 if code else 0)
    finally:
        if exporter is None:
            for twin in running:
                twin.stop()
            export.pid_file(name).unlink(missing_ok=True)


@farm_group.command("list")
@coordinator_option
@click.option("--probe", is_flag=True,
              help="Ask each free place's board for kit-info (acquiring and releasing it); held places are not opened.")
@click.option("--json", "as_json", is_flag=True, help="Print the places as JSON.")
def list_command(coordinator: str, probe: bool, as_json: bool) -> None:
    """Places, their boards, who holds them, and whether they answer (their exporter offers the
    board; with --probe, the board itself replied)."""
    from kit.farm.bench import probe as probe_place
    from kit.farm.coordinator import FarmClient

    with FarmClient(coordinator) as client:
        places = client.places()
        replies = {p.name: probe_place(client, p) if p.answers else "no: its exporter is gone" for p in places} \
            if probe else {}
    if as_json:
        click.echo(json.dumps([{"place": p.name, "board": p.board, "tags": p.tags, "host": p.host,
                                "acquired": p.acquired, "answers": p.answers, "probe": replies.get(p.name)}
                               for p in places], indent=2))
        return
    table = Table(title=f"farm places on {coordinator}")
    for column in ("place", "board", "runs on", "host", "held by", "answers"):
        table.add_column(column)
    for place in places:
        table.add_row(place.name, place.board or "-", place.tags.get("runs_on", "-"), place.host or "-",
                      place.acquired or "-", replies.get(place.name) or ("yes" if place.answers else "no"))
    console.print(table)


@farm_group.command("reflash", hidden=True)
@click.option("--exporter", "exporter_name", required=True, help="The `kit farm export --name` running here.")
@click.option("--group", required=True, help="The twin's resource group on that exporter.")
@click.option("--model-sha256", required=True, help="The model the new firmware must report (kit-info).")
@click.option("--firmware-sha256", required=True, help="sha256 of the firmware bytes on stdin.")
@click.option("--lab", default="", help="The lab the firmware runs (for the record).")
def reflash_command(exporter_name: str, group: str, model_sha256: str, firmware_sha256: str, lab: str) -> None:
    """Run by `kit farm bench` over SSH on the exporter's machine: take the twin firmware on
    stdin and have the running exporter restart that twin on it (then check its model)."""
    from kit.farm.flash import reflash_here

    pid = reflash_here(exporter_name, group, model_sha256, firmware_sha256, lab, sys.stdin.buffer)
    console.print(f"twin {group} of {exporter_name} restarted (pid {pid}), handshake ok", highlight=False)


def split_boards(values: tuple[str, ...]) -> list[str] | None:
    """--boards given once or many times; each value a name, or a comma-separated list of them.
    Which it is is decided against the places (kit.farm.bench.select_places), so a place whose
    name holds a comma is still one name."""
    return [v for v in values if v.strip()] or None


@farm_group.command("bench")
@click.argument("lab")
@coordinator_option
@click.option("--boards", multiple=True, metavar="NAME[,NAME...]",
              help="Places or board names: repeat the option, or separate with commas (a place whose "
                   "name holds a comma matches as a whole).")
@click.option("--all", "all_places", is_flag=True, help="Every kit place on the coordinator.")
@click.option("--runs", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--warmup", type=click.IntRange(min=0), default=2, show_default=True)
@click.option("--validate", "validate_limit", type=click.IntRange(min=0), default=10, show_default=True,
              help="Held-out test samples to validate per board (0: bench only).")
@click.option("--wait/--skip-held", default=False, show_default=True,
              help="Wait for a place another client holds instead of skipping it.")
@click.option("--wait-timeout", type=float, default=300.0, show_default=True)
@click.option("--jobs", type=click.IntRange(min=1), default=4, show_default=True, help="Places benched at once.")
@click.option("--flash", "flash_mode", type=click.Choice(["auto", "always", "never"]), default="auto",
              show_default=True,
              help="Flash each board through its exporter's host over SSH: when it does not run the lab's "
                   "model (auto), every time, or never (only check).")
@click.option("--ssh-config", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="An ssh_config for the exporter hosts (User, Port, IdentityFile per host).")
@click.option("--identity", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The SSH private key for the exporter hosts.")
@click.option("--known-hosts", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="known_hosts file for the exporter hosts (default ~/.ssh/known_hosts).")
@click.option("--accept-new-host-key", is_flag=True, help="Trust an exporter host's key on first contact (a changed key is still refused).")
@click.option("--remote-kit", default=None,
              help="The kit command on the exporter hosts (default: what each exporter publishes in its kit_cmd tag).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcomes as JSON.")
def bench_command(lab: str, coordinator: str, boards: tuple[str, ...], all_places: bool, runs: int, warmup: int,
                  validate_limit: int, wait: bool, wait_timeout: float, jobs: int, flash_mode: str,
                  ssh_config: Path | None, identity: Path | None, known_hosts: Path | None,
                  accept_new_host_key: bool, remote_kit: str | None, as_json: bool) -> None:
    """Acquire, flash (through the exporter's host, when needed), bench, validate and release
    every matching place (in parallel)."""
    from kit.catalog import get_lab
    from kit.errors import KitError
    from kit.farm.bench import FarmRequest, bench_farm
    from kit.farm.coordinator import FarmClient
    from kit.farm.flash import SshOptions

    chosen = split_boards(boards)
    if bool(chosen) == all_places:
        raise KitError("name the boards or pass --all", hint=f"`kit farm bench {lab} --all` or --boards PLACE,...")
    get_lab(lab)
    _stop_on_sigterm()
    ssh = SshOptions(ssh_config=ssh_config, identity=identity, known_hosts=known_hosts,
                     accept_new_host_key=accept_new_host_key, remote_kit=remote_kit)
    request = FarmRequest(lab=lab, boards=chosen, runs=runs, warmup=warmup, validate_limit=validate_limit, wait=wait,
                          wait_timeout=wait_timeout, jobs=jobs, flash=flash_mode, ssh=ssh)

    with FarmClient(coordinator) as client, _FarmProgress() as shown:
        outcomes, _ = bench_farm(client, request, shown.on_event, shown.on_prepared)
    if as_json:
        click.echo(json.dumps([o.as_dict() for o in outcomes], indent=2))
    else:
        table = Table(title=f"kit farm bench {lab}")
        for column in ("place", "board", "host", "status", "p50 µs", "accuracy", "results / error"):
            table.add_column(column)
        for o in outcomes:
            table.add_row(o.place, o.board, o.host, o.status, f"{o.p50_us:,.1f}" if o.p50_us else "-",
                          f"{100 * o.accuracy:.1f}%" if o.accuracy is not None else "-",
                          o.error or ", ".join(p.name for p in o.results))
        console.print(table)
    if any(o.status in ("failed", "refused") for o in outcomes):
        sys.exit(1)


class _FarmProgress:
    """Live progress per board: one bar per place on a terminal, one line per step otherwise
    (CI logs), both on stderr so `--json` stays clean."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.live = err_console.is_terminal
        self.progress = Progress(TextColumn("{task.fields[place]}"), TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), console=err_console) if self.live else None
        self.tasks: dict[str, int] = {}

    def __enter__(self) -> "_FarmProgress":
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def on_prepared(self, places: list) -> None:
        if self.progress is not None:
            for place in places:
                self.tasks[place.name] = self.progress.add_task("queued", total=None, place=place.name)

    def on_event(self, place: str, phase: str, details: dict) -> None:
        if self.progress is not None and place in self.tasks:
            total = details.get("total")
            self.progress.update(self.tasks[place], description=phase, total=total,
                                 completed=details.get("done", 0) if total else 0)
            return
        if phase in ("bench", "validate") and details.get("done") not in (0, details.get("total")):
            if details.get("done", 0) % 10:
                return
        shown = ", ".join(f"{k}={v}" for k, v in details.items() if v is not None)
        err_console.print(f"[{place}] {phase}{': ' + shown if shown else ''}", highlight=False, markup=False)


commands = [farm_group]
