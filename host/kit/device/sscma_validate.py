"""`kit validate` on a board running Seeed's SSCMA firmware (the Grove Vision AI V2): the
board classifies frames from its own camera, kit scores the SAME frames on the host.

AT+INVOKE=N,0,0 returns, with each result, the frame the firmware used (base64 JPEG). kit
decodes it, applies SSCMA's IMCLS pre-processing (nearest-neighbour resize to the model's
input, RGB or grey, pixel - 128 as int8), runs the int8 model (the one before Vela: what
the NPU computes) under TFLM and scores it as SSCMA does (dequantised output x 100,
truncated). It reports how often the board's best class is the host's and how far the
scores are apart. This is NOT a bit-exactness check: the board scored the raw camera
frame, kit the JPEG it was sent (lossy), and the NPU's arithmetic is not TFLM's. Every
frame's comparison goes to the results file as it arrives, and every frame is kept beside
it as a .jpg, so a board that stops answering half way leaves what it did answer.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from kit.bench.results import ResultsFile
from kit.errors import DeviceError
from kit.protocol.sscma import SscmaClient

JPEG_MAGIC = b"\xff\xd8\xff"
MAX_FRAME_PIXELS = 4096 * 4096
SSCMA_INPUT_SCALE, SSCMA_INPUT_ZERO = 1 / 255, -128   # what pixel - 128 means as an int8 input
NOTE = ("not bit-exact by design: the board scored its raw camera frame on the NPU, kit scored the JPEG "
        "of that frame under TFLM; agreement and score differences are what to read")


@dataclass
class FrameValidateReport:
    """Board vs host on the board's own frames (scores 0-100 as SSCMA reports them)."""

    board: str
    lab: str
    model_path: str
    frames: int
    agreed: int
    board_without_class: int
    mean_abs_score_diff: float
    max_abs_score_diff: int
    results_file: Path | None
    frames_dir: Path | None
    labels: list[str] = field(default_factory=list)
    preprocessing_note: str = ""
    note: str = NOTE
    protocol: str = "sscma"

    @property
    def agreement(self) -> float:
        return self.agreed / self.frames if self.frames else 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["agreement"] = self.agreement
        data["results_file"] = str(self.results_file) if self.results_file else None
        data["frames_dir"] = str(self.frames_dir) if self.frames_dir else None
        return data


def imcls_input(frame: np.ndarray, width: int, height: int, channels: int) -> np.ndarray:
    """SSCMA-Micro's IMCLS pre-processing (core/utils/el_cv.cpp, el_algorithm_imcls.cpp):
    output row i takes source row floor(i * H / h) (columns alike), then pixel - 128."""
    rows = np.floor(np.arange(height) * (frame.shape[0] / height)).astype(int)
    cols = np.floor(np.arange(width) * (frame.shape[1] / width)).astype(int)
    small = frame[rows][:, cols].astype(np.int32)
    if channels == 1:
        small = ((small[..., 0] * 299 + small[..., 1] * 587 + small[..., 2] * 114) // 1000)[..., None]
    return (small - 128).astype(np.int8)[None]


def sscma_scores(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """SSCMA's class scores: (q - zero point) x scale, x 100 when scale < 0.1, truncated."""
    score = (q.astype(np.float32) - zero_point) * np.float32(scale)
    if scale < 0.1:
        score = score * np.float32(100.0)
    return np.trunc(score).astype(int)


def decode_frame(data: dict, index: int) -> tuple[bytes, np.ndarray]:
    """The event's frame: (JPEG bytes, HxWx3 uint8), or a clear error."""
    from PIL import Image

    image = data.get("image")
    if not isinstance(image, str) or not image:
        raise DeviceError(f"INVOKE event {index} carries no frame (no \"image\")",
                          hint="the firmware must send frames with results (kit asks AT+INVOKE=N,0,0); "
                               "update the board to the SSCMA firmware kit supports")
    try:
        raw = base64.b64decode(image, validate=True)
    except (binascii.Error, ValueError):
        raise DeviceError(f"frame {index} from the board is not base64", hint="check the cable and run again") from None
    if not raw.startswith(JPEG_MAGIC):
        raise DeviceError(f"frame {index} from the board is not a JPEG (it starts with {raw[:8].hex()})",
                          hint="SSCMA sends base64 JPEG frames: update the board to the SSCMA firmware kit supports")
    try:
        picture = Image.open(io.BytesIO(raw))
        if picture.width * picture.height > MAX_FRAME_PIXELS:
            raise DeviceError(f"frame {index} is {picture.width}x{picture.height}, larger than any camera frame",
                              hint="check the firmware")
        pixels = np.asarray(picture.convert("RGB"), dtype=np.uint8)
    except (OSError, SyntaxError):
        raise DeviceError(f"frame {index} from the board is a broken JPEG", hint="check the cable and run again") from None
    resolution = data.get("resolution")
    if isinstance(resolution, list) and len(resolution) == 2 and resolution != [pixels.shape[1], pixels.shape[0]]:
        raise DeviceError(f"frame {index} is {pixels.shape[1]}x{pixels.shape[0]} but the board says {resolution}",
                          hint="check the firmware")
    return raw, pixels


def board_classes(data: dict, index: int, classes: int) -> list[tuple[int, int]]:
    """The event's [score, target] pairs, range-checked, best first as the board sent them."""
    found = data.get("classes")
    if not isinstance(found, list):
        raise DeviceError(f"INVOKE event {index} has no \"classes\" (is the model a classifier?)",
                          hint="kit validate on this board compares image classifiers")
    pairs = []
    for item in found:
        if (not isinstance(item, list) or len(item) != 2 or not all(isinstance(v, int) for v in item)
                or not 0 <= item[0] <= 100 or not 0 <= item[1] < classes):
            raise DeviceError(f"INVOKE event {index} has a class {item!r} outside score 0-100 / target 0-{classes - 1}",
                              hint="the board runs another model than kit's: `kit flash` it again")
        pairs.append((item[0], item[1]))
    return pairs


def run_sscma_validate(client: SscmaClient, board: str, lab: str, model_path: Path, frames: int,
                       results: ResultsFile, labels: list[str],
                       progress: Callable[[int], None] | None = None) -> FrameValidateReport:
    """Invoke `frames` times with frames returned; compare each with the host's TFLM answer."""
    from kit.tflm import TflmInterpreter

    interpreter = TflmInterpreter(model_path)
    _, height, width, channels = interpreter.input.shape
    classes = int(np.prod(interpreter.output.shape))
    frames_dir = results.path.with_suffix(".frames")
    frames_dir.mkdir(exist_ok=True)
    diffs: list[int] = []
    tally = {"agreed": 0, "none": 0, "done": 0}

    def compare(index: int, data: dict) -> None:
        jpeg, pixels = decode_frame(data, index)
        frame_path = frames_dir / f"{index:05d}.jpg"
        frame_path.write_bytes(jpeg)
        q = interpreter.invoke_one(imcls_input(pixels, width, height, channels)).reshape(-1)
        host = sscma_scores(q, interpreter.output.scale, interpreter.output.zero_point)
        host_top = int(np.argmax(q))
        pairs = board_classes(data, index, classes)
        record: dict[str, Any] = {"type": "frame", "index": index, "frame": str(frame_path), "host_top": host_top,
                                  "host_scores": host.tolist(), "board_classes": [list(p) for p in pairs],
                                  "perf": data.get("perf")}
        if pairs:
            score, top = pairs[0]
            diff = score - int(host[top])
            diffs.append(abs(diff))
            record.update(board_top=top, board_score=score, agree=top == host_top, score_diff=diff)
            tally["agreed"] += top == host_top
        else:
            record.update(board_top=None, agree=False)
            tally["none"] += 1
        results.append(record)
        tally["done"] += 1
        if progress:
            progress(tally["done"])

    try:
        client.invoke_events(frames, False, compare)
    except DeviceError as error:
        raise DeviceError(f"{error.message}\n  validate stopped after {tally['done']} of {frames} frames; "
                          f"the {tally['done']} comparisons are saved in {results.path}", hint=error.hint) from None
    report = FrameValidateReport(
        board=board, lab=lab, model_path=str(model_path), frames=tally["done"], agreed=tally["agreed"],
        board_without_class=tally["none"], mean_abs_score_diff=float(np.mean(diffs)) if diffs else 0.0,
        max_abs_score_diff=max(diffs, default=0), results_file=results.path, frames_dir=frames_dir, labels=labels,
        preprocessing_note=_preprocessing_note(interpreter.input.scale, interpreter.input.zero_point))
    results.append({"type": "summary", **{k: v for k, v in report.as_dict().items() if k != "labels"}})
    return report


def _preprocessing_note(scale: float, zero_point: int) -> str:
    """SSCMA feeds pixel - 128: right for a model whose input is pixel / 255 (scale 1/255, -128)."""
    if abs(scale - SSCMA_INPUT_SCALE) < 1e-6 and zero_point == SSCMA_INPUT_ZERO:
        return "the model's input quantisation (1/255, -128) is what SSCMA's pixel - 128 feeds"
    return (f"WARNING: the model's input is quantised with scale {scale:g}, zero point {zero_point}, but SSCMA feeds "
            "pixel - 128 (scale 1/255, zero point -128): the board and kit both feed it that way, "
            "so they agree with each other, not with the model's training")


__all__ = ["FrameValidateReport", "NOTE", "board_classes", "decode_frame", "imcls_input", "run_sscma_validate",
           "sscma_scores"]
