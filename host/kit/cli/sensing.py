"""`kit capture` and `kit run`: the student's loop on a running board (thin: the work is in
kit.device.capture and kit.device.live)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kit.errors import KitError

console = Console()
err_console = Console(stderr=True)


def _lab(name: str | None):
    if name is None:
        return None
    from kit.catalog import get_lab

    return get_lab(name)


def _over_ssh(board: str) -> bool:
    """A Linux board (Raspberry Pi): its sensors are read over SSH, with the ssh options."""
    from kit.targets import open_target

    return open_target(board).benched_over_ssh


def _refuse_extra(ctx: click.Context, board: str) -> None:
    if ctx.args:
        raise click.UsageError(f"unknown option(s) {' '.join(ctx.args)} for {board} (SSH options are only for Raspberry Pi boards)")


@click.command("capture", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("board")
@click.option("--sensor", type=click.Choice(["mic", "microphone", "imu", "camera"]), required=True,
              help="Which of the board's sensors to record.")
@click.option("--label", required=True, help="The class the recording shows: files go to DIR/LABEL/.")
@click.option("--seconds", type=click.FloatRange(min=0, min_open=True), help="How long to record (default 10 s).")
@click.option("--count", type=click.IntRange(1), help="How many samples (camera: frames) to record instead.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("captures"),
              show_default=True, help="The dataset folder (`kit train LAB --source DIR` reads it).")
@click.option("--source", type=click.Path(exists=True, path_type=Path),
              help="Twins: the recording the virtual sensor plays (WAV, CSV, or an image folder).")
@click.option("--lab", "lab_name", help="Record in this lab's format (rate, axes, frame size).")
@click.option("--rate", type=click.IntRange(1, 4_000_000), help="Samples (camera: frames) a second.")
@click.option("--clip-seconds", type=click.FloatRange(min=0, min_open=True),
              help="Seconds per file (default: 1 s audio, 10 s IMU; a camera writes one file per frame).")
@click.option("--name", help="File name prefix (default: the label).")
@click.option("--preview", is_flag=True, help="Show a level meter / sample values / frame size while recording.")
@click.option("--port", help="The board's serial port or URL (default: the board kit flashed).")
@click.pass_context
def capture_command(ctx: click.Context, board: str, sensor: str, label: str, seconds: float | None, count: int | None,
                    out_dir: Path, source: Path | None, lab_name: str | None, rate: int | None, clip_seconds: float | None,
                    name: str | None, preview: bool, port: str | None) -> None:
    """Record BOARD's sensor into class folders for `kit train LAB --source DIR`.

    A Raspberry Pi records its camera (Picamera2) over SSH: add `--host USER@HOST` and the ssh
    options of `kit deploy`, and `--frame-size WxH` (default 320x240)."""
    from kit.device.capture import CaptureStopped, capture, shape_for
    from kit.targets import connect

    sensor = "microphone" if sensor == "mic" else sensor
    if seconds is not None and count is not None:
        raise KitError("--seconds and --count both say how long to record", hint="pass one of them")
    if _over_ssh(board):
        _capture_on_pi(board, sensor, label, seconds, count, out_dir, rate, name, source, port, ctx.args)
        return
    _refuse_extra(ctx, board)
    lab = _lab(lab_name)
    shape = shape_for(sensor, lab, rate)
    total = count or max(1, int(round((seconds or 10.0) * shape.rate_hz)))
    clip = None if clip_seconds is None else max(1, int(round(clip_seconds * shape.rate_hz)))
    axes = [str(a) for a in (lab.dataset.model_dump().get("axes") or [])] if lab is not None else None
    unit = "frames" if sensor == "camera" else "samples"
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} " + unit),
                        TimeElapsedColumn(), TextColumn("{task.fields[preview]}"), console=err_console)
    task = progress.add_task(f"{sensor} -> {out_dir / label}", total=total, preview="")

    def on_progress(done: int, _total: int, text: str | None) -> None:
        progress.update(task, completed=done, preview=text if preview and text else "")

    with connect(board, port=port) as session:
        try:
            with progress:
                summary = capture(session, sensor, label, out_dir, total, shape, source=source, clip_samples=clip,
                                  name=name, axes=axes, on_progress=on_progress)
        except CaptureStopped as stopped:
            for path in stopped.files[-3:]:
                err_console.print(f"kept {path}", highlight=False)
            raise
    console.print(f"{len(summary.files)} file(s) in {out_dir / label}: {summary.samples} {unit} at "
                  f"{shape.rate_hz} {unit}/s, {summary.dropped} dropped, {summary.lost_frames} frames lost on the link "
                  f"({summary.wall_s:.1f} s)", highlight=False)


def _capture_on_pi(board: str, sensor: str, label: str, seconds: float | None, count: int | None, out_dir: Path,
                   rate: int | None, name: str | None, source: Path | None, port: str | None, ssh_args: list[str]) -> None:
    """`kit capture PI --sensor camera ...` is `kit capture-pi` with the ssh options."""
    from kit.cli.deploy import capture_pi_command

    if sensor != "camera":
        raise KitError(f"{board} records its camera only (--sensor camera)", hint="record sound and motion on a microcontroller board")
    if source is not None or port is not None:
        raise click.UsageError(f"{board} is reached over SSH: --source and --port are for microcontroller boards")
    per_second = rate or 1
    frames = count or max(1, int(round((seconds or 10.0) * per_second)))
    args = [board, "--label", label, "--count", str(frames), "--out", str(out_dir),
            "--interval-ms", str(int(1000 / per_second) if rate else 0), *(["--name", name] if name else []), *ssh_args]
    capture_pi_command.main(args=args, prog_name="kit capture", standalone_mode=False)


def _live_view(labels: list[str], record, timer_hz: int, threshold: float | None = None) -> Table:
    table = Table(title=f"top: {labels[record.label]}  (window {record.index})", show_header=False, expand=False)
    table.add_column("label")
    table.add_column("score", justify="right")
    table.add_column("bar", min_width=30)
    if threshold is not None:  # an anomaly lab: one reconstruction error against the card's threshold
        score = record.scores[0]
        bar = "#" * int(max(0.0, min(1.0, score / (2 * threshold))) * 30)
        table.add_row("anomaly score", f"{score:.3f}", bar, style="bold red" if record.label else "bold green")
        table.add_row("threshold", f"{threshold:.3f}", "#" * 15)
    for found in record.objects or []:  # a detector: each object it found
        table.add_row(f"{labels[found.label]} at ({found.row:.1f}, {found.col:.1f})", f"{found.score:.3f}",
                      "#" * int(max(0.0, min(1.0, found.score)) * 30), style="bold yellow")
    for index, (name, score) in enumerate(zip(labels, record.scores) if threshold is None else ()):
        bar = "#" * int(max(0.0, min(1.0, score)) * 30)
        style = "bold green" if index == record.label else ""
        table.add_row(name, f"{score:.3f}", bar, style=style)
    if record.kmeans_score is not None:  # a classifier with K-means: distance to the nearest centroid
        table.add_row("anomaly (K-means)", f"{record.kmeans_score:.3f}", "ANOMALY" if record.anomalous else "known motion",
                      style="bold red" if record.anomalous else "")
    hz = max(1, timer_hz)
    table.caption = (f"features {record.feature_ticks * 1000 / hz:.2f} ms, inference {record.infer_ticks * 1000 / hz:.2f} ms"
                     f", dropped {record.dropped}")
    return table


@click.command("run", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("board")
@click.argument("lab", required=False)
@click.option("--source", type=click.Path(exists=True, path_type=Path),
              help="Twins: a WAV (continuous audio) or a folder of WAVs / CSVs / images, each fed in turn.")
@click.option("--seconds", type=click.FloatRange(min=0, min_open=True), help="Stop after this long (real boards).")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where the run's JSONL goes (default: kit's results folder).")
@click.option("--plain", is_flag=True, help="One line per window instead of the live view.")
@click.option("--port", help="The board's serial port or URL (default: the board kit flashed).")
@click.pass_context
def run_command(ctx: click.Context, board: str, lab: str | None, source: Path | None, seconds: float | None,
                results_dir: Path | None, plain: bool, port: str | None) -> None:
    """Classify BOARD's sensor live with the lab it was flashed with (Ctrl-C stops it).

    A Raspberry Pi classifies its camera's frames with the lab `kit deploy` put there: add
    `--host USER@HOST` (and the ssh options of `kit deploy`), `--frames N`, `--frame-size WxH`."""
    from kit.device.live import run_live, running_labels, running_threshold
    from kit.targets import connect

    if _over_ssh(board):
        if lab is None or source is not None or port is not None or seconds is not None:
            raise click.UsageError(f"`kit run {board} LAB --host USER@HOST [--frames N]`: name the lab; "
                                   "--source, --port and --seconds are for microcontroller boards")
        from kit.cli.deploy import run_pi_command

        extra = [*(["--results-dir", str(results_dir)] if results_dir else []), *(["--plain"] if plain else [])]
        run_pi_command.main(args=[board, lab, *extra, *ctx.args], prog_name="kit run", standalone_mode=False)
        return
    _refuse_extra(ctx, board)

    with connect(board, port=port) as session:
        lab_name = lab or (session.state.lab if session.state is not None else None)
        if not lab_name:
            raise KitError(f"which lab runs on {board}?", hint=f"pass it: `kit run {board} LAB`")
        spec = _lab(lab_name)
        labels = running_labels(session, spec)
        timer_hz = session.client.info.timer_hz if session.client.info is not None else (
            1000 if getattr(session.client, "protocol", "kit") == "sscma" else 1)  # SSCMA reports ms
        threshold = running_threshold(session) if spec.task == "anomaly" else None
        if plain or not console.is_terminal:
            def show(record) -> None:
                scores = " ".join(f"{s:.2f}" for s in record.scores)
                if threshold is not None:
                    scores = f"score {record.scores[0]:.3f} (threshold {threshold:.3f})"
                if record.kmeans_score is not None:
                    scores += f"  anomaly {record.kmeans_score:.3f}{' ANOMALY' if record.anomalous else ''}"
                if record.objects is not None:  # a detector: what it found, centroids in grid cells
                    scores = f"{record.object_count} object(s): " + ", ".join(
                        f"{labels[o.label]} at ({o.row:.1f}, {o.col:.1f}) {o.score:.2f}" for o in record.objects)
                console.print(f"{record.index:5d} {labels[record.label]:12s} {scores}", highlight=False)

            summary = run_live(session, spec, source=source, seconds=seconds, on_record=show, results_dir=results_dir)
        else:
            with Live(Group(), console=console, refresh_per_second=8) as live:
                summary = run_live(session, spec, source=source, seconds=seconds, results_dir=results_dir,
                                   on_record=lambda r: live.update(_live_view(labels, r, timer_hz, threshold)))
    console.print(f"{len(summary.records)} windows ({summary.status}); results: {summary.results_path}", highlight=False)


commands = [capture_command, run_command]
