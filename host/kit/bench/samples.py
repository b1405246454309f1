"""The raw power trace of a bench: every meter sample on disk the moment it arrives.

A meter streams thousands of samples a second, too many for one JSON line each, so they go
to a CSV file beside the session's JSONL results (`<results>.power.csv`): `t_s` (seconds on
the meter's clock), `current_a`, `voltage_v`. Each batch is flushed and synced as it arrives,
so a meter unplugged mid-run leaves every sample read before it on disk.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

COLUMNS = ("t_s", "current_a", "voltage_v")


@dataclass(frozen=True)
class PowerSample:
    """One reading: the current into the board at `t_s` seconds on the meter's clock."""

    t_s: float
    current_a: float
    voltage_v: float

    @property
    def power_w(self) -> float:
        return self.current_a * self.voltage_v


class SampleFile:
    """An append-only CSV of power samples. Use as a context manager."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.count = 0
        self._handle = path.open("x", encoding="utf-8", newline="")
        self._writer = csv.writer(self._handle)
        self._writer.writerow(COLUMNS)
        self._sync()

    @classmethod
    def beside(cls, results_path: Path) -> "SampleFile":
        """The samples file of a results file (same name, `.power.csv`)."""
        return cls(results_path.with_suffix(".power.csv"))

    def _sync(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def append(self, samples: Iterable[PowerSample]) -> None:
        """Write a batch now (flushed and synced)."""
        if self._handle is None:
            raise ValueError(f"{self.path} is closed")
        rows = [(repr(s.t_s), repr(s.current_a), repr(s.voltage_v)) for s in samples]
        self._writer.writerows(rows)
        self.count += len(rows)
        self._sync()

    def close(self) -> None:
        if self._handle is not None:
            self._sync()
            self._handle.close()
            self._handle = None

    def __enter__(self) -> "SampleFile":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def read_samples(path: Path) -> Iterator[PowerSample]:
    """Read a samples file back, skipping a last row cut short by a crash."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        if next(reader, None) != list(COLUMNS):
            raise ValueError(f"{path} is not a kit power samples file")
        for row in reader:
            try:
                yield PowerSample(float(row[0]), float(row[1]), float(row[2]))
            except (IndexError, ValueError):
                return
