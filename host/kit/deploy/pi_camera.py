#!/usr/bin/env python3
"""kit's camera runner for a Raspberry Pi, copied beside pi_runner.py by kit.

It reads the Pi camera through Picamera2 (Raspberry Pi OS's `python3-picamera2`; a venv needs
`--system-site-packages` to see it) and prints JSON lines like pi_runner.py:

    python3 pi_camera.py capture --count N [--interval-ms MS] [--frame-width W --frame-height H]
    python3 pi_camera.py live --model model.tflite --table table.bin --frames N [--frame-width W ...]

`capture` sends each frame as a PNG, base64 in parts of at most PART_CHARS characters (lines
stay short), with its CRC-32, so the laptop writes each file as soon as its parts are in.

`live` computes the model input exactly as kit's boards do (kit_features.c): a centred crop to
the model's aspect, the nearest source pixel by integer arithmetic, gray = (77 R + 150 G + 29 B
+ 128) >> 8 when the model is gray, and the int8 value of each 0..255 pixel from the 256-byte
table the laptop computed with kit's own feature code; then one inference per frame.

Picamera2's "RGB888" format is, as its manual says, stored B, G, R: frames are reversed to
R, G, B before anything else.
"""

from __future__ import annotations

import argparse
import base64
import struct
import sys
import time
import zlib

from pi_runner import RunnerError, emit, load_interpreter, run_handler, runtime_record, system_sample

PART_CHARS = 32 * 1024
MAX_FRAME_SIDE = 4096


def open_camera(width, height):
    """Picamera2 started with an RGB888 main stream of width x height."""
    try:
        from picamera2 import Picamera2
    except ImportError as error:
        raise RunnerError("no-picamera2", "picamera2 does not import for %s: %s" % (sys.executable, error))
    try:
        camera = Picamera2()
        camera.configure(camera.create_still_configuration(main={"size": (width, height), "format": "RGB888"}))
        camera.start()
    except (RuntimeError, IndexError, OSError) as error:
        raise RunnerError("no-camera", "the camera did not start: %s" % error)
    return camera


def rgb_frame(camera, width, height):
    """One frame as a (height, width, 3) uint8 array in R, G, B order."""
    import numpy as np

    frame = np.asarray(camera.capture_array("main"))
    if frame.ndim != 3 or frame.shape[0] != height or frame.shape[1] != width or frame.shape[2] < 3:
        raise RunnerError("bad-frame", "the camera gave a frame of shape %s, expected (%d, %d, 3)" % (frame.shape, height, width))
    return np.ascontiguousarray(frame[:, :, 2::-1], dtype=np.uint8)  # B, G, R (X) -> R, G, B


def png_bytes(rgb):
    """An RGB PNG (filter 0 on every row), written with zlib alone."""
    height, width = rgb.shape[:2]
    rows = b"".join(b"\x00" + rgb[y].tobytes() for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b"")


def command_capture(args):
    camera = open_camera(args.frame_width, args.frame_height)
    try:
        emit({"type": "start", "count": args.count, "width": args.frame_width, "height": args.frame_height})
        for index in range(args.count):
            started = time.perf_counter()
            rgb = rgb_frame(camera, args.frame_width, args.frame_height)
            capture_ms = (time.perf_counter() - started) * 1000.0
            data = png_bytes(rgb)
            text = base64.b64encode(data).decode("ascii")
            parts = max(1, (len(text) + PART_CHARS - 1) // PART_CHARS)
            for part in range(parts):
                emit({"type": "frame-part", "index": index, "part": part, "parts": parts,
                      "data": text[part * PART_CHARS:(part + 1) * PART_CHARS]})
            emit({"type": "frame", "index": index, "bytes": len(data), "crc32": zlib.crc32(data) & 0xFFFFFFFF,
                  "capture_ms": capture_ms})
            if args.interval_ms:
                time.sleep(args.interval_ms / 1000.0)
        emit({"type": "done", "count": args.count})
    finally:
        camera.close()


def model_pixels(rgb, height, width, channels):
    """The model's pixel values (0..255) of one frame, as kit_features.c picks them."""
    import numpy as np

    frame_h, frame_w = rgb.shape[:2]
    crop_w, crop_h = frame_w, frame_h
    if frame_w * height > frame_h * width:  # frame wider than the model
        crop_w = frame_h * width // height
    else:
        crop_h = frame_w * height // width
    x0, y0 = (frame_w - crop_w) // 2, (frame_h - crop_h) // 2
    xs = x0 + ((2 * np.arange(width, dtype=np.int64) + 1) * crop_w) // (2 * width)
    ys = y0 + ((2 * np.arange(height, dtype=np.int64) + 1) * crop_h) // (2 * height)
    picked = rgb[ys[:, None], xs[None, :]].astype(np.uint32)
    if channels == 3:
        return picked
    gray = (77 * picked[..., 0] + 150 * picked[..., 1] + 29 * picked[..., 2] + 128) >> 8
    return gray[..., None]


def command_live(args):
    import numpy as np

    with open(args.table, "rb") as handle:
        table = np.frombuffer(handle.read(), dtype=np.int8)
    if table.size != 256:
        raise RunnerError("bad-table", "the pixel table has %d entries, not 256" % table.size)
    interpreter, runtime = load_interpreter(args.model, args.threads)
    detail, output = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    shape = [int(v) for v in detail["shape"]]
    if len(shape) != 4 or shape[3] not in (1, 3) or np.dtype(detail["dtype"]) != np.int8:
        raise RunnerError("bad-model", "the model's input is %s %s, not an int8 camera image" % (shape, detail["dtype"]))
    out_scale, out_zero = output.get("quantization", (0.0, 0))
    camera = open_camera(args.frame_width, args.frame_height)
    try:
        start = {"type": "start", "frames": args.frames, "frame_width": args.frame_width, "frame_height": args.frame_height,
                 "input_shape": shape}
        start.update(runtime_record(runtime, args.threads))
        emit(start)
        emit(system_sample())
        for index in range(args.frames):
            began = time.perf_counter()
            rgb = rgb_frame(camera, args.frame_width, args.frame_height)
            captured = time.perf_counter()
            pixels = model_pixels(rgb, shape[1], shape[2], shape[3])
            interpreter.set_tensor(detail["index"], table[pixels].reshape(shape))
            prepared = time.perf_counter()
            interpreter.invoke()
            done = time.perf_counter()
            raw = interpreter.get_tensor(output["index"]).reshape(-1)
            scores = (raw.astype(np.float64) - out_zero) * out_scale if out_scale else raw.astype(np.float64)
            emit({"type": "live", "index": index, "label": int(np.argmax(raw)), "output": [int(v) for v in raw],
                  "scores": [round(float(v), 6) for v in scores], "capture_ms": (captured - began) * 1000.0,
                  "preprocess_ms": (prepared - captured) * 1000.0, "inference_ms": (done - prepared) * 1000.0})
            if index % 10 == 9:
                emit(system_sample())
        emit({"type": "done", "frames": args.frames})
    finally:
        camera.close()


def parse_args(argv):
    parser = argparse.ArgumentParser(description="kit camera runner for a Raspberry Pi")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("capture", "live"):
        sub = commands.add_parser(name)
        sub.add_argument("--frame-width", type=int, default=320)
        sub.add_argument("--frame-height", type=int, default=240)
        if name == "capture":
            sub.add_argument("--count", type=int, default=10)
            sub.add_argument("--interval-ms", type=int, default=0)
        else:
            sub.add_argument("--model", required=True)
            sub.add_argument("--table", required=True)
            sub.add_argument("--frames", type=int, default=100)
            sub.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    if not (0 < args.frame_width <= MAX_FRAME_SIDE and 0 < args.frame_height <= MAX_FRAME_SIDE):
        parser.error("frame size out of range")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    return run_handler({"capture": command_capture, "live": command_live}[args.command], args)


if __name__ == "__main__":
    sys.exit(main())
