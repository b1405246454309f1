"""`kit deploy` and `kit bench-pi`: Raspberry Pi (Linux board) commands over SSH. Logic in kit.deploy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from kit.deploy import RemoteLayout, RemotePython, SshTarget, bench_pi, deploy_lab

console = Console()
err_console = Console(stderr=True)


def ssh_options(function: Callable) -> Callable:
    """The OpenSSH-style options shared by every Linux-board command."""
    options = [
        click.option("--host", required=True, help="USER@HOST of the board, e.g. pi@raspberrypi.local (~/.ssh/config aliases work)."),
        click.option("--ssh-port", type=int, default=None, help="SSH port (default: ssh's own, normally 22)."),
        click.option("--identity", type=click.Path(path_type=Path), default=None, help="Private key file (ssh -i)."),
        click.option("--known-hosts", type=click.Path(path_type=Path), default=None, help="known_hosts file to verify the board's host key against (default ~/.ssh/known_hosts)."),
        click.option("--ssh-config", type=click.Path(path_type=Path), default=None, help="ssh config file instead of ~/.ssh/config (ssh -F)."),
        click.option("--accept-new-host-key", is_flag=True, help="Trust the board's host key on FIRST contact (StrictHostKeyChecking=accept-new); a CHANGED key is still refused."),
        click.option("--remote-dir", default=None, help="Folder on the board (relative to the login's home) [default: kit]; the lab goes in <dir>/<lab>, the venv in <dir>/venv."),
        click.option("--remote-python", default=None, help="Python 3 on the board that creates the venv [default: python3]."),
        click.option("--no-venv", is_flag=True, default=None, help="Run the runner with --remote-python itself, which must already import ai_edge_litert or tflite_runtime (boards set up by hand; the tests use the laptop's .venv python)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def make_target(host: str, ssh_port: int | None, identity: Path | None, known_hosts: Path | None, ssh_config: Path | None, accept_new_host_key: bool) -> SshTarget:
    return SshTarget(host=host, port=ssh_port, identity=identity, known_hosts=known_hosts, ssh_config=ssh_config, accept_new_host_key=accept_new_host_key)


@click.command("deploy")
@click.argument("board")
@click.argument("lab")
@ssh_options
@click.option("--model", type=click.Path(path_type=Path), default=None, help="int8 .tflite to deploy instead of the lab's reference model models/<lab>/model.tflite.")
@click.option("--wheelhouse", type=click.Path(path_type=Path, file_okay=False), default=None, help="Install LiteRT on the board from the .whl files in this folder (pushed over SSH; no internet needed on the board).")
@click.option("--offline", is_flag=True, help="The board has no internet: download LiteRT wheels for the board's CPU and Python on this laptop and push them.")
@click.option("--system-site-packages", is_flag=True, help="Create the board's venv with --system-site-packages (reuses an apt-installed tflite-runtime).")
@click.option("--threads", type=int, default=1, show_default=True, help="Interpreter threads for the first run.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON only.")
def deploy_command(board: str, lab: str, host: str, ssh_port: int | None, identity: Path | None, known_hosts: Path | None,
                   ssh_config: Path | None, accept_new_host_key: bool, remote_dir: str | None, remote_python: str | None,
                   no_venv: bool | None, model: Path | None, wheelhouse: Path | None, offline: bool, system_site_packages: bool,
                   threads: int, as_json: bool) -> None:
    """Copy LAB's int8 model, labels and runner to a Raspberry Pi over SSH, install LiteRT there, run it once.

    Key authentication only (ssh BatchMode): set it up once with `ssh-copy-id USER@HOST`.
    The board's host key must be known (first contact: see --accept-new-host-key).
    """
    if wheelhouse is not None and offline:
        raise click.UsageError("use either --wheelhouse DIR or --offline, not both")
    from kit.targets import open_target

    open_target(board).check("deploy")
    target = make_target(host, ssh_port, identity, known_hosts, ssh_config, accept_new_host_key)
    log = (lambda message: None) if as_json else (lambda message: err_console.print(f"[dim]{message}[/]", highlight=False))
    result = deploy_lab(
        board, lab, target, model=model, layout=RemoteLayout(remote_dir or "kit"),
        python=RemotePython(remote_python or "python3", use_venv=not no_venv, system_site_packages=system_site_packages),
        wheelhouse_dir=wheelhouse, offline=offline, threads=threads, log=log,
    )
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    smoke = result.smoke
    top = f"top class {smoke['top_label']!r} (index {smoke['top_index']})" if smoke.get("top_label") else f"top index {smoke['top_index']}"
    console.print(
        f"[green]deployed[/] {result.lab} to {result.host}:{result.remote_dir} ({result.machine}, Python {result.python_version})\n"
        f"runtime: [bold]{smoke['runtime']} {smoke['runtime_version']}[/] ({smoke['threads']} thread(s))"
        + ("  [yellow](older tflite_runtime: LiteRT is not installed on this board)[/]" if smoke["runtime"] == "tflite_runtime" else "")
        + f"\nsmoke run on the board: {top}, {smoke['latency_us'] / 1000:.2f} ms (first inference, includes warm-up effects)",
        highlight=False,
    )


@click.command("bench-pi")
@click.argument("board")
@ssh_options
@click.option("--lab", default=None, help="Lab to bench [default: the one `kit deploy` last put on this board].")
@click.option("--runs", type=int, default=100, show_default=True, help="Timed inferences.")
@click.option("--warmup", type=int, default=10, show_default=True, help="Untimed inferences first.")
@click.option("--threads", type=int, default=1, show_default=True, help="Interpreter threads on the board.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON only.")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Also write every measurement to this CSV file.")
@click.option("--no-plot", is_flag=True, help="Skip the PNG plot of the latency distribution.")
def bench_pi_command(board: str, host: str, ssh_port: int | None, identity: Path | None, known_hosts: Path | None, ssh_config: Path | None,
                     accept_new_host_key: bool, remote_dir: str | None, remote_python: str | None, no_venv: bool | None, lab: str | None,
                     runs: int, warmup: int, threads: int, as_json: bool, csv_path: Path | None, no_plot: bool = False) -> None:
    """Measure inference latency of the deployed lab on a Raspberry Pi, streamed live over SSH.

    Every measurement is stored as it arrives in kit's results folder; the summary uses the same
    statistics as the microcontroller bench. CPU temperature, clock and throttling are sampled.
    """
    from kit.targets import open_target

    open_target(board).check("deploy")
    target = make_target(host, ssh_port, identity, known_hosts, ssh_config, accept_new_host_key)
    layout = RemoteLayout(remote_dir) if remote_dir else None
    python = None
    if remote_python is not None or no_venv is not None:
        python = RemotePython(remote_python or "python3", use_venv=not no_venv)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[last]}"),
                  console=err_console, disable=as_json, transient=True) as progress:
        task = progress.add_task(f"bench on {host}", total=runs, last="")

        def show(record: dict[str, Any]) -> None:
            if record.get("type") == "inference":
                progress.update(task, advance=1, last=f"{record['latency_us'] / 1000:.3f} ms")

        result = bench_pi(board, target, lab_name=lab, runs=runs, warmup=warmup, threads=threads, layout=layout, python=python, on_record=show)
    if csv_path is not None:
        from kit.device.bench import write_csv  # the MCU bench's: both store `run` records

        write_csv(csv_path, result.results_path)
    if not no_plot:
        from kit.report.plots import plot_pi_bench

        result.plot = plot_pi_bench(result)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    print_summary(result)


def print_summary(result) -> None:
    stats = result.stats
    table = Table(title=f"{result.lab} on {result.board} ({result.host}) - {result.runtime} {result.runtime_version}, {result.threads} thread(s)")
    for column in ("runs", "min", "p50", "p90", "p99", "max", "mean", "std", "inf/s"):
        table.add_column(column, justify="right")
    ms = lambda value: f"{value / 1000:.3f} ms"  # noqa: E731
    table.add_row(str(stats.count), ms(stats.min), ms(stats.p50), ms(stats.p90), ms(stats.p99), ms(stats.max), ms(stats.mean), ms(stats.std), f"{stats.per_second:.1f}")
    console.print(table)
    system = result.system
    console.print(f"CPU temperature: {system.temperature()}   CPU clock: {system.frequency()}   throttling: {system.throttling()}", highlight=False)
    console.print(f"results: {result.results_path}", highlight=False)
    if result.plot is not None:
        console.print(f"plot: {result.plot}", highlight=False)


commands = [deploy_command, bench_pi_command]
