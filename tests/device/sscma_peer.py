"""A stand-in for a Grove Vision AI V2 running Seeed's SSCMA-Micro firmware, on a pty.

It speaks the AT protocol as Seeed-Studio/SSCMA-Micro docs/protocol/at_protocol.md
(v2023.12.12) documents it: commands `AT+[TAG@]BODY\\r`, replies `\\r<JSON>\\n` with type
(0 operation, 1 event, 2 logging), name (tag included), code (the error table) and data;
ID?, NAME?, VER?, STAT?, MODEL?, MODELS?, INVOKE=N,DIFFERED,RESULT_ONLY (an operation reply,
then one event per inference with `perf` [pre, inference, post] ms), BREAK; an unknown
command or a wrong argument count gets a logging reply with a non-zero code. On demand it
misbehaves the way a real board can: a command answered with an error code, firmware log
lines between replies, going silent after N inference events. This is a peer written from
the documentation, not Seeed's firmware: kit's SSCMA path is verified only against it.
"""

from __future__ import annotations

import json
import os
import threading
import time
import tty
from dataclasses import dataclass, field


@dataclass
class SscmaBehaviour:
    perf: tuple[int, int, int] = (8, 36, 1)     # pre-process, inference, post-process ms
    perf_step: int = 1                          # inference ms grows by this per event (a spread)
    fail: dict[str, int] = field(default_factory=dict)  # command name -> response code
    silent_after_events: int | None = None      # stop answering after this many INVOKE events
    log_noise: bool = True                      # firmware log lines between replies
    pretty: bool = False                        # multi-line JSON, as the documentation shows it


class SscmaPeer:
    def __init__(self, behaviour: SscmaBehaviour) -> None:
        self.behaviour = behaviour
        self.events_sent = 0
        self.commands: list[str] = []
        self.silent = False

    def handle(self, line: str) -> list[bytes]:
        self.commands.append(line)
        if self.silent:
            return []
        if not line.startswith("AT+"):
            return [self._json(2, line, 5, "not an AT command")]
        body = line[3:]
        tag, _, command = body.rpartition("@")
        name = f"{tag}@" if tag else ""
        head = command.split("=", 1)[0]
        if head in self.behaviour.fail:
            return [self._json(2, name + command, self.behaviour.fail[head], None)]
        handler = {"ID?": self._id, "NAME?": self._name, "VER?": self._ver, "STAT?": self._stat,
                   "MODEL?": self._model, "MODELS?": self._models, "BREAK": self._break}.get(command)
        if handler is not None:
            return [self._json(0, name + command, 0, handler())]
        if head == "INVOKE":
            return self._invoke(name, command)
        return [self._json(2, name + command, 8, None)]  # unknown command

    def _invoke(self, name: str, command: str) -> list[bytes]:
        args = command.split("=", 1)[1].split(",") if "=" in command else []
        if len(args) != 3 or not all(a.lstrip("-").isdigit() for a in args):
            return [self._json(2, name + "INVOKE", 5, None)]  # argument count / type mismatch
        times = int(args[0])
        out = [self._json(0, name + "INVOKE", 0, {"model": self._model(), "algorithm": {"type": 4, "category": 3,
                          "input_from": 1, "config": {"tscore": 60}}, "sensor": {"id": 1, "type": 1, "state": 1}})]
        for _ in range(times):
            if self.behaviour.silent_after_events is not None and self.events_sent >= self.behaviour.silent_after_events:
                self.silent = True
                break
            pre, infer, post = self.behaviour.perf
            infer += self.behaviour.perf_step * (self.events_sent % 5)
            if self.behaviour.log_noise:
                out.append(b"[I] invoke done\n")
            out.append(self._json(1, name + "INVOKE", 0, {"count": self.events_sent, "perf": [pre, infer, post],
                                                         "classes": [[87, 0]]}))
            self.events_sent += 1
        return out

    def _json(self, kind: int, name: str, code: int, data) -> bytes:
        reply = {"type": kind, "name": name, "code": code, "data": data}
        text = json.dumps(reply, indent=2) if self.behaviour.pretty else json.dumps(reply)
        return b"\r" + text.encode() + b"\n"

    @staticmethod
    def _id() -> str:
        return "7e2d02cf"

    @staticmethod
    def _name() -> str:
        return "Grove Vision AI V2"

    @staticmethod
    def _ver() -> dict:
        return {"at_api": "v0", "software": "2023.12.12", "hardware": "1"}

    @staticmethod
    def _stat() -> dict:
        return {"boot_count": 3, "is_ready": 1}

    @staticmethod
    def _model() -> dict:
        return {"id": 1, "type": 4, "address": 4194304, "size": 31376}

    def _models(self) -> list:
        return [self._model()]

    @staticmethod
    def _break() -> int:
        return int(time.monotonic() * 1000) & 0x7FFFFFFF


def serve_pty(behaviour: SscmaBehaviour) -> tuple[str, SscmaPeer, threading.Event]:
    """The peer on a fresh pty (raw); returns the path to open, the peer and a stop flag."""
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    peer = SscmaPeer(behaviour)
    stop = threading.Event()

    def run() -> None:
        pending = b""
        try:
            while not stop.is_set():
                import select

                ready, _, _ = select.select([master], [], [], 0.05)
                if not ready:
                    continue
                pending += os.read(master, 4096)
                while b"\r" in pending:
                    line, _, pending = pending.partition(b"\r")
                    for chunk in peer.handle(line.decode("ascii", "replace").strip()):
                        os.write(master, chunk)
        except OSError:
            pass
        finally:
            os.close(master)
            os.close(slave)

    threading.Thread(target=run, daemon=True).start()
    return path, peer, stop
