"""The Raspberry Pi camera in the student's loop: `kit capture` and `kit run` on a Pi, over SSH.

The Pi runs kit.deploy's pi_camera.py (Picamera2) and streams JSON lines; here they become the
same files as an MCU board's: PNGs in DIR/LABEL/<name>-<n>.png, each written as soon as its
parts have arrived and their CRC-32 matches, and a run's `live` records appended to a results
file one by one. The model input on the Pi is computed as kit's boards compute it, with the
int8 value of every pixel value taken from a table made here by kit's own feature code, so a
frame gives the Pi the same input bytes the laptop's kit.features would.
"""

from __future__ import annotations

import base64
import binascii
import shlex
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from kit.bench.results import ResultsFile
from kit.catalog.models import Lab
from kit.deploy import remote
from kit.deploy.deploy import RUNNER_NAME, RUNNER_SOURCE, RemotePython, lab_model, linux_board, parse_record, python_from_login_folder
from kit.deploy.slm import file_sha256
from kit.deploy.ssh import SshTarget, push_files, quote_command, stream_lines
from kit.deploy.state import DeployedLab, recall
from kit.device.capture import next_index
from kit.errors import DeviceError, KitError

CAMERA_RUNNER = "pi_camera.py"
CAMERA_SOURCE = Path(__file__).resolve().parent.parent / "deploy" / CAMERA_RUNNER
CAPTURE_FOLDER = "camera"
# Capturing needs no model runtime, only Picamera2 and numpy, which Raspberry Pi OS installs
# system-wide (python3-picamera2): the system Python, before anything was deployed.
CAPTURE_PYTHON = RemotePython("python3", use_venv=False)
TABLE_NAME = "pixels.bin"
MAX_PNG_BYTES = 64 * 1024 * 1024
MS_RANGE = (0.0, 600_000.0)
HINTS = {
    "no-picamera2": "on the Pi: sudo apt-get install -y python3-picamera2; a venv sees it only when made with "
                    "--system-site-packages (redeploy with `kit deploy BOARD LAB --system-site-packages`)",
    "no-camera": "check the camera cable and that `rpicam-hello --list-cameras` lists it on the Pi",
    "bad-frame": "pass a --frame-width/--frame-height the camera supports",
    "bad-model": "the lab's model must take an int8 camera image: redeploy it with `kit deploy BOARD LAB`",
}


@dataclass
class PiCaptureSummary:
    files: list[Path] = field(default_factory=list)
    capture_ms: list[float] = field(default_factory=list)


@dataclass
class PiRunSummary:
    records: list[dict[str, Any]]
    results_path: Path
    status: str


def _runner_failure(target: SshTarget, record: dict[str, Any]) -> DeviceError:
    return DeviceError(f"the camera runner on {target.host}: {record.get('message')}",
                       hint=HINTS.get(str(record.get("code")), "run pi_camera.py by hand on the Pi to investigate"))


def _lines(target: SshTarget, folder: str, python: str, arguments: list[str], deadline_s: float) -> Iterator[dict[str, Any]]:
    command = f"cd {shlex.quote(folder)} && exec {python_from_login_folder(python)} {quote_command([CAMERA_RUNNER, *arguments])}"
    for line in stream_lines(target, command, silence_s=60.0, deadline_s=deadline_s):
        record = parse_record(line)
        if record is None:
            continue
        if record.get("type") == "error":
            raise _runner_failure(target, record)
        yield record


def capture_pi(board_name: str, target: SshTarget, label: str, out_dir: Path, count: int, *, frame: tuple[int, int] = (320, 240),
               name: str | None = None, interval_ms: int = 0, layout: remote.RemoteLayout | None = None,
               python: RemotePython | None = None, on_frame: Callable[[int, Path], None] = lambda index, path: None) -> PiCaptureSummary:
    """`count` camera frames of the Pi into out_dir/label/, each PNG written when it is complete."""
    board = linux_board(board_name)
    if count < 1 or not label.strip() or "/" in label:
        raise KitError("--count must be at least 1 and --label a plain folder name", hint="e.g. --label apple --count 20")
    layout = layout or remote.RemoteLayout()
    python = python or CAPTURE_PYTHON
    folder = layout.lab_dir(CAPTURE_FOLDER)
    push_files(target, folder, {RUNNER_NAME: RUNNER_SOURCE.read_bytes(), CAMERA_RUNNER: CAMERA_SOURCE.read_bytes()})
    destination = Path(out_dir) / label
    destination.mkdir(parents=True, exist_ok=True)
    prefix = name or label
    first = next_index(destination, prefix, ".png")
    summary = PiCaptureSummary()
    parts: dict[int, list[str]] = {}
    arguments = ["capture", "--count", str(count), "--interval-ms", str(interval_ms),
                 "--frame-width", str(frame[0]), "--frame-height", str(frame[1])]
    try:
        for record in _lines(target, folder, python.runner_python(layout), arguments, deadline_s=120.0 + 30.0 * count):
            kind = record.get("type")
            if kind == "frame-part":
                _add_part(parts, record, count)
            elif kind == "frame":
                data = _frame_bytes(parts, record, count)
                path = destination / f"{prefix}-{first + len(summary.files)}.png"
                path.write_bytes(data)
                summary.files.append(path)
                summary.capture_ms.append(_ms(record.get("capture_ms"), "capture_ms"))
                on_frame(len(summary.files), path)
    except KitError as error:
        error.message += f" ({len(summary.files)} frame(s) kept in {destination})"
        raise
    if len(summary.files) != count:
        raise DeviceError(f"the Pi sent {len(summary.files)} of {count} frames ({len(summary.files)} kept in {destination})",
                          hint="run the capture again (check the camera and the network)")
    return summary


def _add_part(parts: dict[int, list[str]], record: dict[str, Any], count: int) -> None:
    index, part, total, data = record.get("index"), record.get("part"), record.get("parts"), record.get("data")
    if not (isinstance(index, int) and 0 <= index < count and isinstance(total, int) and 0 < total <= 4096
            and isinstance(part, int) and part == len(parts.get(index, [])) and part < total and isinstance(data, str)):
        raise DeviceError(f"the Pi sent a frame part out of order: {str(record)[:120]}",
                          hint="the runner on the Pi is not kit's: run the command again (it copies the runner)")
    parts.setdefault(index, []).append(data)


def _frame_bytes(parts: dict[int, list[str]], record: dict[str, Any], count: int) -> bytes:
    index = record.get("index")
    text = "".join(parts.pop(index, [])) if isinstance(index, int) else ""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        data = b""
    size, crc = record.get("bytes"), record.get("crc32")
    if not data or len(data) > MAX_PNG_BYTES or size != len(data) or crc != zlib.crc32(data) & 0xFFFFFFFF:
        raise DeviceError(f"frame {index} arrived damaged ({len(data)} bytes, CRC-32 mismatch)",
                          hint="check the network to the Pi and capture again")
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise DeviceError(f"frame {index} is not a PNG", hint="the runner on the Pi is not kit's: run the command again")
    return data


def _ms(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not MS_RANGE[0] <= float(value) <= MS_RANGE[1]:
        raise DeviceError(f"the Pi sent an impossible {key} {value!r}", hint="the runner on the Pi is not kit's: run again")
    return float(value)


def pixel_table(lab: Lab, scale: float, zero_point: int) -> bytes:
    """The int8 model input of each pixel value 0..255, from kit's feature code (kit_features.c)."""
    from kit.features import native
    from kit.features.config import image_config

    config = image_config((1, 256, 1), (1, 256, 1), str(lab.features.model_dump().get("scale", "unit"))).quantized(scale, zero_point)
    return native.features_int8(config, np.arange(256, dtype=np.uint8).reshape(1, 1, 256, 1)).tobytes()


def quantization(model: Path) -> tuple[tuple[float, int], tuple[float, int]]:
    """(input, output) scale and zero point of an int8 model, from one load of it."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model))
    detail, output = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    scale, zero_point = detail["quantization"]
    if np.dtype(detail["dtype"]) != np.int8 or not scale > 0:
        raise KitError(f"{model} does not take an int8 input", hint="use the int8 .tflite `kit train` wrote")
    out_scale, out_zero_point = output["quantization"]
    return (float(scale), int(zero_point)), (float(out_scale), int(out_zero_point))


def deployed_lab(board: str, target: SshTarget, lab: Lab, model: Path | None) -> tuple[DeployedLab, Path]:
    """What `kit deploy` put on this Pi for `lab`, and the laptop's copy of its model (the
    reference model or --model), refused unless the Pi runs exactly those bytes."""
    deployed = recall(board, target.host, target.port)
    if deployed is None or deployed.lab != lab.name:
        raise KitError(f"lab {lab.name} is not what this laptop last deployed to {target.host}",
                       hint=f"run `kit deploy {board} {lab.name} --host {target.host}` first")
    model_path = lab_model(lab.name, model)
    if file_sha256(model_path) != deployed.model_sha256:
        raise KitError(f"{target.host} runs another {lab.name} model than {model_path}",
                       hint="pass the deployed file with --model, or deploy this one again")
    return deployed, model_path


def run_pi(board_name: str, target: SshTarget, lab: Lab, frames: int, *, model: Path | None = None,
           frame: tuple[int, int] = (320, 240), threads: int = 1, results_dir: Path | None = None,
           on_record: Callable[[dict[str, Any]], None] = lambda record: None) -> PiRunSummary:
    """Classify `frames` camera frames on the Pi with the lab `kit deploy` put there."""
    board = linux_board(board_name)
    if lab.features.type != "image":
        raise KitError(f"`kit run` on {board.name} reads the camera: lab {lab.name} needs a {', '.join(lab.sensors)}",
                       hint="run a camera lab (image-classification, visual-wake-words), or this lab on a microcontroller board")
    if lab.task not in ("classification", "detection"):
        raise KitError(f"`kit run` on {board.name} classifies or detects in frames; lab {lab.name} is a {lab.task} lab",
                       hint="run image-classification, visual-wake-words or object-detection on the Pi")
    deployed, model_path = deployed_lab(board.name, target, lab, model)
    layout = remote.RemoteLayout(deployed.remote_root)
    python = RemotePython(deployed.interpreter, deployed.use_venv)
    folder = layout.lab_dir(lab.name)
    input_quant, quant = quantization(model_path)
    push_files(target, folder, {CAMERA_RUNNER: CAMERA_SOURCE.read_bytes(), TABLE_NAME: pixel_table(lab, *input_quant)})
    header = {"board": board.name, "lab": lab.name, "host": target.host, "source": "camera", "frames": frames,
              "frame_width": frame[0], "frame_height": frame[1], "model_sha256": deployed.model_sha256}
    arguments = ["live", "--model", "model.tflite", "--table", TABLE_NAME, "--frames", str(frames), "--threads", str(threads),
                 "--frame-width", str(frame[0]), "--frame-height", str(frame[1])]
    results = ResultsFile.create("run", header, results_dir)
    records: list[dict[str, Any]] = []
    try:
        for record in _lines(target, folder, python.runner_python(layout), arguments, deadline_s=120.0 + 30.0 * frames):
            if record.get("type") == "live":
                record = _live_record(record, lab, len(records), quant)
                results.append(record)
                records.append(record)
                on_record(record)
            elif record.get("type") == "system":
                results.append(record)
    except BaseException as error:
        results.close_interrupted(error, len(records), "frame(s)")
        raise
    status = "complete" if len(records) == frames else "incomplete"
    results.close(status, measured=len(records))
    return PiRunSummary(records, results.path, status)


def _output_size(lab: Lab) -> int:
    size = 1
    for value in lab.io.output_shape[1:]:
        size *= int(value)
    return size


def _live_record(record: dict[str, Any], lab: Lab, expected_index: int, output_quant: tuple[float, int]) -> dict[str, Any]:
    """A `live` line checked (index in order, the model's output size, times in range) and named.
    A detector's grid is decoded here, with the same rule as every board (decode_grid)."""
    output, label = record.get("output"), record.get("label")
    detecting = lab.task == "detection"
    if (record.get("index") != expected_index or not isinstance(output, list)
            or len(output) != (_output_size(lab) if detecting else len(lab.labels))
            or not all(isinstance(v, int) and -128 <= v <= 127 for v in output)
            or not isinstance(label, int) or not (detecting or 0 <= label < len(lab.labels))):
        raise DeviceError(f"the Pi sent a result that does not fit lab {lab.name}: {str(record)[:160]}",
                          hint=f"redeploy the lab: `kit deploy BOARD {lab.name}`")
    scores = record.get("scores")
    if not isinstance(scores, list) or len(scores) != len(output):
        raise DeviceError(f"the Pi sent {scores!r} as scores", hint="run the command again (it copies the runner)")
    times = {key: _ms(record.get(key), key) for key in ("capture_ms", "preprocess_ms", "inference_ms")}
    entry: dict[str, Any] = {"type": "live", "index": expected_index, "output": output, **times}
    if not detecting:
        return {**entry, "label": label, "label_name": lab.labels[label], "scores": [float(s) for s in scores]}
    return {**entry, **_detections(lab, np.array(output, np.int8), output_quant)}


def _detections(lab: Lab, output: np.ndarray, quant: tuple[float, int]) -> dict[str, Any]:
    """Objects in a detector's int8 grid: the best object's class as the label (0 when none),
    each label's highest cell score, and every object (centroid in grid cells)."""
    from kit.train.detection import decode_grid

    rows, cols, classes = (int(v) for v in lab.io.output_shape[1:])
    scores = (output.reshape(rows, cols, classes).astype(np.float32) - quant[1]) * quant[0]
    threshold = lab.detection.score_threshold if lab.detection is not None else 0.5
    objects = decode_grid(scores, threshold)
    best = max(objects, key=lambda found: found.score, default=None)
    label = best.label if best is not None else 0
    return {"label": label, "label_name": lab.labels[label],
            "scores": [float(v) for v in scores.reshape(-1, classes).max(axis=0)], "object_count": len(objects),
            "objects": [{"label": o.label, "label_name": lab.labels[o.label], "row": o.row, "col": o.col, "score": o.score}
                        for o in objects]}
