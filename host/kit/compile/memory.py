"""Arena planning: place every activation buffer at a fixed offset, sharing bytes over time.

Each buffer lives from the op that writes it to the last op that reads it (the model input
from before op 0, the model output until after the last op). Buffers are placed largest
first, each at the lowest 16-byte aligned offset that does not overlap a placed buffer whose
lifetime intersects its own (greedy first fit, the strategy TFLM's GreedyMemoryPlanner uses).
A RESHAPE output shares its input's buffer. No kernel asks for scratch memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from kit.compile.plan import ARENA_ALIGNMENT


@dataclass
class Buffer:
    """One arena allocation: `size` bytes needed from op `first` through op `last` inclusive."""

    key: str
    size: int
    first: int
    last: int
    offset: int = -1

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.first <= other.last and other.first <= self.last

    def overlaps_in_space(self, other: "Buffer") -> bool:
        return self.offset < other.offset + other.size and other.offset < self.offset + self.size


def align_up(value: int, alignment: int = ARENA_ALIGNMENT) -> int:
    return (value + alignment - 1) // alignment * alignment


def _first_fit(buffer: Buffer, placed: list[Buffer]) -> int:
    """Lowest aligned offset where `buffer` fits between the live buffers already placed."""
    live = sorted((other for other in placed if other.overlaps_in_time(buffer)), key=lambda b: b.offset)
    candidate = 0
    for other in live:
        if candidate + buffer.size <= other.offset:
            break
        candidate = max(candidate, align_up(other.offset + other.size))
    return candidate


def place_buffers(buffers: list[Buffer]) -> int:
    """Assign `offset` to every buffer; returns the arena size (16-byte aligned)."""
    placed: list[Buffer] = []
    for buffer in sorted(buffers, key=lambda b: (-b.size, b.first, b.key)):
        if buffer.size == 0:
            buffer.offset = 0
            continue
        buffer.offset = _first_fit(buffer, placed)
        placed.append(buffer)
    return align_up(max((b.offset + b.size for b in placed), default=0))


def find_conflicts(buffers: list[Buffer]) -> list[tuple[str, str]]:
    """Pairs of buffers that are live at the same time and share bytes (must be empty)."""
    conflicts = []
    sized = [b for b in buffers if b.size > 0]
    for i, first in enumerate(sized):
        for second in sized[i + 1 :]:
            if first.overlaps_in_time(second) and first.overlaps_in_space(second):
                conflicts.append((first.key, second.key))
    return conflicts
