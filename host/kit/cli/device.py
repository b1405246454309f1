"""`kit flash`, `kit bench`, `kit validate`, `kit stop`: the device runner's commands (thin: the
work is in kit.targets (flash, stop) and kit.device (bench, validate))."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console()
err_console = Console(stderr=True)


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err_console, disable=quiet, transient=True,
    )


class _PlainProgress:
    """Progress as plain stderr lines when stderr is not a terminal (CI logs, pipes), where a
    live bar shows nothing: a line per ~10% of the work, and at least every 10 s."""

    def __init__(self) -> None:
        self.shown: dict[str, tuple[int, float]] = {}

    def update(self, what: str, done: int, total: int | None) -> None:
        import time

        last_done, last_time = self.shown.get(what, (-1, 0.0))
        step = max(1, (total or 0) // 10)
        now = time.monotonic()
        if done == last_done or (done - last_done < step and now - last_time < 10 and done != total):
            return
        self.shown[what] = (done, now)
        click.echo(f"{what}: {done}" + (f"/{total}" if total else ""), err=True)


def _reporter(quiet: bool):
    """(a rich Progress or None, update(what, done, total), note(text)) for long commands."""
    if quiet:
        return None, (lambda *_: None), (lambda _text: None)
    if err_console.is_terminal:
        progress = _progress(False)
        tasks: dict[str, int] = {}

        def update(what: str, done: int, total: int | None) -> None:
            if what not in tasks:
                tasks[what] = progress.add_task(what, total=total)
            progress.update(tasks[what], completed=done, total=total)

        return progress, update, (lambda text: progress.console.print(text))
    plain = _PlainProgress()
    return None, plain.update, (lambda text: click.echo(text, err=True))


@click.command("flash")
@click.argument("board")
@click.argument("lab", required=False)
@click.option("--emulate", is_flag=True, help="Run on the board's emulated twin (QEMU) with the real board's limits.")
@click.option("--model", "model", type=click.Path(dir_okay=False, path_type=Path), help="An int8 .tflite to flash instead of the lab's model.")
@click.option("--force", is_flag=True, help="Rebuild the firmware even if a cached build exists; accept a port whose "
              "USB id belongs to another board.")
@click.option("--firmware", "firmware", type=click.Path(exists=True, path_type=Path),
              help="Flash this PREBUILT ESP32 firmware (folder with bootloader.bin, partitions.bin, firmware.bin "
              "[, boot_app0.bin], or a manifest.json) with esptool instead of building.")
@click.option("--port", help="A real board's serial port (default: found by its USB id), or a socket:// / rfc2217:// "
              "URL for --firmware.")
@click.option("--engine", type=click.Choice(["kit", "tflm"]), default="kit", show_default=True,
              help="Real boards: run the model on kit's runtime or on TensorFlow Lite Micro.")
@click.option("--baud", type=click.IntRange(9600), help="esptool baud rate for --firmware (default: the board catalog's).")
@click.option("--no-verify", is_flag=True, help="With --firmware: accept parts esptool could not MD5-check (secure download mode).")
@click.option("--model-id", "model_id", help="The id the board reports in `m-model-[...]` (default: the MLPerf Tiny id "
              "kws01/vww01/ic01/ad01/sww01 for a lab or MLPerf reference model that has one, else the lab or file name).")
def flash_command(board: str, lab: str | None, emulate: bool, model: Path | None, force: bool,
                  firmware: Path | None = None, port: str | None = None, baud: int | None = None,
                  no_verify: bool = False, engine: str = "kit", model_id: str | None = None) -> None:
    """Compile LAB's model for BOARD, check it fits, build, upload and verify it by handshake.

    The model is --model, else the lab's reference model in models/LAB, else the cached or
    freshly trained one (kit train LAB). For an emulated board (kind "emulated" in
    `kit boards`, or a real board with --emulate) the emulator KEEPS RUNNING IN THE BACKGROUND
    after this command, so `kit bench` and `kit validate` can use it, until `kit stop BOARD`.
    (`kit validate BOARD LAB` on a board that is not running starts it itself and stops it
    when it ends.) A real board is built with PlatformIO and uploaded the way its board file
    says (`pio run -t upload`, or kit's esptool writer for ESP32 boards) on its detected port;
    --force also accepts a port whose USB id belongs to another board. With --firmware, a
    prebuilt ESP32 firmware is written with esptool (LAB only labels it): bootloader,
    partition table and app at their offsets, each MD5-verified.
    """
    if firmware is not None:
        if emulate or model is not None:
            raise click.UsageError("--firmware writes a prebuilt image to the real board; drop --emulate / --model")
        _flash_prebuilt(board, lab or "firmware", firmware, port, baud, verify=not no_verify, force=force)
        return
    if lab is None and model is None:
        raise click.UsageError("name the LAB whose model to flash (`kit labs` lists them), or give --model FILE.tflite")
    from kit.targets import flash

    result = flash(board, lab, emulate=emulate, model=model, force=force, log=err_console.print, port=port,
                   engine=engine, model_id=model_id)
    console.print(
        f"[green]flashed[/] {result.target.label}: {lab or Path(str(model)).name} model {result.sha256[:12]} "
        f"as {result.info.get('model', '?')} (handshake ok) on {result.port}"
    )
    if result.target.emulated:
        console.print(f"the emulator keeps running in the background (pid {result.pid}); `kit stop {board}` ends it")


def _flash_prebuilt(board: str, lab: str, firmware: Path, port: str | None, baud: int | None, verify: bool,
                    force: bool = False) -> None:
    """`kit flash BOARD LAB --firmware DIR`: esptool writes the prebuilt parts, with a progress bar."""
    from rich.progress import DownloadColumn, TransferSpeedColumn
    from rich.table import Table

    from kit.upload.esptool import FlashProgress, chip_name, flash_firmware

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(f"esptool {board}", total=None)

        def advance(update: FlashProgress) -> None:
            progress.update(task, completed=update.done_bytes, total=update.total_bytes,
                            description=f"writing {update.part.path.name} at 0x{update.part.offset:x}")

        result = flash_firmware(board, firmware, port, baud=baud, verify=verify, progress=advance, log=err_console.print,
                                force_port=force)
    table = Table(title=f"{board}: prebuilt {lab} firmware on {result.port}")
    for heading in ("offset", "file", "bytes", "MD5 verified"):
        table.add_column(heading, justify="right" if heading == "bytes" else "left")
    for part in result.parts:
        table.add_row(f"0x{part.offset:06x}", part.path.name, f"{part.size:,}", "yes" if part.offset in result.verified else "no")
    console.print(table)
    console.print(f"[green]flashed[/] {result.total_bytes:,} bytes to the {chip_name(result.chip)} in {result.seconds:.1f} s; "
                  "the board was reset and runs the new firmware")


@click.command("bench", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("board", required=False)
@click.option("--runs", default=100, show_default=True, type=click.IntRange(1), help="Timed inferences.")
@click.option("--warmup", default=5, show_default=True, type=click.IntRange(0), help="Untimed inferences first.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write one row per run to this CSV file.")
@click.option("--port", help="Serial port or URL of the board (real boards: default found by USB id; any MLPerf Tiny or kit firmware).")
@click.option("--input-bytes", type=click.IntRange(1, 16 * 1024 * 1024),
              help="Input size for an MLPerf-only board running an unknown model.")
@click.option("--no-plot", is_flag=True, help="Skip the PNG plot of the latency distribution and layers.")
@click.option("--force", is_flag=True, help="Real boards: accept a --port whose USB id belongs to another board.")
@click.option("--meter", type=click.Choice(["modelled", "lpm01a", "ppk2", "js220", "ina219", "ina226"]),
              help="Measure power with this meter while benching: `modelled` (a trace from the instruction "
              "counts and the board file's power: the twins), `lpm01a` (ST LPM01A PowerShield on --meter-port), "
              "`ppk2` (Nordic PPK2 on --meter-port), `js220` (Joulescope JS110/JS220 on USB), `ina219`/`ina226` (the board's own current sensor, read by the firmware; virtual on the twins).")
@click.option("--meter-port", help="The meter's serial port (LPM01A: its ST-LINK virtual COM port; PPK2: its data port).")
@click.option("--sync", type=click.Choice(["trigger", "serial"]),
              help="How inference windows are found in the meter's trace: `trigger` (the board's timestamp pin "
              "wired to the meter; default when the board file names one) or `serial` (host timestamps, "
              "error bound shown).")
@click.pass_context
def bench_command(ctx: click.Context, board: str | None, runs: int, warmup: int, as_json: bool,
                  csv_path: Path | None, port: str | None, input_bytes: int | None, no_plot: bool,
                  force: bool = False, meter: str | None = None, meter_port: str | None = None,
                  sync: str | None = None) -> None:
    """Measure inference latency on BOARD: statistics, per-layer times, throughput, energy.

    Every run is written to a results file (under KIT_HOME/results) the moment it arrives,
    so an interrupted bench keeps what it measured. On emulated boards latency is an exact
    instruction count (QEMU -icount) shown also as an ESTIMATED time at the real board's
    clock; energy is MODELLED from the board's catalog active power.

    With --meter, power is measured while it runs (one inference per command, idle between):
    energy per inference, average, peak and idle power, every sample in
    KIT_HOME/results/*.power.csv as it arrives and a plot of the current trace with the
    inference windows marked. `--meter modelled` on a twin draws the trace from the
    instruction counts and is labelled modelled; a real meter's figures are labelled measured.

    With no BOARD, `kit bench --port PORT` measures any device on PORT that speaks the MLPerf
    Tiny protocol (a board kit does not know): latency as the device measured it, no energy.

    A Linux board (a Raspberry Pi: kind "linux" in `kit boards`) is benched over SSH with the same
    statistics and files: add `--host USER@HOST` and the options of `kit bench-pi`
    (--lab, --threads, --ssh-port, --identity, --known-hosts, ...).
    """
    if board is None and port is None:
        raise click.UsageError("name a BOARD, or pass --port PORT to measure any MLPerf Tiny device")
    if board is not None and _is_linux_board(board):
        if port is not None or input_bytes is not None or force or meter is not None:
            raise click.UsageError(f"{board} is benched over SSH: --port, --input-bytes, --force and --meter "
                                   "are for microcontroller boards (use --host USER@HOST and --ssh-port)")
        from click.core import ParameterSource

        given = {name: ctx.get_parameter_source(name) != ParameterSource.DEFAULT for name in ("runs", "warmup")}
        _bench_linux_board(board, runs if given["runs"] else None, warmup if given["warmup"] else None, as_json,
                           csv_path, ctx.args, no_plot)
        return
    if ctx.args:
        raise click.UsageError(f"unknown option(s) {' '.join(ctx.args)} (SSH options are only for Raspberry Pi boards)")
    from kit.device.flow import bench

    from contextlib import nullcontext

    live, update, _ = _reporter(as_json)
    with live if live is not None else nullcontext():
        report = bench(board, runs=runs, warmup=warmup, port=port, input_bytes=input_bytes, csv_path=csv_path,
                       progress=lambda done: update(f"bench {board or port} (runs)", done, runs), force=force,
                       meter=meter, meter_port=meter_port, sync=sync)
    if not no_plot:
        from kit.report.plots import plot_bench_report, plot_power_trace

        report.plot = plot_bench_report(report)
        if report.energy is not None and report.energy.meter:
            report.power_plot = plot_power_trace(report)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    from kit.report.console import render_bench

    render_bench(report, console)
    if csv_path:
        console.print(f"csv: {csv_path}")


def _is_linux_board(board: str) -> bool:
    """Benched over SSH (its target says so), not over a serial link."""
    from kit.targets import open_target

    return open_target(board).benched_over_ssh


def _bench_linux_board(board: str, runs: int | None, warmup: int | None, as_json: bool, csv_path: Path | None,
                       ssh_args: list[str], no_plot: bool = False) -> None:
    """`kit bench LINUX-BOARD --host ...` is `kit bench-pi` with the shared options; --runs and
    --warmup only when given, so bench-pi's defaults apply (100 inferences, or 3 SLM generations)."""
    from kit.cli.deploy import bench_pi_command

    args = [board, *(["--runs", str(runs)] if runs is not None else []),
            *(["--warmup", str(warmup)] if warmup is not None else []), *ssh_args]
    if as_json:
        args.append("--json")
    if csv_path is not None:
        args += ["--csv", str(csv_path)]
    if no_plot:
        args.append("--no-plot")
    bench_pi_command.main(args=args, prog_name="kit bench", standalone_mode=False)


@click.command("validate", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("board")
@click.argument("lab")
@click.option("--limit", type=click.IntRange(1), help="Use only N test samples, spread evenly over the test split (faster).")
@click.option("--emulate", is_flag=True, help="BOARD is a real board: validate on its emulated twin.")
@click.option("--port", help="Serial port or URL of a board running kit firmware.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--data-size", help="Generate a smaller dataset (tiny, small, medium or a fraction) for a quick check.")
@click.option("--force", is_flag=True, help="Real boards: accept a --port whose USB id belongs to another board.")
@click.option("--model", "model", type=click.Path(dir_okay=False, path_type=Path),
              help="The .tflite the board runs (e.g. the one `kit train --source` wrote); its card gives the classes.")
@click.option("--source", type=click.Path(file_okay=False, path_type=Path),
              help="Your own folder (one sub-folder per class): score the held-out files kit train recorded "
                   "in the model's card, else every file in it.")
@click.pass_context
def validate_command(ctx: click.Context, board: str, lab: str, limit: int | None, emulate: bool, port: str | None,
                     as_json: bool, data_size: str | None, force: bool = False, model: Path | None = None,
                     source: Path | None = None) -> None:
    """Run LAB's held-out test set on BOARD: on-device accuracy and bit-exactness against TFLM.

    Uses the board kit flashed (it must run LAB's model, or --model); an emulated board that is
    not running is flashed and started for this command and stopped at its end. With --source DIR
    the test set is your own folder: the held-out files the model's card lists, else all of DIR.

    A Raspberry Pi runs the test set with LiteRT over SSH: add `--host USER@HOST` and the ssh
    options of `kit deploy` (and `--threads N`); outputs are compared with LiteRT on the laptop.
    A camera board on Seeed's SSCMA firmware (the Grove Vision AI V2) classifies --limit
    frames (default 20) from its own camera and sends each frame back; kit scores the same
    frames with TFLM and reports top-1 agreement and score differences (not bit-exact: JPEG).
    """
    from contextlib import nullcontext

    if _is_linux_board(board):
        if emulate or port is not None or force or source is not None:
            raise click.UsageError(f"{board} is validated over SSH: --emulate, --port, --force and --source are for "
                                   "microcontroller boards")
        from kit.cli.deploy import validate_pi_command

        args = [board, lab, *(["--limit", str(limit)] if limit else []), *(["--data-size", data_size] if data_size else []),
                *(["--model", str(model)] if model else []), *(["--json"] if as_json else []), *ctx.args]
        validate_pi_command.main(args=args, prog_name="kit validate", standalone_mode=False)
        return
    if ctx.args:
        raise click.UsageError(f"unknown option(s) {' '.join(ctx.args)} (SSH options are only for Raspberry Pi boards)")

    from kit.device.flow import validate_lab

    live, update, note = _reporter(as_json)
    with live if live is not None else nullcontext():
        report = validate_lab(
            board, lab, limit=limit, emulate=emulate, port=port, size=data_size, force=force, note=note,
            model=model, source=source,
            progress=lambda done, total=None: update(f"validate {board} {lab} (samples)", done, total),
            data_progress=lambda done, total: update(f"generating {lab} data", done, total),
        )
    from kit.device.sscma_validate import FrameValidateReport

    if isinstance(report, FrameValidateReport):
        click.echo(json.dumps(report.as_dict(), indent=2)) if as_json else _render_frames(report)
        return
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        from kit.report.console import render_validate

        render_validate(report, console)
    if not report.bit_exact:
        raise SystemExit(1)


def _render_frames(report) -> None:
    """A camera board's validate: agreement with TFLM on the board's own frames."""
    from rich.table import Table

    table = Table(title=f"{report.board} {report.lab}: board vs TFLM on the board's {report.frames} camera frames")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("top-1 agreement", f"{report.agreement:.1%} ({report.agreed} of {report.frames})")
    table.add_row("frames without a class above the board's threshold", str(report.board_without_class))
    table.add_row("|board - host| score of the board's class (0-100)",
                  f"mean {report.mean_abs_score_diff:.2f}, max {report.max_abs_score_diff}")
    console.print(table)
    console.print(f"{report.note}; {report.preprocessing_note}")
    console.print(f"results: {report.results_file}; frames: {report.frames_dir}")


@click.command("stop")
@click.argument("board", required=False)
@click.option("--all", "stop_all", is_flag=True, help="Stop every board kit started.")
def stop_command(board: str | None, stop_all: bool) -> None:
    """Stop an emulated board started by `kit flash` (or all of them)."""
    from kit.targets import stop

    if not board and not stop_all:
        raise click.UsageError("name a BOARD or pass --all")
    stopped = stop(None if stop_all else board)
    for name in stopped:
        console.print(f"stopped {name}")
    if not stopped:
        console.print("nothing to stop: no emulated board started by kit is running"
                      + ("" if stop_all else f" as {board}"))


commands = [flash_command, bench_command, validate_command, stop_command]
