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
from kit.deploy.slm import BOOK_FIGURES, ENGINES, WORKLOAD as SLM_WORKLOAD, bench_slm, deploy_slm

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


def slm_options(function: Callable) -> Callable:
    """Options of the small-language-model lab (`slm`), shared by deploy and bench."""
    options = [
        click.option("--engine", type=click.Choice(ENGINES), default=None, help="slm: llama-cpp (a GGUF file, default) or ollama (a model Ollama on the Pi has pulled)."),
        click.option("--ollama-model", default=None, help="slm with --engine ollama: the model's name, e.g. llama3.2:1b."),
        click.option("--ollama-port", type=int, default=11434, show_default=True, help="slm with --engine ollama: Ollama's port on the Pi (reached through an SSH tunnel)."),
        click.option("--context", type=int, default=2048, show_default=True, help="slm: context length in tokens (sets the KV cache, so the RAM needed)."),
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
@click.option("--threads", type=int, default=None, help="Interpreter threads for the first run [default: 1; slm: 4].")
@slm_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON only.")
def deploy_command(board: str, lab: str, host: str, ssh_port: int | None, identity: Path | None, known_hosts: Path | None,
                   ssh_config: Path | None, accept_new_host_key: bool, remote_dir: str | None, remote_python: str | None,
                   no_venv: bool | None, model: Path | None, wheelhouse: Path | None, offline: bool, system_site_packages: bool,
                   threads: int | None, engine: str | None, ollama_model: str | None, ollama_port: int, context: int,
                   as_json: bool) -> None:
    """Copy LAB's int8 model, labels and runner to a Raspberry Pi over SSH, install LiteRT there, run it once.

    LAB `slm` is the small-language-model lab: `--model FILE.gguf` is checked here (format, the
    RAM it needs against the Pi's), copied once and run with llama.cpp (llama-cpp-python, installed
    into kit's venv on the Pi, or from --wheelhouse); or `--engine ollama --ollama-model NAME` uses
    a model Ollama on the Pi has pulled, through an SSH tunnel.

    Key authentication only (ssh BatchMode): set it up once with `ssh-copy-id USER@HOST`.
    The board's host key must be known (first contact: see --accept-new-host-key).
    """
    if wheelhouse is not None and offline:
        raise click.UsageError("use either --wheelhouse DIR or --offline, not both")
    from kit.targets import open_target

    open_target(board).check("deploy")
    target = make_target(host, ssh_port, identity, known_hosts, ssh_config, accept_new_host_key)
    log = (lambda message: None) if as_json else (lambda message: err_console.print(f"[dim]{message}[/]", highlight=False))
    if lab == SLM_WORKLOAD:
        if offline:
            raise click.UsageError("--offline downloads LiteRT wheels; for slm pass --wheelhouse DIR with a llama-cpp-python wheel built for the Pi")
        result = deploy_slm(board, target, model=model, engine=engine or "llama-cpp", ollama_model=ollama_model,
                            ollama_port=ollama_port, layout=RemoteLayout(remote_dir or "kit"),
                            python=RemotePython(remote_python or "python3", use_venv=not no_venv, system_site_packages=system_site_packages),
                            wheelhouse_dir=wheelhouse, context=context, threads=threads or 4, log=log)
        print_slm_deploy(result, as_json)
        return
    if engine is not None or ollama_model is not None:
        raise click.UsageError(f"--engine and --ollama-model are for `kit deploy {board} slm` (lab {lab} runs with LiteRT)")
    threads = threads or 1
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
@click.option("--runs", type=int, default=None, help="Timed inferences [default: 100; slm: 3 generations].")
@click.option("--warmup", type=int, default=10, show_default=True, help="Untimed inferences first.")
@click.option("--threads", type=int, default=None, help="Interpreter threads on the board [default: 1; slm: 4].")
@click.option("--threads-sweep", default=None, help="Bench once per thread count, e.g. 1,2,4: a table of latency and speed-up against the first.")
@click.option("--prompt", default=None, help="slm: the prompt every generation starts from.")
@click.option("--max-tokens", type=int, default=64, show_default=True, help="slm: tokens generated per run.")
@slm_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON only.")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Also write every measurement to this CSV file.")
@click.option("--no-plot", is_flag=True, help="Skip the PNG plot of the latency distribution.")
def bench_pi_command(board: str, host: str, ssh_port: int | None, identity: Path | None, known_hosts: Path | None, ssh_config: Path | None,
                     accept_new_host_key: bool, remote_dir: str | None, remote_python: str | None, no_venv: bool | None, lab: str | None,
                     runs: int | None, warmup: int, threads: int | None, threads_sweep: str | None, prompt: str | None,
                     max_tokens: int, engine: str | None,
                     ollama_model: str | None, ollama_port: int, context: int, as_json: bool, csv_path: Path | None,
                     no_plot: bool = False) -> None:
    """Measure inference latency of the deployed lab on a Raspberry Pi, streamed live over SSH.

    Every measurement is stored as it arrives in kit's results folder; the summary uses the same
    statistics as the microcontroller bench. CPU temperature, clock and throttling are sampled.

    `--lab slm --prompt TEXT`: generations of the deployed small language model (or an Ollama
    model, --engine ollama --ollama-model NAME): prompt-evaluation and generation tokens/s, time
    to first token, peak RAM, temperature and throttling per run, beside the book's figures.
    """
    from kit.targets import open_target

    open_target(board).check("deploy")
    target = make_target(host, ssh_port, identity, known_hosts, ssh_config, accept_new_host_key)
    layout = RemoteLayout(remote_dir) if remote_dir else None
    python = None
    if remote_python is not None or no_venv is not None:
        python = RemotePython(remote_python or "python3", use_venv=not no_venv)
    if lab is None and prompt is not None:  # what `kit deploy` last put there decides
        from kit.deploy.state import recall

        deployed = recall(board, target.host, target.port)
        lab = deployed.lab if deployed is not None else None
    if lab == SLM_WORKLOAD:
        if prompt is None:
            raise click.UsageError('--lab slm needs --prompt TEXT (e.g. --prompt "What is a microcontroller?")')
        bench_slm_cli(board, target, prompt=prompt, runs=runs or 3, max_tokens=max_tokens, threads=threads or 4,
                      context=context, engine=engine, ollama_model=ollama_model, ollama_port=ollama_port,
                      layout=layout, python=python, as_json=as_json, csv_path=csv_path, no_plot=no_plot)
        return
    if prompt is not None or engine is not None or ollama_model is not None:
        raise click.UsageError("--prompt, --engine and --ollama-model are for --lab slm")
    runs, threads = runs or 100, threads or 1
    if threads_sweep is not None:
        sweep_threads(board, target, lab, runs, warmup, parse_thread_counts(threads_sweep), layout, python, as_json)
        return
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


def parse_thread_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a list of thread counts such as 1,2,4", param_hint="--threads-sweep") from None
    if not counts or any(not 1 <= count <= 64 for count in counts) or len(set(counts)) != len(counts):
        raise click.BadParameter(f"{text!r}: give distinct thread counts between 1 and 64, e.g. 1,2,4", param_hint="--threads-sweep")
    return counts


def sweep_threads(board: str, target: SshTarget, lab: str | None, runs: int, warmup: int, counts: list[int],
                  layout, python, as_json: bool) -> None:
    """One bench per thread count (each its own results file), then the scaling table."""
    results = []
    for count in counts:
        if not as_json:
            err_console.print(f"[dim]bench on {target.host} with {count} thread(s)[/]", highlight=False)
        results.append(bench_pi(board, target, lab_name=lab, runs=runs, warmup=warmup, threads=count, layout=layout, python=python))
    base = results[0].stats.p50
    rows = [{"threads": r.threads, "p50_us": r.stats.p50, "p90_us": r.stats.p90, "inferences_per_second": r.stats.per_second,
             "speedup": base / r.stats.p50, "results_file": str(r.results_path)} for r in results]
    if as_json:
        click.echo(json.dumps({"board": board, "host": target.host, "lab": results[0].lab, "runtime": results[0].runtime,
                               "sweep": rows}, indent=2))
        return
    table = Table(title=f"{results[0].lab} on {board} ({target.host}) - {results[0].runtime}: thread scaling")
    for column in ("threads", "p50", "p90", "inf/s", f"speed-up vs {counts[0]}"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(str(row["threads"]), f"{row['p50_us'] / 1000:.3f} ms", f"{row['p90_us'] / 1000:.3f} ms",
                      f"{row['inferences_per_second']:.1f}", f"{row['speedup']:.2f}x")
    console.print(table)


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


def print_slm_deploy(result, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    smoke = result.smoke
    where = f"{result.host}:{result.remote_dir}" if result.remote_dir else f"Ollama on {result.host}"
    copied = "" if result.engine == "ollama" else (" (copied)" if result.copied else " (already there: not copied again)")
    console.print(f"[green]deployed[/] slm {result.model} to {where}{copied}, engine {result.engine}", highlight=False)
    if result.ram_warning:
        console.print(f"[yellow]{result.ram_warning}[/]", highlight=False)
    console.print(f"first generation: {smoke['generated_tokens']} tokens at {smoke['generation_tokens_per_s']:.2f} tokens/s, "
                  f"prompt {smoke['prompt_tokens_per_s']:.2f} tokens/s, first token after {smoke['ttft_ms']:.0f} ms", highlight=False)


def bench_slm_cli(board: str, target: SshTarget, *, as_json: bool, csv_path: Path | None, no_plot: bool, **options: Any) -> None:
    """`kit bench-pi BOARD --lab slm`: live progress, the stored records, the summary."""
    runs = options["runs"]
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[last]}"),
                  console=err_console, disable=as_json, transient=True) as progress:
        task = progress.add_task(f"slm on {target.host}", total=runs, last="")

        def show(record: dict[str, Any]) -> None:
            if record.get("type") == "generation":
                progress.update(task, advance=1, last=f"{record['generation_tokens_per_s']:.2f} tokens/s")

        result = bench_slm(board, target, on_record=show, **options)
    if csv_path is not None:
        write_slm_csv(csv_path, result.generations)
    if not no_plot:
        from kit.report.plots import plot_slm_bench

        result.plot = plot_slm_bench(result)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    print_slm_summary(result)


SLM_CSV_COLUMNS = ("index", "prompt_tokens", "generated_tokens", "prompt_tokens_per_s", "generation_tokens_per_s",
                   "ttft_ms", "total_ms", "peak_rss_bytes", "timing")


def write_slm_csv(path: Path, generations: list[dict[str, Any]]) -> None:
    import csv

    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=SLM_CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(generations)


def print_slm_summary(result) -> None:
    table = Table(title=f"slm {result.model} on {result.board} ({result.host}) - {result.runtime}, {len(result.generations)} run(s)")
    for column in ("", "min", "p50", "max", "book (llama3.2:1b, Pi 5)"):
        table.add_column(column, justify="right")
    rows = (("generation tokens/s", result.generation_tokens_per_s, f"{BOOK_FIGURES['generation_tokens_per_s']:.2f}"),
            ("prompt eval tokens/s", result.prompt_tokens_per_s, f"{BOOK_FIGURES['prompt_tokens_per_s']:.2f}"),
            ("time to first token (ms)", result.ttft_ms, ""))
    for name, stats, book in rows:
        table.add_row(name, f"{stats.min:.2f}", f"{stats.p50:.2f}", f"{stats.max:.2f}", book)
    console.print(table)
    memory = {str(record.get("memory_source", "peak RSS of the runner")) for record in result.generations}
    console.print(f"peak RAM: {result.peak_rss_bytes / 2**20:,.1f} MB ({', '.join(sorted(memory))})   "
                  f"CPU temperature: {result.system.temperature()}   throttling: {result.system.throttling()}", highlight=False)
    console.print(f"timing: {', '.join(sorted({str(r.get('timing')) for r in result.generations}))}; results: {result.results_path}", highlight=False)
    if result.plot is not None:
        console.print(f"plot: {result.plot}", highlight=False)


def parse_frame_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not WIDTHxHEIGHT (e.g. 320x240)") from None
    if not (16 <= width <= 4096 and 16 <= height <= 4096):
        raise click.BadParameter(f"{text} is outside 16x16 .. 4096x4096")
    return width, height


@click.command("capture-pi", hidden=True)
@click.argument("board")
@ssh_options
@click.option("--label", required=True)
@click.option("--count", type=click.IntRange(1), default=10, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("captures"), show_default=True)
@click.option("--name")
@click.option("--interval-ms", type=click.IntRange(0, 3_600_000), default=0)
@click.option("--frame-size", default="320x240", show_default=True, help="Camera frame WIDTHxHEIGHT.")
def capture_pi_command(board: str, host: str, ssh_port: int | None, identity: Path | None, known_hosts: Path | None,
                       ssh_config: Path | None, accept_new_host_key: bool, remote_dir: str | None, remote_python: str | None,
                       no_venv: bool | None, label: str, count: int, out_dir: Path, name: str | None, interval_ms: int,
                       frame_size: str) -> None:
    """`kit capture PI --sensor camera`: frames of the Pi camera into OUT/LABEL/ (reached from `kit capture`)."""
    from kit.device.pi_camera import capture_pi

    target = make_target(host, ssh_port, identity, known_hosts, ssh_config, accept_new_host_key)
    # capture runs Picamera2 with the Pi's system python3 (or --remote-python), never inside kit's venv
    python = RemotePython(remote_python, use_venv=False) if remote_python else None
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err_console, transient=True) as progress:
        task = progress.add_task(f"camera of {host} -> {out_dir / label}", total=count)
        summary = capture_pi(board, target, label, out_dir, count, frame=parse_frame_size(frame_size), name=name,
                             interval_ms=interval_ms, layout=RemoteLayout(remote_dir) if remote_dir else None, python=python,
                             on_frame=lambda done, path: progress.update(task, completed=done))
    mean = sum(summary.capture_ms) / len(summary.capture_ms)
    console.print(f"{len(summary.files)} frame(s) in {out_dir / label} ({frame_size}, {mean:.1f} ms per capture on the Pi)", highlight=False)


@click.command("run-pi", hidden=True)
@click.argument("board")
@click.argument("lab")
@ssh_options
@click.option("--frames", type=click.IntRange(1), default=100, show_default=True)
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--threads", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--frame-size", default="320x240", show_default=True, help="Camera frame WIDTHxHEIGHT.")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--plain", is_flag=True)
def run_pi_command(board: str, lab: str, host: str, ssh_port: int | None, identity: Path | None, known_hosts: Path | None,
                   ssh_config: Path | None, accept_new_host_key: bool, remote_dir: str | None, remote_python: str | None,
                   no_venv: bool | None, frames: int, model: Path | None, threads: int, frame_size: str,
                   results_dir: Path | None, plain: bool) -> None:
    """`kit run PI LAB`: the deployed lab on the Pi camera's frames, one line per frame (reached from `kit run`)."""
    from kit.catalog import get_lab
    from kit.device.pi_camera import run_pi

    target = make_target(host, ssh_port, identity, known_hosts, ssh_config, accept_new_host_key)

    def show(record: dict[str, Any]) -> None:
        scores = " ".join(f"{value:.2f}" for value in record["scores"])
        if "objects" in record:  # a detector: what it found, centroids in grid cells
            scores = f"{record['object_count']} object(s): " + ", ".join(
                f"{o['label_name']} at ({o['row']:.1f}, {o['col']:.1f}) {o['score']:.2f}" for o in record["objects"])
        console.print(f"{record['index']:5d} {record['label_name']:12s} {scores}  capture {record['capture_ms']:.1f} ms, "
                      f"pre-processing {record['preprocess_ms']:.1f} ms, inference {record['inference_ms']:.1f} ms", highlight=False)

    summary = run_pi(board, target, get_lab(lab), frames, model=model, frame=parse_frame_size(frame_size),
                     threads=threads, results_dir=results_dir, on_record=show)
    console.print(f"{len(summary.records)} frames ({summary.status}); results: {summary.results_path}", highlight=False)


@click.command("validate-pi", hidden=True)
@click.argument("board")
@click.argument("lab")
@ssh_options
@click.option("--limit", type=click.IntRange(1), default=None)
@click.option("--data-size", default=None)
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--threads", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def validate_pi_command(board: str, lab: str, host: str, ssh_port: int | None, identity: Path | None, known_hosts: Path | None,
                        ssh_config: Path | None, accept_new_host_key: bool, remote_dir: str | None, remote_python: str | None,
                        no_venv: bool | None, limit: int | None, data_size: str | None, model: Path | None, threads: int,
                        as_json: bool) -> None:
    """`kit validate PI LAB`: the lab's test set with LiteRT on the Pi (reached from `kit validate`)."""
    from kit.device.pi_validate import validate_pi

    target = make_target(host, ssh_port, identity, known_hosts, ssh_config, accept_new_host_key)
    note = (lambda message: None) if as_json else (lambda message: err_console.print(f"[dim]{message}[/]", highlight=False))
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err_console,
                  disable=as_json, transient=True) as progress:
        task = progress.add_task(f"validate {lab} on {host}", total=None)
        report = validate_pi(board, target, lab, limit=limit, size=data_size, model=model, threads=threads, note=note,
                             progress=lambda done, total: progress.update(task, completed=done, total=total))
    if as_json:
        click.echo(json.dumps(report.as_dict() | {"reference": "LiteRT on the laptop"}, indent=2))
        return
    accuracy = "n/a (no labels)" if report.accuracy is None else f"{100 * report.accuracy:.1f}%"
    console.print(f"[bold]{report.board}[/] ({host}) {report.lab}: {report.samples} test samples with LiteRT on the Pi, "
                  f"{report.accuracy_kind} {accuracy}", highlight=False)
    colour = "green" if report.bit_exact else "yellow"
    console.print(f"[{colour}]{report.test_set_text}[/]", highlight=False)
    console.print(f"results: {report.results_file}", highlight=False)


commands = [deploy_command, bench_pi_command, capture_pi_command, run_pi_command, validate_pi_command]
