"""A stand-in for a Grove Vision AI V2 on a pty: the Himax WiseEye2 bootloader and Seeed's
SSCMA-Micro firmware on one serial port, with a 16 MB flash they share.

The firmware side speaks the AT protocol as Seeed-Studio/SSCMA-Micro docs/protocol/
at_protocol.md documents it and as its 1.0.x source behaves: commands `AT+[TAG@]BODY\\r`,
replies `\\r<JSON>\\n` with type (0 operation, 1 event, 2 logging), name (upper-cased, tag
included), code and data; an unknown command or a wrong argument count is a logging reply
named `AT` with code 5 (EL_EINVAL) and the message as data. ID?, NAME?, VER?, STAT?, MODEL?,
MODELS? (found by scanning the flash's model partition at 0x400000 every 1024 bytes for a
packed "LHT" header or a plain "TFL3" model), MODEL=ID, INFO=/INFO?, BREAK, RST (reboot),
INVOKE=N,DIFFERED,RESULT_ONLY (an operation reply, then one event per inference with perf
[pre, inference, post] ms; with RESULT_ONLY 0 also the frame as base64 JPEG and its
resolution). Given a real int8 model and frames, it classifies each raw frame the way
SSCMA's IMCLS algorithm does (nearest-neighbour resize, pixel - 128, score = dequantised
output x 100 truncated, classes above the score threshold, best first) with TFLM.

The bootloader side behaves as Himax's xmodem_send.py and the Edge Impulse Himax flasher
expect: after reset it prints "Please input any key to enter X-Modem mode in 100 ms", a key
within 100 ms opens the menu, `1` starts the XMODEM receiver (C for CRC-16, or NAK for the
8-bit sum, repeated until the first block), 128- or 1024-byte blocks are ACKed / NAKed,
EOT ends a file, a one-block preamble C0 5A ADDR OFFSET 5A C0 places the next file, then
"Do you want to end file transmission and reboot system? (y)": `n` another file, `y` reboot.
On demand both sides misbehave the way a real board can. This is a peer written from the
documentation and source, not Seeed's or Himax's code: kit's Grove path is verified only
against it.
"""

from __future__ import annotations

import base64
import io
import json
import os
import select
import threading
import time
import tty
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FLASH_BYTES = 16 * 1024 * 1024
MODEL_PARTITION, MODEL_PARTITION_BYTES = 0x400000, 0xA00000
ENTER_PROMPT = b"Please input any key to enter X-Modem mode in 100 ms\r\n"
MENU = b"0: Exit\r\n1: Xmodem download and burn FW image\r\n2: Xmodem download and burn ROM image\r\n"
SEND_PROMPT = b"Send data using the xmodem protocol from your terminal emulator now...\r\n"
END_PROMPT = b"Do you want to end file transmission and reboot system? (y)\r\n"
SOH, STX, EOT, ACK, NAK, CAN = 0x01, 0x02, 0x04, 0x06, 0x15, 0x18


@dataclass
class SscmaBehaviour:
    perf: tuple[int, int, int] = (8, 36, 1)     # pre-process, inference, post-process ms
    perf_step: int = 1                          # inference ms grows by this per event (a spread)
    fail: dict[str, int] = field(default_factory=dict)  # command name -> response code
    silent_after_events: int | None = None      # stop answering after this many INVOKE events
    log_noise: bool = True                      # firmware log lines between replies
    pretty: bool = False                        # multi-line JSON, as the documentation shows it
    # --- the camera and the model (validate) ---
    model: Path | None = None                   # the int8 .tflite the NPU runs (scored with TFLM)
    frames: list[np.ndarray] = field(default_factory=list)  # camera frames, HxWx3 uint8, cycled
    image_format: str = "JPEG"                  # how frames are sent ("PNG": not what SSCMA sends)
    tscore: int = 0                             # IMCLS score threshold
    # --- the bootloader ---
    crc: bool = True                            # ask with C (CRC-16) or NAK (8-bit sum)
    start_interval: float = 0.1                 # how often the receiver repeats C / NAK
    enter_window: float = 0.1                   # the "any key" window after reset
    reboot_on_rst: bool = True                  # AT+RST reboots into the bootloader's prompt
    nak_blocks: set[int] = field(default_factory=set)  # NAK these block numbers once (line noise)
    cancel_after_blocks: int | None = None      # send CAN CAN after ACKing this many blocks
    stop_acking_after_blocks: int | None = None  # go silent after ACKing this many blocks
    silent_after_reboot: bool = False           # the rebooted firmware never answers
    factory_model_bytes: int = 31376            # a packed model at 0x400000 from the factory
    model_loaded_at_boot: bool = True           # False: no current model until AT+MODEL=ID (as 1.0.x)


class GroveBoard:
    """Both programs of the board as one byte-driven state machine (see the module doc)."""

    def __init__(self, behaviour: SscmaBehaviour, write) -> None:
        self.behaviour = behaviour
        self.write = write
        self.flash = bytearray(b"\xff") * FLASH_BYTES
        self.events_sent = 0
        self.commands: list[str] = []
        self.silent = False
        self.mode = "app"
        self.line = b""
        self.info = ""
        self.current_model = 1 if behaviour.model_loaded_at_boot else 0
        self.boots = 0
        self.blocks_acked = 0
        self.files: list[tuple[int, bytes]] = []   # (address, bytes) of every file burned
        self._rx = bytearray()
        self._file = bytearray()
        self._expected = 1
        self._next_address: int | None = None
        self._deadline = 0.0
        self._naked: set[int] = set()
        self._interpreter = None
        if behaviour.factory_model_bytes:
            self._write_factory_model(behaviour.factory_model_bytes)

    # --- the outside world ---------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        if self.mode == "app":
            self.line += data
            while b"\r" in self.line:
                raw, _, self.line = self.line.partition(b"\r")
                self._app_line(raw.decode("ascii", "replace").strip())
        elif self.mode == "window":
            self._menu()
        elif self.mode == "menu":
            if b"1" in data:
                self._start_receiver()
        elif self.mode in ("start", "receive"):
            self._rx.extend(data)
            self._receive()
        elif self.mode == "end":
            if b"y" in data:
                self.reboot()
            elif b"n" in data:
                self._start_receiver(prompt=False)

    def tick(self, now: float) -> None:
        if self.mode == "window" and now > self._deadline:
            self._start_app()
        elif self.mode == "start" and now > self._deadline:
            self.write(bytes([ord("C") if self.behaviour.crc else NAK]))
            self._deadline = now + self.behaviour.start_interval

    def reboot(self) -> None:
        self.boots += 1
        self.mode = "window"
        self.write(b"\r\n[I] WE2 2nd bootloader, Compiler Version: ARM GNU 13.2\r\n" + ENTER_PROMPT)
        self._deadline = time.monotonic() + self.behaviour.enter_window

    # --- bootloader ----------------------------------------------------------------------
    def _menu(self) -> None:
        self.mode = "menu"
        self.write(MENU)

    def _start_receiver(self, prompt: bool = True) -> None:
        if prompt:
            self.write(SEND_PROMPT)
        self.mode, self._rx, self._file, self._expected = "start", bytearray(), bytearray(), 1
        self._deadline = 0.0

    def _receive(self) -> None:
        b = self.behaviour
        while self._rx:
            if self.mode == "silent":
                self._rx.clear()
                return
            head = self._rx[0]
            if head == EOT:
                del self._rx[:1]
                self.write(bytes([ACK]))
                self._end_of_file()
                return
            if head not in (SOH, STX):
                del self._rx[:1]
                continue
            size = 128 if head == SOH else 1024
            total = 3 + size + (2 if b.crc else 1)
            if len(self._rx) < total:
                return
            frame, self._rx = bytes(self._rx[:total]), self._rx[total:]
            self.mode = "receive"
            self._block(frame, size)

    def _block(self, frame: bytes, size: int) -> None:
        b = self.behaviour
        number, complement, payload = frame[1], frame[2], frame[3:3 + size]
        check = frame[3 + size:]
        good = number == 0xFF - complement and check == _check(payload, b.crc)
        if number in b.nak_blocks and number not in self._naked:
            self._naked.add(number)
            good = False
        if not good:
            self.write(bytes([NAK]))
            return
        if number == (self._expected - 1) & 0xFF:
            self.write(bytes([ACK]))  # a resent block we already have
            return
        if number != self._expected & 0xFF:
            self.write(bytes([CAN, CAN]))
            self.mode = "menu"
            return
        self._store(payload)
        self._expected += 1
        self.blocks_acked += 1
        if b.stop_acking_after_blocks is not None and self.blocks_acked > b.stop_acking_after_blocks:
            self.mode = "silent"
            return
        self.write(bytes([ACK]))
        if b.cancel_after_blocks is not None and self.blocks_acked >= b.cancel_after_blocks:
            self.write(bytes([CAN, CAN]))
            self.mode = "menu"

    def _store(self, payload: bytes) -> None:
        """Blocks are burned as they arrive (a failed upload leaves a partial model)."""
        offset = len(self._file)
        self._file.extend(payload)
        if self._next_address is not None and not _is_preamble(bytes(self._file[:12])):
            start = self._next_address + offset
            self.flash[start:start + len(payload)] = payload

    def _end_of_file(self) -> None:
        data = bytes(self._file)
        if _is_preamble(data[:12]):
            self._next_address = int.from_bytes(data[2:6], "little") + int.from_bytes(data[6:10], "little")
        else:
            self.files.append((self._next_address if self._next_address is not None else 0, data))
            self._next_address = None
        self.mode = "end"
        self.write(END_PROMPT)

    # --- firmware --------------------------------------------------------------------------
    def _start_app(self) -> None:
        self.mode = "app"
        if not self.behaviour.model_loaded_at_boot:
            self.current_model = 0
        self.line = b""
        if self.behaviour.silent_after_reboot and self.boots:
            self.silent = True
        self.write(b"[I] [SSCMA] initializing AT server...\r\n")

    def _app_line(self, line: str) -> None:
        self.commands.append(line)
        if self.silent or not line:
            return
        upper = line.upper()
        if not upper.startswith("AT+"):
            self._json(2, "AT", 5, f"Unknown command: {line}")
            return
        body = upper[3:]
        cut = body.rfind("@") + 1
        tag, command = body[:cut], body[cut:]
        head, _, args = command.partition("=")
        args_raw = line[3 + cut + len(head) + 1:] if "=" in command else ""
        if head in self.behaviour.fail:
            self._json(0, tag + head, self.behaviour.fail[head], None)
            return
        simple = {"ID?": self._id, "NAME?": lambda: "Grove Vision AI V2", "VER?": self._ver,
                  "STAT?": lambda: {"boot_count": self.boots, "is_ready": 1}, "MODEL?": self._model,
                  "MODELS?": self._models, "BREAK": lambda: int(time.monotonic() * 1000) & 0x7FFFFFFF,
                  "INFO?": lambda: {"crc16_maxim": 0, "info": self.info}}
        if command in simple:
            self._json(0, tag + command, 0, simple[command]())
        elif head == "RST" and not args:
            if self.behaviour.reboot_on_rst:
                self.reboot()
        elif head == "INVOKE":
            self._invoke(tag, args)
        elif head == "MODEL" and args.isdigit():
            self._load_model(tag, int(args))
        elif head == "INFO" and args_raw.startswith('"') and args_raw.endswith('"'):
            self.info = args_raw[1:-1]
            self._json(0, tag + "INFO", 0, {"crc16_maxim": 0})
        elif head in ("INVOKE", "MODEL", "INFO"):
            self._json(2, "AT", 5, f"Command {tag}{head} got wrong arguements.")
        else:
            self._json(2, "AT", 5, f"Unknown command: {line}")

    def _load_model(self, tag: str, model_id: int) -> None:
        found = [m for m in self._models() if m["id"] == model_id]
        if not found:
            self._json(0, tag + "MODEL", 5, {"model": {"id": 0, "type": 0, "address": 0, "size": 0}})
            return
        self.current_model = model_id
        self._json(0, tag + "MODEL", 0, {"model": found[0]})

    def _invoke(self, tag: str, args: str) -> None:
        parts = args.split(",") if args else []
        name = tag + "INVOKE"
        if len(parts) != 3 or not all(p.lstrip("-").isdigit() for p in parts):
            self._json(2, "AT", 5, f"Command {name} got wrong arguements.")
            return
        if not self._model()["id"]:  # check_model_status: no model -> EL_EINVAL in the operation reply
            self._json(0, name, 5, {"model": self._model(), "algorithm": {}, "sensor": {"id": 1, "type": 1, "state": 1}})
            return
        times, results_only = int(parts[0]), parts[2] != "0"
        self._json(0, name, 0, {"model": self._model(), "algorithm": {"type": 4, "category": 3, "input_from": 1,
                                "config": {"tscore": self.behaviour.tscore}}, "sensor": {"id": 1, "type": 1, "state": 1}})
        for _ in range(times):
            if self.behaviour.silent_after_events is not None and self.events_sent >= self.behaviour.silent_after_events:
                self.silent = True
                return
            if self.behaviour.log_noise:
                self.write(b"[I] invoke done\n")
            self._json(1, name, 0, self._event(results_only))
            self.events_sent += 1

    def _event(self, results_only: bool) -> dict:
        pre, infer, post = self.behaviour.perf
        infer += self.behaviour.perf_step * (self.events_sent % 5)
        data: dict = {"count": self.events_sent, "perf": [pre, infer, post]}
        frame = self._frame()
        data["classes"] = self._classify(frame) if frame is not None else [[87, 0]]
        if frame is not None:
            data["resolution"] = [int(frame.shape[1]), int(frame.shape[0])]
            if not results_only:
                data["image"] = _encode(frame, self.behaviour.image_format)
        return data

    def _frame(self) -> np.ndarray | None:
        frames = self.behaviour.frames
        return frames[self.events_sent % len(frames)] if frames else None

    def _classify(self, frame: np.ndarray) -> list[list[int]]:
        if self.behaviour.model is None:
            return [[87, 0]]
        from kit.tflm import TflmInterpreter

        if self._interpreter is None:
            self._interpreter = TflmInterpreter(self.behaviour.model)
        it = self._interpreter
        _, height, width, channels = it.input.shape
        x = imcls_input(frame, width, height, channels)
        q = it.invoke_one(x).reshape(-1).astype(np.int32)
        scale, zero = it.output.scale, it.output.zero_point
        scores = [(q_i - zero) * scale * (100 if scale < 0.1 else 1) for q_i in q]
        found = [[int(s), i] for i, s in enumerate(scores) if s > self.behaviour.tscore]
        return sorted(found, key=lambda c: -c[0])

    def _models(self) -> list[dict]:
        found, used = [], set()
        view = memoryview(self.flash)
        for at in range(MODEL_PARTITION, MODEL_PARTITION + MODEL_PARTITION_BYTES, 1024):
            head = bytes(view[at:at + 8])
            if head[:3] == b"LHT":
                model_id, kind, size = head[3] >> 4, head[3] & 0x0F, int.from_bytes(head[4:7], "big")
                if model_id and kind and size and model_id not in used:
                    found.append({"id": model_id, "type": kind, "address": at, "size": size})
                    used.add(model_id)
            elif head[4:8] == b"TFL3":
                model_id = next(i for i in range(1, 16) if i not in used)
                found.append({"id": model_id, "type": 0, "address": at, "size": 0})
                used.add(model_id)
        return found

    def _model(self) -> dict:
        found = [m for m in self._models() if m["id"] == self.current_model]
        return found[0] if found else {"id": 0, "type": 0, "address": 0, "size": 0}

    def _write_factory_model(self, size: int) -> None:
        body = bytes(4) + b"TFL3" + bytes(size - 8)
        header = b"LHT" + bytes([(1 << 4) | 4]) + size.to_bytes(3, "big") + b"\0"
        self.flash[MODEL_PARTITION:MODEL_PARTITION + 8 + size] = header + body

    @staticmethod
    def _id() -> str:
        return "7e2d02cf"

    @staticmethod
    def _ver() -> dict:
        return {"at_api": "v0", "software": "2025.01.02", "hardware": "1"}

    def _json(self, kind: int, name: str, code: int, data) -> None:
        reply = {"type": kind, "name": name, "code": code, "data": data}
        text = json.dumps(reply, indent=2) if self.behaviour.pretty else json.dumps(reply)
        self.write(b"\r" + text.encode() + b"\n")


def imcls_input(frame: np.ndarray, width: int, height: int, channels: int) -> np.ndarray:
    """SSCMA's IMCLS pre-processing: nearest-neighbour resize (row i takes source row
    floor(i * H / h)), RGB or grey, then pixel - 128 as int8."""
    rows = (np.arange(height) * (frame.shape[0] / height)).astype(int)
    cols = (np.arange(width) * (frame.shape[1] / width)).astype(int)
    small = frame[rows][:, cols].astype(np.int32)
    if channels == 1:
        small = ((small[..., 0] * 299 + small[..., 1] * 587 + small[..., 2] * 114) // 1000)[..., None]
    return (small - 128).astype(np.int8)[None]


def _encode(frame: np.ndarray, image_format: str) -> str:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(frame.astype(np.uint8)).save(out, format=image_format, **({"quality": 90} if image_format == "JPEG" else {}))
    return base64.b64encode(out.getvalue()).decode("ascii")


def _check(payload: bytes, crc: bool) -> bytes:
    if not crc:
        return bytes([sum(payload) & 0xFF])
    value = 0
    for byte in payload:
        value ^= byte << 8
        for _ in range(8):
            value = ((value << 1) ^ 0x1021) & 0xFFFF if value & 0x8000 else (value << 1) & 0xFFFF
    return value.to_bytes(2, "big")


def _is_preamble(head: bytes) -> bool:
    return len(head) >= 12 and head[:2] == b"\xc0\x5a" and head[10:12] == b"\x5a\xc0"


def serve_pty(behaviour: SscmaBehaviour) -> tuple[str, GroveBoard, threading.Event]:
    """The board on a fresh pty (raw); returns the path to open, the board and a stop flag."""
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    lock = threading.Lock()

    def write(data: bytes) -> None:
        with lock:
            view = memoryview(data)
            while view:
                written = os.write(master, view)
                view = view[written:]

    board = GroveBoard(behaviour, write)
    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.is_set():
                ready, _, _ = select.select([master], [], [], 0.01)
                if ready:
                    board.feed(os.read(master, 65536))
                board.tick(time.monotonic())
        except OSError:
            pass
        finally:
            os.close(master)
            os.close(slave)

    threading.Thread(target=run, daemon=True).start()
    return path, board, stop


SscmaPeer = GroveBoard  # the name the earlier tests used
