"""Helpers for the firmware tests: the native harness build, a line console over file
descriptors, the checksum test model's reference function."""

from __future__ import annotations

import os
import re
import select
import subprocess
import time
from pathlib import Path

from kit.paths import FIRMWARE_DIR, REPO_ROOT

TEST_MODEL = REPO_ROOT / "tests" / "firmware" / "testmodel"
EMULATED_BOARDS = ("emu-cortex-m4", "emu-cortex-m7", "emu-cortex-m55", "emu-rv32")
READY = "m-ready"


def checksum_model(data: bytes, outputs: int = 4) -> bytes:
    """What the test model computes: out[k] = sum_i in[i] * (i + k + 1) mod 256."""
    return bytes(sum(value * (i + k + 1) for i, value in enumerate(data)) & 0xFF for k in range(outputs))


def compile_host_harness(out: Path, model_dir: Path = TEST_MODEL, defines: tuple[str, ...] = ()) -> Path:
    """gcc build of harness + host HAL + a model folder, warnings as errors."""
    sources = [*sorted((FIRMWARE_DIR / "harness").glob("*.c")), FIRMWARE_DIR / "hal" / "host" / "kit_hal_host.c",
               *sorted(model_dir.glob("*.c"))]
    subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", *defines,
                    f"-I{model_dir}", f"-I{FIRMWARE_DIR / 'harness'}", f"-I{FIRMWARE_DIR / 'hal'}",
                    *map(str, sources), "-o", str(out)], check=True)
    return out


class Console:
    """A line-oriented view of a device's console over two file descriptors."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd
        self.pending = b""

    def send(self, data: bytes | str) -> None:
        os.write(self.write_fd, data.encode() if isinstance(data, str) else data)

    def read_line(self, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.pending:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self.read_fd], [], [], max(remaining, 0))
            if not ready:
                raise TimeoutError(f"no line within {timeout} s; partial {self.pending!r}")
            chunk = os.read(self.read_fd, 65536)
            if not chunk:
                raise EOFError(f"console closed; partial {self.pending!r}")
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        assert line.endswith(b"\r"), f"line without CR LF: {line!r}"
        assert all(0x20 <= b < 0x7F for b in line[:-1]), f"non-printable byte in {line!r}"
        return line[:-1].decode("ascii")

    def reply(self, timeout: float = 10.0) -> list[str]:
        """Lines up to (without) the closing m-ready."""
        lines = []
        while (line := self.read_line(timeout)) != READY:
            lines.append(line)
        return lines

    def command(self, text: str, timeout: float = 10.0) -> list[str]:
        self.send(text + "%")
        return self.reply(timeout)


class HostHarness(Console):
    """The native harness as a child process on pipes."""

    def __init__(self, binary: Path) -> None:
        self.process = subprocess.Popen([str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.process.stdin is not None and self.process.stdout is not None
        super().__init__(self.process.stdout.fileno(), self.process.stdin.fileno())
        self.boot = self.reply()

    def close(self) -> int:
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            return self.process.wait(timeout=10)
        finally:
            if self.process.stdout:
                self.process.stdout.close()


def match_one(lines: list[str], pattern: str) -> re.Match[str]:
    found = [m for m in (re.match(pattern, line) for line in lines) if m]
    assert len(found) == 1, f"{pattern!r} matched {len(found)} of {lines!r}"
    return found[0]


