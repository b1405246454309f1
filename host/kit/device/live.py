"""`kit run`: the board classifies its own sensor live (kit-run), and every record it prints is
range-checked and written to a results JSONL file the moment it arrives.

On a twin the virtual sensor plays a recording: one WAV (continuous audio) or a folder of
WAVs / CSVs / images, each fed in turn (one kit-run per file). On a real board kit-run reads
the board's own sensor until `--seconds` have passed or Ctrl-C (then kit-cancel stops it).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from kit.bench.results import ResultsFile
from kit.catalog.models import Lab
from kit.device.capture import recordings_folder
from kit.device.recordings import IMAGE_SUFFIXES, SensorShape, raw_recording
from kit.errors import DeviceError, KitError
from kit.link.base import LinkTimeout
from kit.protocol.mlperf import ERROR_RE, MAX_U32, ProtocolError, device_number, is_ready
from kit.protocol.sensing import LIVE_RE, RUN_END_RE, RUN_START_RE

LINE_TIMEOUT_S = 30.0
SOURCE_SUFFIXES = {"microphone": (".wav",), "imu": (".csv",), "camera": IMAGE_SUFFIXES}
MAX_SCORE = 1e6
MAX_GRID = 32                 # a detection grid's rows or columns at most (kit_detect.h's 1024 cells)
RUN_BUDGET_S = 60.0          # a twin's kit-run must end within this plus ...
RUN_BUDGET_PER_SECOND = 10.0  # ... this many wall seconds per second of recording


@dataclass(frozen=True)
class LiveRecord:
    """One inference of kit-run (one m-kit-live-[...] line)."""

    index: int
    label: int
    feature_ticks: int
    infer_ticks: int
    dropped: int
    end_sample: int
    output: bytes             # the model's raw int8 output of this window
    scores: list[float]       # dequantised, averaged over the lab's average_windows; anomaly labs:
    source: str = ""          # [the board's reconstruction error] (label 1 = above the card's threshold)
    kmeans_score: float | None = None  # a lab with K-means: the board's distance to the nearest centroid
    anomalous: bool | None = None      # ... and whether it is above the card's K-means threshold
    objects: list[DetectedObject] | None = None  # a detection lab: what the board decoded from its grid
    object_count: int = 0                        # ... how many there were (at most MAX_LISTED are listed)


@dataclass(frozen=True)
class DetectedObject:
    """One object a detector's board found: class, centroid in grid cells, best cell's score."""

    label: int
    row: float
    col: float
    score: float


@dataclass
class LiveSummary:
    records: list[LiveRecord] = field(default_factory=list)
    results_path: Path | None = None
    status: str = "ended"
    timer_hz: int = 0


def parse_live(line: str, labels: int, outputs: int | None = None, score_count: int | None = None) -> LiveRecord | None:
    """An m-kit-live-[...] line, every number range-checked; None for other lines. A classifier
    prints one output and one score per label; an anomaly lab `outputs` values and one score."""
    match = LIVE_RE.match(line)
    if match is None:
        return None
    index, label, feature, infer, dropped, end = (device_number(v, f"kit-run {name}") for v, name in zip(
        match.groups()[:6], ("index", "label", "feature ticks", "inference ticks", "dropped", "end sample")))
    output = bytes.fromhex(match.group(7)) if len(match.group(7)) % 2 == 0 else b""
    try:
        scores = [float(value) for value in match.group(8).split(";")]
    except ValueError:
        scores = []
    if label >= labels or len(output) != (outputs or labels) or len(scores) != (score_count or labels) or \
            not all(-MAX_SCORE <= s <= MAX_SCORE for s in scores) or max(index, dropped) > MAX_U32:
        raise ProtocolError(f"a kit-run record does not fit the lab's {labels} labels: {line[:120]!r}",
                            hint="the line was garbled or the firmware runs another lab; flash it again")
    kmeans = None if match.group(9) is None else float(match.group(9))
    if kmeans is not None and not kmeans <= MAX_SCORE:
        raise ProtocolError(f"a kit-run record's K-means score is out of range: {line[:120]!r}",
                            hint="the line was garbled; run again")
    anomalous = None if match.group(10) is None else match.group(10) == "1"
    objects, count = _objects(match.group(11), match.group(12), labels, line)
    return LiveRecord(index, label, feature, infer, dropped, end, output, scores, kmeans_score=kmeans, anomalous=anomalous,
                      objects=objects, object_count=count)


def _objects(count_text: str | None, found: str | None, labels: int, line: str) -> tuple[list[DetectedObject] | None, int]:
    """The objects=N,found=L:ROW:COL:S;... fields, each range-checked (classes >= 1, centroids on
    the grid, scores in 0..1)."""
    if count_text is None:
        return None, 0
    count = device_number(count_text, "kit-run objects")
    objects = []
    for item in filter(None, (found or "").split(";")):
        try:
            label_text, row, col, score = item.split(":")
            detected = DetectedObject(int(label_text), float(row), float(col), float(score))
        except ValueError:
            detected = None
        if detected is None or not 1 <= detected.label < labels or not 0 <= detected.row <= MAX_GRID \
                or not 0 <= detected.col <= MAX_GRID or not 0 <= detected.score <= 1.0:
            raise ProtocolError(f"a kit-run record has an object that cannot be: {item!r} in {line[:120]!r}",
                                hint="the line was garbled or the firmware runs another lab; flash it again")
        objects.append(detected)
    if len(objects) > count or count > MAX_GRID * MAX_GRID:
        raise ProtocolError(f"a kit-run record lists {len(objects)} of {count} objects: {line[:120]!r}",
                            hint="the line was garbled; run again")
    return objects, count


def lab_shape(lab: Lab) -> SensorShape:
    """The lab's sensor format (what kit_lab.h gives the firmware)."""
    sensor = str(lab.sensors[0])
    dataset = lab.dataset.model_dump()
    if sensor == "camera":
        run = lab.run.model_dump() if getattr(lab, "run", None) is not None else {}
        if run.get("frame_size"):
            width, height = (int(v) for v in run["frame_size"])
            channels = int(run.get("frame_channels") or 3)
        else:
            height, width, channels = (int(v) for v in lab.io.input_shape[1:])
        return SensorShape("camera", 1, channels, width, height)
    channels = len(dataset.get("axes") or []) if sensor == "imu" else 1
    return SensorShape(sensor, int(dataset.get("sample_rate_hz") or 0), channels)


def source_files(source: Path, shape: SensorShape) -> list[Path]:
    """One recording, or a folder's recordings in name order (each its own kit-run)."""
    source = Path(source)
    if source.is_dir():
        files = sorted(p for p in source.rglob("*") if p.suffix.lower() in SOURCE_SUFFIXES[shape.sensor])
        if not files:
            raise KitError(f"{source} holds no {'/'.join(SOURCE_SUFFIXES[shape.sensor])} recordings",
                           hint="point --source at the lab's recordings")
        return files
    if not source.is_file():
        raise KitError(f"recording not found: {source}", hint="check the --source path")
    return [source]


def output_values(lab: Lab) -> int:
    """Values of the lab model's output on each record: one per lab label, or an autoencoder's
    whole reconstruction or a detector's whole grid (a student's own classifier has one per
    label of its card instead)."""
    if lab.task not in ("anomaly", "detection"):
        return len(lab.labels)
    values = 1
    for size in lab.io.output_shape[1:]:
        values *= int(size)
    return values


def _detection_fields(record: LiveRecord, label_names: list[str], lab: Lab, source: str, results_path: Path) -> dict:
    """A detection record's objects, and for an image source the frame with them drawn on it
    (beside the results file: <results>.frames/<n>.png)."""
    objects = [{"label": o.label, "label_name": label_names[o.label], "row": o.row, "col": o.col, "score": o.score}
               for o in record.objects or []]
    fields: dict = {"objects": objects, "object_count": record.object_count}
    if source and Path(source).suffix.lower() in IMAGE_SUFFIXES and Path(source).is_file():
        rows, cols = (int(v) for v in lab.io.output_shape[1:3])
        out = Path(results_path).with_suffix(".frames") / f"{Path(source).stem}-{record.index}.png"
        fields["annotated"] = str(draw_detections(Path(source), record.objects or [], label_names, (rows, cols), out))
    return fields


def draw_detections(frame: Path, objects: list[DetectedObject], label_names: list[str], grid: tuple[int, int],
                    out: Path) -> Path:
    """The frame with a ring and the class name at each object's centroid (grid cells mapped
    onto the frame), written as PNG to `out`."""
    from PIL import Image, ImageDraw

    image = Image.open(frame).convert("RGB")
    scale = max(1, 384 // max(image.size))  # small model frames are enlarged to be seen
    image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    draw = ImageDraw.Draw(image)
    radius = max(4, image.width // (2 * grid[1]))
    for found in objects:
        x, y = found.col * image.width / grid[1], found.row * image.height / grid[0]
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=(255, 40, 40), width=2)
        draw.text((x + radius + 2, y - radius), f"{label_names[found.label]} {found.score:.2f}", fill=(255, 255, 0))
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out)
    return out


def running_threshold(session) -> float | None:
    """The anomaly threshold (threshold_int8) on the card of the model the board runs."""
    return _running_card(session).get("threshold_int8")


def _running_card(session) -> dict:
    state = getattr(session, "state", None)
    model_path = getattr(state, "model_path", None) if state is not None else None
    if not model_path:
        return {}
    try:
        card = json.loads(Path(model_path).with_name("card.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return card if isinstance(card, dict) else {}


def running_labels(session, lab: Lab) -> list[str]:
    """The labels of the model the board runs, in output order: its card's (a student's own
    classes come from their folder names), else the lab's."""
    labels = _running_card(session).get("labels")
    if isinstance(labels, list) and labels:
        return [str(label) for label in labels]
    return [str(label) for label in lab.labels]


def run_live(session, lab: Lab, source: Path | None = None, seconds: float | None = None,
             on_record: Callable[[LiveRecord], None] | None = None, results_dir: Path | None = None) -> LiveSummary:
    """Run kit-run on the board of `session`; every record goes to `on_record` and the results file."""
    if getattr(session.client, "protocol", "kit") == "sscma":
        from kit.device.sscma_live import run_sscma_live

        if source is not None:
            raise KitError("--source feeds a twin's virtual sensor; this board reads its own camera",
                           hint="leave --source out")
        return run_sscma_live(session, lab, seconds, on_record, results_dir)
    labels = running_labels(session, lab)
    client = session.client
    if client.info is None:
        raise DeviceError("this board runs MLPerf Tiny firmware without kit-run", hint="flash it with `kit flash BOARD LAB`")
    shape = lab_shape(lab)
    twin = client.host_file_dir is not None and client.info.fields.get("host_files") == "1"
    if twin and source is None:
        raise KitError(f"the twin's {shape.sensor} is virtual: it needs recordings to play",
                       hint="pass --source FILE or FOLDER (the lab's recordings)")
    if not twin and source is not None:
        raise KitError("--source feeds a twin's virtual sensor; a real board listens to its own sensor",
                       hint="leave --source out")
    files: list[Path | None] = list(source_files(source, shape)) if source is not None else [None]
    summary = LiveSummary()
    header = {"board": session.board.name if session.board else "", "lab": lab.name, "labels": labels,
              "task": lab.task, "threshold": running_threshold(session) if lab.task == "anomaly" else None,
              "protocol": "kit", "info": dict(client.info.fields), "source": str(source) if source else None}
    with ResultsFile.create("run", header, directory=results_dir) as results:
        summary.results_path = results.path
        deadline = None if seconds is None else time.monotonic() + seconds
        for path in files:
            board_path, budget = _feed(client, shape, path, lab) if path is not None else (None, None)
            status = _one_run(client, lab, labels, board_path, str(path or ""), deadline, results, summary,
                              on_record, budget)
            summary.status = status
            if status != "ended":
                break
        results.close(summary.status, records=len(summary.records))
    return summary


def _feed(client, shape: SensorShape, path: Path, lab: Lab) -> tuple[str, float]:
    """The recording written where the twin reads it, and the wall-time budget for playing it
    (a twin runs faster than real time; a generous multiple of the recording's length)."""
    axes = [str(a) for a in (lab.dataset.model_dump().get("axes") or [])] or None
    data = raw_recording(path, shape, axes)
    target = recordings_folder(Path(client.host_file_dir)) / f"run-{shape.sensor}.raw"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    seconds = len(data) / max(1, shape.sample_bytes) / max(1, shape.rate_hz)
    return str(target), RUN_BUDGET_S + RUN_BUDGET_PER_SECOND * seconds


def _one_run(client, lab: Lab, label_names: list[str], board_path: str | None, source: str,
             deadline: float | None, results: ResultsFile, summary: LiveSummary, on_record,
             budget: float | None = None) -> str:
    """One kit-run to its end (the recording ran out, the deadline, Ctrl-C, an error); a twin's
    run that outlasts `budget` s is cancelled and reported."""
    labels = len(label_names)
    overall = None if budget is None else time.monotonic() + budget
    client.send("kit-run" + (f" {board_path}" if board_path else ""))
    cancelled = False
    status = "ended"
    try:
        while True:
            if deadline is not None and time.monotonic() > deadline and not cancelled:
                client.link.write("kit-cancel%")
                cancelled = True
            if overall is not None and time.monotonic() > overall:
                client.link.write("kit-cancel%")
                _read_to_ready(client, twice=True)
                raise DeviceError(f"kit-run on {source} did not end within {budget:.0f} s",
                                  hint="the twin is stuck or far too slow: `kit stop`, then `kit flash ... --emulate`")
            line = client.link.read_line(LINE_TIMEOUT_S)
            if is_ready(line):
                break
            error = ERROR_RE.match(line)
            if error:
                _read_to_ready(client)
                raise ProtocolError(f"the board refused kit-run: {error.group(1)}",
                                    hint="flash the board with the lab: `kit flash BOARD LAB`")
            start = RUN_START_RE.match(line)
            if start:
                summary.timer_hz = device_number(start.group(6), "kit-run timer_hz", 1)
                if int(start.group(2)) != labels:
                    raise ProtocolError(f"the board runs lab {start.group(1)} with {start.group(2)} labels, not "
                                        f"{lab.name}", hint=f"flash it with `kit flash BOARD {lab.name}`")
                continue
            end = RUN_END_RE.match(line)
            if end:
                status = end.group(4)
                continue
            anomaly = lab.task == "anomaly"
            whole_output = lab.task in ("anomaly", "detection")
            record = parse_live(line, labels, output_values(lab) if whole_output else labels, 1 if anomaly else labels)
            if record is not None:
                record = LiveRecord(**{**record.__dict__, "source": source})
                summary.records.append(record)
                results.append({"type": "live", "index": record.index, "label": record.label,
                                "label_name": label_names[record.label], "scores": record.scores,
                                **({"anomaly_score": record.scores[0]} if anomaly else {}),
                                **({"kmeans_score": record.kmeans_score, "anomalous": record.anomalous}
                                   if record.kmeans_score is not None else {}),
                                **(_detection_fields(record, label_names, lab, source, results.path)
                                   if record.objects is not None else {}),
                                "output": record.output.hex(), "feature_ticks": record.feature_ticks,
                                "infer_ticks": record.infer_ticks, "dropped": record.dropped,
                                "end_sample": record.end_sample, "source": source})
                if on_record is not None:
                    on_record(record)
    except KeyboardInterrupt:
        client.link.write("kit-cancel%")
        _read_to_ready(client, twice=True)
        return "cancelled"
    if cancelled:
        _read_to_ready(client)  # the cancel's own m-ready
        return "cancelled"
    return status


def _read_to_ready(client, twice: bool = False) -> None:
    for _ in range(2 if twice else 1):
        try:
            while not is_ready(client.link.read_line(LINE_TIMEOUT_S)):
                pass
        except LinkTimeout:
            return


__all__ = ["LiveRecord", "LiveSummary", "lab_shape", "output_values", "parse_live", "run_live", "running_labels",
           "running_threshold", "source_files"]
