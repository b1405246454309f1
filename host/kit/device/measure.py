"""Turning device ticks into the numbers a student reads: instructions, time, energy.

On an emulated board (QEMU under `-icount shift=0`) a tick count is an instruction count,
exact and repeatable; the time a real chip would take is only an estimate (instructions at
the real board's clock, as if one instruction per cycle). Energy is always modelled from a
catalog power figure, never measured here, and every number says which it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from kit.catalog import Board


@dataclass(frozen=True)
class Timebase:
    """How to read one board's timings.

    `reference` is the board whose clock and power the estimates use: the real board when
    an emulated twin stands in for it, otherwise the board itself."""

    board: Board
    reference: Board
    clock_hz: int
    timer_hz: int

    @property
    def emulated(self) -> bool:
        return self.board.kind == "emulated"

    @property
    def count_unit(self) -> str:
        """What a cycle count means here: instructions on QEMU, CPU cycles on silicon."""
        return "instructions" if self.emulated else "cycles"

    @property
    def time_label(self) -> str:
        if self.emulated:
            return f"estimate at {self.reference.name}'s {self.reference.clock_hz / 1e6:g} MHz, 1 instruction/cycle"
        return "measured"

    def cycles(self, ticks: float) -> float:
        return ticks * self.clock_hz / self.timer_hz

    def microseconds(self, ticks: float) -> float:
        """Emulated: estimated time at the reference clock; silicon: the timer's time."""
        if self.emulated:
            return self.cycles(ticks) / self.reference.clock_hz * 1e6
        return ticks / self.timer_hz * 1e6


@dataclass(frozen=True)
class Energy:
    """Energy per inference, modelled as power x time."""

    microjoules: float
    power_mw: float
    power_board: str
    power_basis: str
    label: str = "modelled"

    def as_dict(self) -> dict[str, float | str]:
        return {
            "uj_per_inference": self.microjoules,
            "power_mw": self.power_mw,
            "power_board": self.power_board,
            "power_basis": self.power_basis,
            "label": self.label,
        }


def modelled_energy(reference: Board, mean_us: float) -> Energy:
    """mW x µs = nJ; reported in µJ from the reference board's active power."""
    return Energy(
        microjoules=reference.active_power_mw * mean_us / 1000.0,
        power_mw=reference.active_power_mw,
        power_board=reference.name,
        power_basis=reference.power_basis,
    )
