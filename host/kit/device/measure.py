"""Turning device ticks into the numbers a student reads: instructions, time, energy.

On an emulated board (QEMU under `-icount shift=0`) a tick count is an instruction count,
exact and repeatable; the time a real chip would take is only an estimate (instructions at
the real board's clock, as if one instruction per cycle), and a bare emulated board has no
real clock at all (its 1 GHz is QEMU's virtual time). Without a meter, energy is modelled
from a catalog power figure, and only for a board the user named; with one (kit.device.power)
it is integrated from the meter's trace. Every number says which it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kit.catalog import Board
from kit.targets import target_class


def runs_emulated(board: Board) -> bool:
    """The board's target counts QEMU instructions, not cycles (its target class says)."""
    return target_class(board).emulated


@dataclass(frozen=True)
class Timebase:
    """How to read one device's timings.

    `board` runs the firmware and `reference` is the board whose clock the estimates use
    (the real board when an emulated twin stands in for it, else the board itself); both are
    None for a device kit does not know (`kit bench --port PORT`), whose timer time is simply
    measured. `qemu`: the device says it is an emulator (its kit-info build names a QEMU
    target) though no board was named."""

    board: Board | None
    reference: Board | None
    clock_hz: int
    timer_hz: int
    qemu: bool = False

    @property
    def emulated(self) -> bool:
        return self.qemu or (self.board is not None and runs_emulated(self.board))

    @property
    def estimated(self) -> bool:
        """Times are an estimate for a real chip (an emulated twin of a real board)."""
        return (self.emulated and self.board is not None and self.reference is not None
                and self.reference.name != self.board.name)

    @property
    def count_unit(self) -> str:
        """What a cycle count means here: instructions on QEMU, CPU cycles on silicon."""
        return "instructions" if self.emulated else "cycles"

    @property
    def counted(self) -> str:
        """What the device counted, in words (shown beside every emulated number)."""
        if not self.emulated:
            return "the device's timer"
        arch = f" {self.board.arch}" if self.board is not None else ""
        return f"{arch.strip() or 'emulated'} instructions counted under QEMU -icount shift=0 (not cycles)"

    @property
    def time_label(self) -> str:
        if self.estimated:
            assert self.board is not None and self.reference is not None
            label = (f"estimate for {self.reference.name} at {self.reference.clock_hz / 1e6:g} MHz from "
                     f"{self.counted}, 1 instruction/cycle assumed")
            if self.board.arch != self.reference.arch:
                label += (f"; {self.reference.name} runs {self.reference.arch} code, not {self.board.arch}: "
                          "a rough guide only")
            return label
        if self.emulated:
            return f"QEMU virtual time (1 instruction = 1 ns) from {self.counted}: no real chip's time"
        return "measured by the device's timer"

    def cycles(self, ticks: float) -> float:
        return ticks * self.clock_hz / self.timer_hz

    def microseconds(self, ticks: float) -> float:
        """Twin of a real board: estimated time at its clock; otherwise the timer's time."""
        if self.estimated:
            assert self.reference is not None and self.reference.clock_hz
            return self.cycles(ticks) / self.reference.clock_hz * 1e6
        return ticks / self.timer_hz * 1e6


@dataclass(frozen=True)
class Energy:
    """Energy per inference: modelled as catalog power x time (`meter` empty), or from a
    meter's trace (`meter` names it; `label` is `measured`, or `modelled` for the twins'
    modelled meter). `power_mw` is the average power during inferences."""

    microjoules: float
    power_mw: float
    power_board: str
    power_basis: str
    label: str = "modelled"
    meter: str = ""
    idle_power_mw: float | None = None
    peak_power_mw: float | None = None
    sync: str = ""
    sync_error_us: float | None = None
    per_inference_uj: list[float] | None = None
    samples_file: str | None = None
    samples: int = 0
    sample_hz: float | None = None
    supply_v: float | None = None

    def as_dict(self) -> dict[str, Any]:
        base: dict[str, Any] = {
            "uj_per_inference": self.microjoules,
            "power_mw": self.power_mw,
            "power_board": self.power_board,
            "power_basis": self.power_basis,
            "label": self.label,
        }
        if self.meter:
            base.update({
                "meter": self.meter, "idle_power_mw": self.idle_power_mw, "peak_power_mw": self.peak_power_mw,
                "average_power_mw": self.power_mw, "sync": self.sync, "sync_error_us": self.sync_error_us,
                "per_inference_uj": self.per_inference_uj, "samples_file": self.samples_file,
                "samples": self.samples, "sample_hz": self.sample_hz, "supply_v": self.supply_v,
            })
        return base


def modelled_energy(reference: Board | None, mean_us: float) -> Energy | None:
    """mW x µs = nJ; reported in µJ from the reference board's active power. None for a
    device kit does not know: a catalog board's power says nothing about it."""
    if reference is None:
        return None
    return Energy(
        microjoules=reference.active_power_mw * mean_us / 1000.0,
        power_mw=reference.active_power_mw,
        power_board=reference.name,
        power_basis=reference.power_basis,
    )
