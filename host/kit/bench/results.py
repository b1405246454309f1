"""An append-only JSONL record of one measurement session.

Every measurement is written and flushed the moment it arrives, so a run that is
interrupted (Ctrl-C, a board that dies, an emulator that is killed) keeps what it measured.
The first line is a header describing the session; each later line is one record.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from kit.errors import KitError
from kit.paths import results_dir


@dataclass
class ResultsFile:
    """A session file opened for appending. Use as a context manager."""

    path: Path
    header: dict[str, Any] = field(default_factory=dict)
    _handle: Any = None

    @classmethod
    def create(cls, kind: str, header: dict[str, Any], directory: Path | None = None) -> "ResultsFile":
        """Start a new session file named after its kind, board and start time."""
        directory = directory or results_dir()
        directory.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        board = str(header.get("board", "unknown")).replace("/", "_")
        base = f"{kind}-{board}-{stamp}-{os.getpid()}"
        for attempt in range(1000):
            # Exclusive creation: two sessions started in the same second by one process (a
            # farm, a test run) each get their own file instead of appending to one.
            path = directory / (f"{base}.jsonl" if attempt == 0 else f"{base}-{attempt}.jsonl")
            try:
                handle = path.open("x", encoding="utf-8")
            except FileExistsError:
                continue
            results = cls(path=path, header={"type": "header", "kind": kind, "started": time.time(), **header})
            results._handle = handle
            results._write(results.header)
            return results
        raise FileExistsError(f"no free results file name for {base} in {directory}")

    def _write(self, record: dict[str, Any]) -> None:
        self._handle.write(json.dumps(record, sort_keys=True) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def append(self, record: dict[str, Any]) -> None:
        """Write one measurement now (flushed and synced to disk)."""
        self._write({"t": time.time(), **record})

    def close(self, status: str = "complete", **extra: Any) -> None:
        """Mark the session's end; a file without this line was interrupted."""
        if self._handle is None:
            return
        self._write({"type": "end", "status": status, "t": time.time(), **extra})
        self._handle.close()
        self._handle = None

    def close_interrupted(self, error: BaseException, measured: int, what: str) -> None:
        """End a session an error cut short; a KitError's message then says how many `what` were
        kept and where (once)."""
        self.close("interrupted", error=str(error) or type(error).__name__, measured=measured)
        if isinstance(error, KitError) and str(self.path) not in error.message:
            error.message += f" ({measured} {what} kept in {self.path})"

    def __enter__(self) -> "ResultsFile":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close("complete")
        else:
            self.close("interrupted", error=str(exc) or exc_type.__name__)


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """Read a session file back, skipping a last line cut short by a crash."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                return
