"""Comparing sessions side by side: what `kit report` reads from results files.

A results file is one session (`kit bench`, `kit validate`, `kit farm bench`). Sessions of
the same board running the same model (and, in a farm, on the same place and host) form one
entry; an entry takes its latency from its newest bench and its accuracy from its newest
validate. Nothing is recomputed from a model on the host: every number is what the board
returned, and a number that was modelled (energy from the catalog's power) says so.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from kit.bench.results import read_records
from kit.errors import KitError
from kit.paths import results_dir

# The leaderboard's rule, shown on the page: one line, so anyone can check the ranking.
LEADERBOARD_RULE = ("ranked by median (p50) latency, fastest first, among entries whose on-device accuracy was "
                    "measured (kit validate); ties go to the lower energy per inference. Entries without an "
                    "on-device accuracy are listed unranked.")


@dataclass
class Session:
    """One results file read back."""

    path: Path
    header: dict[str, Any]
    records: list[dict[str, Any]]

    @property
    def kind(self) -> str:
        return str(self.header.get("kind", "?"))

    @property
    def status(self) -> str:
        """complete | interrupted (with an `end` record) | cut off (none: the process died)."""
        end = next((r for r in reversed(self.records) if r.get("type") == "end"), None)
        return str(end.get("status", "?")) if end else "cut off"

    @property
    def error(self) -> str:
        end = next((r for r in reversed(self.records) if r.get("type") == "end"), None)
        return str(end.get("error", "")) if end else ""

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [record for record in self.records if record.get("type") == kind]


@dataclass
class Entry:
    """One board running one model (on one farm place): the row of every table."""

    board: str
    reference_board: str
    model: str
    place: str = ""
    host: str = ""
    bench: Session | None = None
    validate: Session | None = None
    latencies_us: list[float] = field(default_factory=list)
    time_label: str = ""
    layers: list[dict[str, Any]] = field(default_factory=list)
    arena_bytes: int | None = None
    flash_bytes: int | None = None
    accuracy: float | None = None
    bit_exact: float | None = None
    samples: int = 0
    energy_uj: float | None = None
    energy_label: str = ""

    @property
    def name(self) -> str:
        shown = self.board if self.reference_board in ("", self.board) else f"{self.reference_board} (on {self.board})"
        return f"{self.place}: {shown}" if self.place else shown

    @property
    def status(self) -> str:
        states = [s.status for s in (self.bench, self.validate) if s is not None]
        return "complete" if states and all(s == "complete" for s in states) else ", ".join(states) or "?"

    def percentile(self, q: float) -> float | None:
        return percentile(self.latencies_us, q)


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default) without needing numpy here."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def read_session(path: Path) -> Session:
    records = list(read_records(path))
    if not records or records[0].get("type") != "header":
        raise KitError(f"{path} is not a kit results file (no header line)",
                       hint="pass files from $KIT_HOME/results (`kit bench` and `kit validate` write them)")
    return Session(path=path, header=records[0], records=records[1:])


def find_sessions(paths: Iterable[Path], last: int | None, directory: Path | None = None) -> list[Session]:
    """The named files (folders: every .jsonl in them), else the newest `last` in the results folder."""
    chosen: list[Path] = []
    for path in paths:
        if path.is_dir():
            chosen.extend(sorted(path.glob("*.jsonl")))
        elif path.is_file():
            chosen.append(path)
        else:
            raise KitError(f"no results file {path}", hint="`ls $KIT_HOME/results` lists the sessions")
    if not paths:
        folder = directory or results_dir()
        chosen = sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
        chosen = chosen[-last:] if last else chosen
    sessions = [read_session(path) for path in chosen]
    sessions = [s for s in sessions if s.kind in ("bench", "validate")]
    if not sessions:
        raise KitError("no bench or validate sessions to report on",
                       hint="run `kit bench BOARD` / `kit validate BOARD LAB` (or `kit farm bench LAB`) first")
    return sessions


def _entry_key(session: Session) -> tuple[str, str, str, str, str]:
    header = session.header
    farm = header.get("farm") or {}
    info = header.get("info") or {}
    model = str(header.get("lab") or info.get("model") or "?")
    if session.kind == "bench" and header.get("lab"):
        model = str(header["lab"])
    return (str(farm.get("place", "")), str(farm.get("host", "")), str(header.get("board", "?")),
            str(header.get("reference_board") or header.get("board", "?")), _model_name(header, model))


def _model_name(header: dict[str, Any], fallback: str) -> str:
    """Sessions of one model share a name: the model id the board reports, else the lab."""
    info = header.get("info") or {}
    return str(info.get("model") or fallback)


def build_entries(sessions: list[Session]) -> list[Entry]:
    """Group sessions into entries; the newest bench / validate of each wins."""
    entries: dict[tuple[str, ...], Entry] = {}
    for session in sorted(sessions, key=lambda s: float(s.header.get("started", 0))):
        place, host, board, reference, model = _entry_key(session)
        entry = entries.setdefault((place, host, board, reference, model),
                                   Entry(board=board, reference_board=reference, model=model, place=place, host=host))
        if session.kind == "bench":
            entry.bench = session
        else:
            entry.validate = session
    for entry in entries.values():
        _fill(entry)
    return sorted(entries.values(), key=lambda e: (e.model, e.name))


def _fill(entry: Entry) -> None:
    if entry.bench is not None:
        runs = entry.bench.of_type("run")
        entry.latencies_us = [float(r["latency_us"]) for r in runs if "latency_us" in r]
        entry.layers = entry.bench.of_type("layer")
        memory = entry.bench.of_type("memory")
        info = entry.bench.header.get("info") or {}
        if memory:
            entry.arena_bytes = int(memory[-1].get("arena", 0)) or None
        elif str(info.get("arena", "")).isdigit():
            entry.arena_bytes = int(info["arena"])
        end = next((r for r in entry.bench.records if r.get("type") == "end"), {})
        entry.time_label = str(entry.bench.header.get("time_label") or end.get("time_label") or "")
        _energy(entry)
    if entry.validate is not None:
        samples = entry.validate.of_type("sample")
        entry.samples = len(samples)
        scored = [s for s in samples if "label" in s]
        entry.accuracy = sum(s["predicted"] == s["label"] for s in scored) / len(scored) if scored else None
        entry.bit_exact = sum(bool(s.get("bit_exact")) for s in samples) / len(samples) if samples else None
    model_path = next((s.header.get("model_path") for s in (entry.bench, entry.validate)
                       if s is not None and s.header.get("model_path")), None)
    entry.flash_bytes = _card_flash_bytes(Path(model_path)) if model_path else None


def _energy(entry: Entry) -> None:
    """A measured energy record wins; else the reference board's catalog power x mean latency."""
    assert entry.bench is not None
    measured = [r for r in entry.bench.records if r.get("type") == "energy" and "uj_per_inference" in r]
    if measured:
        entry.energy_uj = float(measured[-1]["uj_per_inference"])
        entry.energy_label = str(measured[-1].get("label", "measured"))
        return
    if not entry.latencies_us:
        return
    from kit.catalog import get_board
    from kit.errors import CatalogError

    try:
        reference = get_board(entry.reference_board)
    except CatalogError:
        return
    mean_us = sum(entry.latencies_us) / len(entry.latencies_us)
    entry.energy_uj = reference.active_power_mw * mean_us / 1000.0
    entry.energy_label = f"modelled ({reference.active_power_mw:g} mW catalog power x mean latency)"


def _card_flash_bytes(model_path: Path) -> int | None:
    try:
        card = json.loads((model_path.parent / "card.json").read_text())
    except (OSError, ValueError):
        return None
    value = card.get("flash_bytes") if isinstance(card, dict) else None
    return int(value) if isinstance(value, (int, float)) else None


def leaderboard(entries: list[Entry]) -> tuple[list[Entry], list[Entry]]:
    """(ranked, unranked) by LEADERBOARD_RULE."""
    ranked = [e for e in entries if e.accuracy is not None and e.latencies_us]
    ranked.sort(key=lambda e: (e.percentile(50), e.energy_uj if e.energy_uj is not None else math.inf))
    return ranked, [e for e in entries if e not in ranked]
