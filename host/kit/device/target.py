"""Which board runs, and whose limits apply: a real board, its emulated twin, or an emulator.

`kit flash nicla-vision kws --emulate` runs on emu-cortex-m7 but must behave like a Nicla
Vision: its flash and RAM limits for the fit check, its clock for time estimates and its
power for energy. `Target` carries both boards so no stage mixes them up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kit.catalog import Board, get_board, list_boards, twin_of
from kit.errors import KitError, ModelError


@dataclass(frozen=True)
class Target:
    requested: Board  # what the user named
    run_on: Board     # the board that executes the firmware
    reference: Board  # limits, clock and power (the real board for a twin)

    @property
    def emulated(self) -> bool:
        return self.run_on.kind == "emulated"

    @property
    def label(self) -> str:
        if self.run_on.name == self.reference.name:
            return self.run_on.name
        return f"{self.run_on.name} (emulating {self.reference.name})"


def resolve_target(name: str, emulate: bool = False) -> Target:
    """Map a board name (+ --emulate) to the board that runs and the board it stands for."""
    board = get_board(name)
    if board.kind == "emulated":
        return Target(requested=board, run_on=board, reference=board)
    if board.kind == "linux":
        raise KitError(
            f"{board.name} is a Linux board: it runs models with LiteRT, not flashed firmware",
            hint=f"use `kit deploy {board.name} LAB --host USER@HOST`",
        )
    if board.kind == "host":
        raise KitError(
            "the host board needs no flashing",
            hint="run a model on it with `kit invoke host --model M --input in.npy --output out.npy`",
        )
    if emulate:
        if board.emulated_twin is None:
            twins = ", ".join(b.name for b in list_boards() if b.emulated_twin) or "none"
            raise KitError(
                f"{board.name} has no emulated twin",
                hint=f"boards with an emulated twin: {twins}; or use an emulated board directly "
                "(emu-cortex-m4, emu-cortex-m7, emu-rv32)",
            )
        return Target(requested=board, run_on=twin_of(board), reference=board)
    return Target(requested=board, run_on=board, reference=board)


@dataclass(frozen=True)
class Fit:
    """What a firmware image needs against what the reference board allows."""

    flash_needed: int
    ram_needed: int
    flash_limit: int
    ram_limit: int
    board: str
    detail: str = ""

    @property
    def fits(self) -> bool:
        return self.flash_needed <= self.flash_limit and self.ram_needed <= self.ram_limit


def kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"


def check_fit(fit: Fit) -> None:
    """Raise ModelError naming both sides when the model does not fit the board."""
    if fit.fits:
        return
    problems = []
    if fit.flash_needed > fit.flash_limit:
        problems.append("flash")
    if fit.ram_needed > fit.ram_limit:
        problems.append("RAM")
    raise ModelError(
        f"the model does not fit {fit.board}: needs {kb(fit.flash_needed)} flash / {kb(fit.ram_needed)} RAM"
        f"{' (' + fit.detail + ')' if fit.detail else ''}, board has {kb(fit.flash_limit)} flash / "
        f"{kb(fit.ram_limit)} RAM (too little {' and '.join(problems)})",
        hint="use a smaller model (fewer filters or a smaller input) or a board with more memory",
    )


def model_file(path: str | Path) -> Path:
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise ModelError(f"model file not found: {resolved}", hint="pass the path of an int8 .tflite file with --model")
    return resolved
