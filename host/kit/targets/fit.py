"""Does the compiled model fit the board whose limits apply (the real board for a twin)?

Weights go to flash; the arena, the input buffer and the harness go to RAM. With the TFLM
engine the whole .tflite sits in flash and TFLM's arena in RAM. The check runs before any
build, so a model too big for the board is refused with both sides named."""

from __future__ import annotations

from dataclasses import dataclass
from kit.catalog import Board
from kit.compile.compiled import CompiledModel
from kit.errors import ModelError

# RAM the harness itself needs besides the arena and the input buffer (stack, line buffer,
# per-op table, C library state), used for the fit check before the linker gives exact sizes.
HARNESS_RAM_BYTES = 16 * 1024


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


def input_bytes_of(compiled: CompiledModel) -> int:
    """The input buffer, from the compiled model's metadata (no parse, no plan on a cache hit)."""
    return compiled.input.nbytes if compiled.input is not None else 0


def fit_for_engine(reference: Board, label: str, compiled: CompiledModel, engine: str = "kit") -> Fit:
    """kit's runtime: weights in flash, arena + input + harness in RAM; TFLM: the .tflite in
    flash and TFLM's arena in RAM."""
    limits = reference.memory_limits()
    input_bytes = input_bytes_of(compiled)
    harness = f" + input {input_bytes:,} B + harness ~{HARNESS_RAM_BYTES // 1024} KB"
    if engine == "tflm":
        return Fit(
            flash_needed=int(compiled.model_bytes),
            ram_needed=int(compiled.tensor_arena_size) + input_bytes + HARNESS_RAM_BYTES,
            flash_limit=limits.flash_bytes, ram_limit=limits.ram_bytes, board=label,
            detail=f"TFLM: .tflite {compiled.model_bytes:,} B; arena {compiled.tensor_arena_size:,} B{harness}",
        )
    return Fit(
        flash_needed=int(compiled.weight_bytes),
        ram_needed=int(compiled.arena_bytes_kit) + input_bytes + HARNESS_RAM_BYTES,
        flash_limit=limits.flash_bytes, ram_limit=limits.ram_bytes, board=label,
        detail=f"weights {compiled.weight_bytes:,} B; arena {compiled.arena_bytes_kit:,} B{harness}",
    )
