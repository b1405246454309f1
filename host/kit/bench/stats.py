"""Latency statistics shared by every bench (MCU over serial, emulated board, Raspberry Pi)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence


@dataclass(frozen=True)
class LatencyStats:
    """Summary of a list of latencies, all in the same unit as the input."""

    count: int
    min: float
    p50: float
    p90: float
    p99: float
    max: float
    mean: float
    std: float

    @property
    def per_second(self) -> float:
        """Inferences per second when the unit is microseconds."""
        return 1e6 / self.mean if self.mean > 0 else float("inf")

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Linear-interpolated percentile (the same rule as numpy's default)."""
    if not sorted_values:
        raise ValueError("no values")
    position = (len(sorted_values) - 1) * fraction
    low = math.floor(position)
    high = math.ceil(position)
    weight = position - low
    return sorted_values[low] * (1 - weight) + sorted_values[high] * weight


def summarize(values: Sequence[float]) -> LatencyStats:
    """min/p50/p90/p99/max/mean/std (population std) of a non-empty sequence."""
    if not values:
        raise ValueError("cannot summarize an empty list of measurements")
    ordered = sorted(float(v) for v in values)
    mean = sum(ordered) / len(ordered)
    variance = sum((v - mean) ** 2 for v in ordered) / len(ordered)
    return LatencyStats(
        count=len(ordered),
        min=ordered[0],
        p50=percentile(ordered, 0.50),
        p90=percentile(ordered, 0.90),
        p99=percentile(ordered, 0.99),
        max=ordered[-1],
        mean=mean,
        std=math.sqrt(variance),
    )
