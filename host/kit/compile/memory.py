"""Arena planning: place every activation buffer at a fixed offset, sharing bytes over time.

Each buffer lives from the op that writes it to the last op that reads it (the model input
from before op 0, the model output until after the last op). A RESHAPE output shares its
input's buffer. Two buffers live at the same time may still share bytes in one case: an
op's output over an input that dies at that op, when the kernel's access order makes it safe
(kit.compile.overlap): the output then starts at least `delta` bytes below the input
(`Buffer.below`), so every byte it writes was already read.

Several placements are tried and the smallest arena kept: TFLM's GreedyMemoryPlanner strategy
(largest first, lowest 16-byte aligned offset that fits), and placements in op order or size
order that may go below offset 0 (shifted afterwards), each buffer at the candidate offset
that grows the arena least: that is what lets a chain of in-place ops drift downwards.
The kernels' scratch (kit.compile.scratch) is one more buffer, live during its op.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from kit.compile.plan import ARENA_ALIGNMENT


@dataclass
class Buffer:
    """One arena allocation: `size` bytes needed from op `first` through op `last` inclusive.
    `below[key] = delta`: this buffer may share bytes with buffer `key` (an input dying where
    this one is written) if this offset <= that offset - delta; `same`: also at exactly the
    offset of these."""

    key: str
    size: int
    first: int
    last: int
    offset: int = -1
    below: dict[str, int] = field(default_factory=dict)
    same: set[str] = field(default_factory=set)  # may also sit exactly on these (element i over element i)

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.first <= other.last and other.first <= self.last

    def overlaps_in_space(self, other: "Buffer") -> bool:
        return self.offset < other.offset + other.size and other.offset < self.offset + self.size

    def may_share_with(self, other: "Buffer") -> bool:
        """Sharing bytes is safe by an in-place permission of either buffer."""
        if other.key in self.below and self.offset <= other.offset - self.below[other.key]:
            return True
        if self.offset == other.offset and (other.key in self.same or self.key in other.same):
            return True
        return self.key in other.below and other.offset <= self.offset - other.below[self.key]

    def conflicts_with(self, other: "Buffer") -> bool:
        return (self.overlaps_in_time(other) and self.overlaps_in_space(other)
                and not self.may_share_with(other))


def align_up(value: int, alignment: int = ARENA_ALIGNMENT) -> int:
    return (value + alignment - 1) // alignment * alignment


def align_down(value: int, alignment: int = ARENA_ALIGNMENT) -> int:
    return value // alignment * alignment


def _first_fit(buffer: Buffer, placed: list[Buffer]) -> int:
    """Lowest aligned offset where `buffer` fits between the live buffers already placed."""
    live = sorted((other for other in placed if other.overlaps_in_time(buffer)), key=lambda b: b.offset)
    candidate = 0
    for other in live:
        if candidate + buffer.size <= other.offset:
            break
        candidate = max(candidate, align_up(other.offset + other.size))
    return candidate


def _greedy_first_fit(buffers: list[Buffer]) -> None:
    """TFLM's strategy: largest first, each at the lowest offset that fits (no sharing)."""
    placed: list[Buffer] = []
    for buffer in sorted(buffers, key=lambda b: (-b.size, b.first, b.key)):
        buffer.offset = _first_fit(buffer, placed)
        placed.append(buffer)


def _candidates(buffer: Buffer, live: list[Buffer]) -> set[int]:
    """Offsets worth trying: 0, beside every live buffer, and below the in-place partners."""
    offsets = {0}
    for other in live:
        offsets.add(align_up(other.offset + other.size))
        offsets.add(align_down(other.offset - buffer.size))
        if other.key in buffer.below:
            offsets.add(align_down(other.offset - buffer.below[other.key]))
        if other.key in buffer.same or buffer.key in other.same:
            offsets.add(other.offset)
        if buffer.key in other.below:
            offsets.add(align_up(other.offset + other.below[buffer.key]))
    return offsets


def _fits(buffer: Buffer, offset: int, live: list[Buffer]) -> bool:
    buffer.offset = offset
    return not any(buffer.conflicts_with(other) for other in live)


def _least_growth(order: Callable[[Buffer], tuple], prefer_low: bool) -> Callable[[list[Buffer]], None]:
    """A placement in `order`, each buffer where the extent (lowest to highest byte) grows least."""

    def place(buffers: list[Buffer]) -> None:
        placed: list[Buffer] = []
        low = high = 0
        for buffer in sorted(buffers, key=order):
            live = [other for other in placed if other.overlaps_in_time(buffer)]
            best: tuple[int, int, int] | None = None
            for offset in _candidates(buffer, live):
                if not _fits(buffer, offset, live):
                    continue
                growth = max(high, offset + buffer.size) - min(low, offset) - (high - low)
                rank = (growth, offset if prefer_low else -offset, offset)
                if best is None or rank < best:
                    best = rank
            assert best is not None  # beyond every live buffer always fits
            buffer.offset = best[2]
            low, high = min(low, buffer.offset), max(high, buffer.offset + buffer.size)
            placed.append(buffer)

    return place


def _by_first_use(b: Buffer) -> tuple:
    return (b.first, -b.size, b.key)


def _by_size(b: Buffer) -> tuple:
    return (-b.size, b.first, b.key)


_STRATEGIES = (
    _greedy_first_fit,
    _least_growth(_by_first_use, prefer_low=True),
    _least_growth(_by_first_use, prefer_low=False),
    _least_growth(_by_size, prefer_low=True),
    _least_growth(_by_size, prefer_low=False),
)


def _arena_of(buffers: Iterable[Buffer]) -> int:
    return align_up(max((b.offset + b.size for b in buffers), default=0))


def _normalise(buffers: list[Buffer]) -> None:
    """Shift a placement that went below 0 up to 0 (offsets stay 16-byte aligned)."""
    low = min((b.offset for b in buffers), default=0)
    for buffer in buffers:
        buffer.offset -= low


def place_buffers(buffers: list[Buffer]) -> int:
    """Assign `offset` to every buffer; returns the arena size (16-byte aligned): the smallest
    of the strategies' placements (the first, TFLM's, on a tie)."""
    sized = [b for b in buffers if b.size > 0]
    best: tuple[int, list[int]] | None = None
    for strategy in _STRATEGIES:
        strategy(sized)
        _normalise(sized)
        arena = _arena_of(sized)
        if find_conflicts(sized):  # a safety net: every strategy places conflict-free by construction
            continue
        if best is None or arena < best[0]:
            best = (arena, [b.offset for b in sized])
    for buffer in buffers:
        buffer.offset = 0
    if best is None:
        if sized:
            raise AssertionError("no arena placement without conflicts")  # TFLM's strategy never shares
        return 0
    for buffer, offset in zip(sized, best[1]):
        buffer.offset = offset
    return best[0]


def find_conflicts(buffers: list[Buffer]) -> list[tuple[str, str]]:
    """Pairs of buffers that are live at the same time and share bytes without an in-place
    permission (must be empty)."""
    conflicts = []
    sized = [b for b in buffers if b.size > 0]
    for i, first in enumerate(sized):
        for second in sized[i + 1 :]:
            if first.conflicts_with(second):
                conflicts.append((first.key, second.key))
    return conflicts
