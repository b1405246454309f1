"""TEST PEER ONLY: a small Python stand-in for a board that speaks docs/PROTOCOL.md.

It lets the host-side protocol client be tested against misbehaviour a real firmware
rarely shows on demand (garbage, cut lines, silence, dying mid-run). It serves over a pty
or a TCP socket. Its "model" is a fixed toy function so outputs can be predicted.
"""

from __future__ import annotations

import base64
import binascii
import os
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class PeerBehaviour:
    kit: bool = True                 # False: MLPerf-only firmware (kit-* are unknown commands)
    input_bytes: int = 8
    output_bytes: int = 4
    sha256: str = "ab" * 32
    ops: list[tuple[str, int]] = field(default_factory=lambda: [("CONV_2D", 600), ("SOFTMAX", 400)])
    garbage: bool = False            # noise lines (and bytes >= 0x80) inside every reply
    truncate_results: bool = False   # cut the m-kit-output line short
    silent_after: int | None = None  # hang mid-reply after this many commands
    die_after_runs: int | None = None  # close the connection after this many timed runs
    boot_error: str | None = None
    boot_delay: float = 0.0          # seconds between the connection and the boot banner
    # Hostile devices (what a foreign or broken board may send):
    info_fields: dict[str, str] = field(default_factory=dict)  # kit-info items replaced or added
    garbage_stream: bool = False     # noise lines from the moment the port opens, never a boot
    noise_forever_after: int | None = None  # after this many commands: a noise line every noise_period s
    noise_period: float = 1.0
    run_ticks: Callable[[int], str] | None = None    # the tick text of run I (default: the ops' sum)
    layer_ticks: Callable[[int], str] | None = None  # the tick text of layer I
    ready_lookalike: bool = False    # a line containing (not being) m-ready inside every reply
    model: Callable[[bytes], bytes] | None = None    # the board's model (default: toy_model)
    model_id: str = "kws01"
    # Power tests: each timed run takes `run_seconds` of wall time (its ticks say so too) and
    # calls `on_run("start")` / `on_run("end")` around it, as a timestamp pin would toggle.
    run_seconds: float = 0.0
    on_run: Callable[[str], None] | None = None


def toy_model(data: bytes, output_bytes: int) -> bytes:
    """Deterministic int8 output from the input (what the 'board' computes)."""
    total = sum(data)
    return bytes((total + 37 * i) & 0xFF for i in range(output_bytes))


class PeerDied(Exception):
    pass


class DutPeer:
    """The protocol state machine; transports feed it bytes and send what it returns."""

    def __init__(self, behaviour: PeerBehaviour) -> None:
        self.b = behaviour
        self.buffer = bytearray()
        self.expected = 0
        self.last_output: bytes | None = None
        self.commands = 0
        self.runs = 0
        self.received: list[str] = []
        self.stopped = False  # set by a test to end a peer that streams forever

    def boot(self) -> list[str]:
        lines = ["m-timestamp-mode-performance"]
        if self.b.kit:
            lines.append("m-kit-boot-[proto=1,board=sim-board]")
        if self.b.boot_error:
            lines.append(f"e-[model not runnable: {self.b.boot_error}]")
        return lines + ["m-init-done", "m-ready"]

    def handle(self, command: str) -> list[str]:
        """Reply lines for one command (PeerDied = close the connection after `partial`)."""
        self.commands += 1
        self.received.append(command)
        words = command.split()
        try:
            lines = self._dispatch(words)
        except ValueError as error:
            lines = [f"e-[{error}]"]
        if self.b.silent_after is not None and self.commands > self.b.silent_after:
            return lines[:1]  # hangs mid-reply: the first line, then nothing
        if self.b.garbage:
            lines = ["\x01garbage \xff\xfe", *lines[:1], "m-lap-u", *lines[1:]]
        if self.b.ready_lookalike:
            lines = ["debug: not m-ready yet", *lines]
        if self.b.noise_forever_after is not None and self.commands > self.b.noise_forever_after:
            raise NoiseForever()
        return [*lines, "m-ready"]

    def _dispatch(self, words: list[str]) -> list[str]:
        head = words[0]
        if head == "name":
            return ["m-name-dut-[kit-sim-board]"]
        if head == "profile":
            return ["m-profile-[kit-0.1]", f"m-model-[{self.b.model_id}]"]
        if head == "db":
            return self._db(words[1:])
        if head == "infer":
            return self._infer(int(words[1]) if len(words) > 1 else 1)
        if head == "results":
            if self.last_output is None:
                raise ValueError("no inference yet")
            return [self._results_line()]
        if not self.b.kit or not head.startswith("kit-"):
            raise ValueError(f"unknown command: {head[:20]}")
        return getattr(self, "_" + head.replace("-", "_"))(words[1:])

    def _db(self, args: list[str]) -> list[str]:
        if args[0] == "load":
            self.expected, self.buffer = int(args[1]), bytearray()
            return [f"m-[Expecting {self.expected} bytes]"]
        data = bytes.fromhex(args[0])
        self.buffer.extend(data)
        return ["m-load-done"] if len(self.buffer) == self.expected else []

    def _ready_input(self) -> bytes:
        if len(self.buffer) != self.b.input_bytes:
            raise ValueError(f"input not loaded: have {len(self.buffer)} of {self.b.input_bytes} bytes")
        return bytes(self.buffer)

    def _run(self) -> int:
        self.runs += 1
        if self.b.die_after_runs is not None and self.runs > self.b.die_after_runs:
            raise PeerDied()
        data = self._ready_input()
        self.last_output = self.b.model(data) if self.b.model else toy_model(data, self.b.output_bytes)
        if self.b.run_seconds:
            if self.b.on_run:
                self.b.on_run("start")
            started = time.monotonic()
            time.sleep(self.b.run_seconds)
            elapsed = time.monotonic() - started
            if self.b.on_run:
                self.b.on_run("end")
            return round(elapsed * 25_000_000)  # the peer's timer: 25 MHz
        return sum(ticks for _, ticks in self.b.ops)

    def _results_line(self) -> str:
        assert self.last_output is not None
        values = [(int.from_bytes([v], "little", signed=True) + 128) / 256 for v in self.last_output]
        return "m-results-[" + ",".join(f"{v:.3f}" for v in values) + "]"

    def _infer(self, count: int) -> list[str]:
        self._ready_input()
        lines = ["m-warmup-start-0", "m-warmup-done", f"m-infer-start-{count}", "m-lap-us-1000"]
        elapsed = sum(self._run() for _ in range(count)) // 25
        return [*lines, f"m-lap-us-{1000 + elapsed}", "m-infer-done", self._results_line()]

    def _kit_info(self, _args: list[str]) -> list[str]:
        items = {
            "proto": "1", "board": "sim-board", "clock_hz": "1000000000", "timer_hz": "25000000", "model": "toy",
            "sha256": self.b.sha256, "arena": "64", "arena_capacity": "128", "input_bytes": str(self.b.input_bytes),
            "output_bytes": str(self.b.output_bytes), "in_scale": "0.5", "in_zp": "-3", "out_scale": "0.00390625",
            "out_zp": "-128", "ops": str(len(self.b.ops)), "runtime": "sim", "build": "sim-000000000000",
            "dropped": "0", **self.b.info_fields,
        }
        return ["m-kit-info-[" + ",".join(f"{key}={value}" for key, value in items.items()) + "]"]

    def _kit_load(self, args: list[str]) -> list[str]:
        offset = int(args[0])
        try:
            data = base64.b64decode(args[1], validate=True)
        except binascii.Error:
            raise ValueError("kit-load: bad base64") from None
        if offset == 0:
            self.buffer = bytearray()
        elif offset != len(self.buffer):
            raise ValueError(f"kit-load offset {offset}, expected {len(self.buffer)}")
        self.buffer.extend(data)
        crc = zlib.crc32(bytes(self.buffer)) & 0xFFFFFFFF
        lines = [f"m-kit-load-[next={len(self.buffer)},crc={crc:08x}]"]
        return lines + (["m-load-done"] if len(self.buffer) == self.b.input_bytes else [])

    def _kit_infer(self, args: list[str]) -> list[str]:
        count = int(args[0]) if args else 1
        self._ready_input()
        lines: list[str] = []
        for index in range(count):
            try:
                ticks = self._run()
                shown = self.b.run_ticks(self.runs - 1) if self.b.run_ticks else str(ticks)
                lines.append(f"m-kit-run-[{index},{shown}]")
            except PeerDied:
                raise PeerDiedWith(lines) from None
        assert self.last_output is not None
        output = self.last_output.hex()
        if self.b.truncate_results:
            output = output[:3]
        return [*lines, f"m-kit-output-[{output}]", self._results_line()]

    def _kit_layers(self, _args: list[str]) -> list[str]:
        lines = [f"m-kit-layer-[{i},{op},{self.b.layer_ticks(i) if self.b.layer_ticks else ticks}]"
                 for i, (op, ticks) in enumerate(self.b.ops)]
        return [*lines, f"m-kit-layers-done-[{len(self.b.ops)}]"]

    def _kit_mem(self, _args: list[str]) -> list[str]:
        return ["m-kit-mem-[arena=64,arena_capacity=128,stack_used=300,stack_size=4096]"]


class NoiseForever(Exception):
    """The peer stops answering and sends a noise line every `noise_period` s, forever."""


class PeerDiedWith(Exception):
    """The peer printed `lines` and then its connection went away."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("peer died")
        self.lines = lines


def _encode(lines: list[str]) -> bytes:
    return b"".join(line.encode("latin-1", errors="replace") + b"\r\n" for line in lines)


def _noise_forever(peer: DutPeer, write) -> None:
    number = 0
    while not peer.stopped:
        write(_encode([f"noise {number}: still thinking"]))
        number += 1
        time.sleep(peer.b.noise_period)


def serve(peer: DutPeer, read, write, close) -> None:
    """Feed bytes from `read()` to the peer and write its replies, until EOF or death."""
    time.sleep(peer.b.boot_delay)
    try:
        if peer.b.garbage_stream:
            while not peer.stopped:
                write(_encode(["\x07\xfe~~ garbage ~~ m-read"]))
                time.sleep(0.01)
            return
        write(_encode(peer.boot()))
    except OSError:
        return
    pending = b""
    try:
        while True:
            chunk = read()
            if not chunk:
                return
            pending += chunk
            while True:
                cut = min((i for i in (pending.find(t) for t in (b"%", b"\n", b"\r")) if i >= 0), default=-1)
                if cut < 0:
                    break
                command, pending = pending[:cut].decode("ascii", "replace").strip(), pending[cut + 1 :]
                if not command:
                    continue
                try:
                    write(_encode(peer.handle(command)))
                except PeerDiedWith as died:
                    write(_encode(died.lines))
                    return
                except NoiseForever:
                    _noise_forever(peer, write)
                    return
    except OSError:
        return
    finally:
        close()


def serve_pty(behaviour: PeerBehaviour) -> tuple[str, DutPeer, threading.Thread]:
    """A peer on a fresh pty; returns the path the host opens."""
    import tty

    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    peer = DutPeer(behaviour)

    def close() -> None:
        time.sleep(0.2)  # Linux drops unread pty data when the master closes: let the host read it
        os.close(master)
        os.close(slave)

    thread = threading.Thread(
        target=serve, args=(peer, lambda: os.read(master, 4096), lambda d: os.write(master, d), close), daemon=True
    )
    thread.start()
    return path, peer, thread


def serve_tcp(behaviour: PeerBehaviour) -> tuple[str, DutPeer, threading.Thread]:
    """A peer on 127.0.0.1 accepting one connection; returns its socket:// URL."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    peer = DutPeer(behaviour)

    def run() -> None:
        connection, _ = server.accept()
        server.close()

        def close() -> None:
            connection.close()

        serve(peer, lambda: connection.recv(4096), connection.sendall, close)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return f"socket://127.0.0.1:{port}", peer, thread
