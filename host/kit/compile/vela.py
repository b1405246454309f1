"""Compile a .tflite for a board's Ethos-U NPU with Arm's Vela and read what it decided.

Vela (PyPI `ethos-u-vela`) rewrites the model: the operators it can place run in one or more
`ethos-u` custom ops on the NPU, the rest stay TFLite ops for the CPU (TFLM's kernels on the
board's Cortex-M). kit runs it in a child process with the board file's `[npu]` table (the
accelerator, and the system and memory configuration written into a Vela .ini), then reads:
which of the model's operators fell back to the CPU and Vela's reason for each (its
"supported operators" warnings, matched to the model's operators by output tensor name),
Vela's own NPU/CPU operator counts, the SRAM and flash it plans, and its inference time.
That time is Vela's performance-model ESTIMATE at the configured NPU clock, never a
measurement, and is labelled so wherever it is shown.
"""

from __future__ import annotations

import csv
import importlib.util
import re
import subprocess
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kit.catalog.models import Npu
from kit.compile.tflite import load_model
from kit.errors import ModelError, ToolMissingError

VELA_PACKAGE = "ethos-u-vela==5.2.0"
VELA_TIMEOUT_S = 600
KIB = 1024

_WARNING_RE = re.compile(r"^Warning \(supported operators\) operator: (\w+), ofm: '(.*)'$")
_COUNT_RE = re.compile(r"^(CPU|NPU) operators = (\d+)")


@dataclass(frozen=True)
class CpuOperator:
    """One operator Vela leaves to the CPU: its TFLite type, output tensor and Vela's reason."""

    op: str
    output: str
    reason: str


@dataclass(frozen=True)
class NpuReport:
    """What Vela made of a model for one board's NPU (sizes in bytes, time in seconds)."""

    board: str
    accelerator: str
    vela_version: str
    npu_clock_hz: float
    npu_ops: dict[str, int]              # the model's TFLite op types Vela placed on the NPU
    cpu_ops: list[CpuOperator]           # the model's operators left to the CPU, with reasons
    vela_npu_operators: int              # Vela's own counts (after its graph rewrites)
    vela_cpu_operators: int
    sram_bytes: int
    flash_bytes: int
    estimated_inference_s: float
    vela_model: str                      # the *_vela.tflite the board runs
    estimate_label: str = "Vela performance-model estimate, not measured"
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def vela_installed() -> bool:
    return importlib.util.find_spec("ethosu.vela") is not None


def write_config(npu: Npu, path: Path) -> Path:
    """The board's `[npu]` system and memory configuration as a Vela .ini."""
    lines = [f"; Written by kit from the board file's [npu] table (sources: {', '.join(npu.sources)})",
             f"[System_Config.{npu.system_name}]"]
    lines += [f"{key}={value}" for key, value in npu.system_config.items()]
    lines += ["", f"[Memory_Mode.{npu.memory_mode_name}]"]
    lines += [f"{key}={value}" for key, value in npu.memory_mode.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def vela_command(model: Path, npu: Npu, config: Path, out_dir: Path) -> list[str]:
    return [sys.executable, "-c", "import sys; from ethosu.vela.vela import main; sys.exit(main())",
            "--accelerator-config", npu.accelerator_config, "--config", str(config),
            "--system-config", npu.system_name, "--memory-mode", npu.memory_mode_name,
            "--output-dir", str(out_dir), str(model)]


def compile_for_npu(model: str | Path, board: str, npu: Npu, out_dir: str | Path) -> NpuReport:
    """Run Vela on `model` for `board`'s NPU into `out_dir`; the placement, memory and estimate."""
    model, out_dir = Path(model), Path(out_dir)
    if not vela_installed():
        raise ToolMissingError("Arm's Vela compiler (Python package ethos-u-vela) is not installed",
                               hint=f"pip install {VELA_PACKAGE}")
    out_dir.mkdir(parents=True, exist_ok=True)
    config = write_config(npu, out_dir / "vela.ini")
    try:
        run = subprocess.run(vela_command(model, npu, config, out_dir), capture_output=True, text=True,
                             timeout=VELA_TIMEOUT_S, cwd=out_dir)
    except subprocess.TimeoutExpired:
        raise ModelError(f"Vela did not finish compiling {model.name} within {VELA_TIMEOUT_S} s",
                         hint="try a smaller model, or run vela by hand to see where it stops") from None
    (out_dir / "vela.log").write_text(run.stdout + run.stderr)
    if run.returncode != 0:
        last = (run.stderr.strip() or run.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise ModelError(f"Vela could not compile {model.name} for {board}: {last[0]}",
                         hint=f"the whole log is in {out_dir / 'vela.log'}")
    return _report(model, board, npu, out_dir, run.stdout)


def _report(model: Path, board: str, npu: Npu, out_dir: Path, log: str) -> NpuReport:
    summary = _summary_row(out_dir, model.stem)
    vela_model = out_dir / f"{model.stem}_vela.tflite"
    if not vela_model.is_file():
        raise ModelError(f"Vela wrote no {vela_model.name}", hint=f"see {out_dir / 'vela.log'}")
    warned = parse_cpu_fallbacks(log)
    npu_ops, cpu_ops = place_operators(model, warned)
    counts: dict[str, int] = {}
    for match in filter(None, (_COUNT_RE.match(line.strip()) for line in log.splitlines())):
        counts.setdefault(match.group(1), int(match.group(2)))  # Vela may print a count twice
    return NpuReport(
        board=board, accelerator=npu.accelerator_config, vela_version=_vela_version(),
        npu_clock_hz=_number(summary, "core_clock"), npu_ops=npu_ops, cpu_ops=cpu_ops,
        vela_npu_operators=counts.get("NPU", 0), vela_cpu_operators=counts.get("CPU", 0),
        sram_bytes=round(_number(summary, "sram_memory_used") * KIB),
        flash_bytes=round(_number(summary, "off_chip_flash_memory_used") * KIB),
        estimated_inference_s=_number(summary, "inference_time"), vela_model=str(vela_model),
    )


def parse_cpu_fallbacks(log: str) -> list[CpuOperator]:
    """Vela's "supported operators" warnings: (op, output tensor, reason lines joined)."""
    found: list[CpuOperator] = []
    lines = log.splitlines()
    for i, line in enumerate(lines):
        match = _WARNING_RE.match(line.strip())
        if match is None:
            continue
        reason = []
        for following in lines[i + 1:]:
            if not following.strip() or _WARNING_RE.match(following.strip()):
                break
            reason.append(following.strip().removeprefix("Reason: "))
        found.append(CpuOperator(match.group(1), match.group(2), " ".join(reason) or "no reason given"))
    return found


def place_operators(model: Path, warned: list[CpuOperator]) -> tuple[dict[str, int], list[CpuOperator]]:
    """The model's own operators split into NPU op-type counts and CPU operators with reasons.
    An operator is on the CPU when Vela warned about its output tensor; Vela's warnings about
    operators it inserted itself (QUANTIZE around a float op) are kept beside them."""
    parsed = load_model(model)
    by_output = {w.output: w for w in warned}
    npu: Counter[str] = Counter()
    cpu: list[CpuOperator] = []
    for operator in parsed.operators:
        names = [parsed.tensors[i].name for i in operator.outputs]
        warning = next((by_output.pop(n) for n in names if n in by_output), None)
        if warning is None:
            npu[operator.op] += 1
        else:
            cpu.append(CpuOperator(operator.op, warning.output, warning.reason))
    return dict(npu), cpu + list(by_output.values())


def _summary_row(out_dir: Path, stem: str) -> dict[str, str]:
    files = sorted(out_dir.glob(f"{stem}_summary_*.csv"))
    if not files:
        raise ModelError(f"Vela wrote no summary for {stem}", hint=f"see {out_dir / 'vela.log'}")
    with files[0].open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if len(rows) != 1:
        raise ModelError(f"Vela's summary {files[0].name} has {len(rows)} rows, expected 1",
                         hint=f"see {out_dir / 'vela.log'}")
    return rows[0]


def _number(row: dict[str, str], column: str) -> float:
    try:
        value = float(row[column])
    except (KeyError, ValueError):
        raise ModelError(f"Vela's summary has no number in column {column!r}",
                         hint="this Vela version writes another summary format; install " + VELA_PACKAGE) from None
    if not 0 <= value < 1e12:
        raise ModelError(f"Vela's summary gives {column} = {value}, out of range", hint="re-run vela by hand")
    return value


def _vela_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ethos-u-vela")
    except PackageNotFoundError:
        return "unknown"


__all__ = ["CpuOperator", "NpuReport", "VELA_PACKAGE", "compile_for_npu", "parse_cpu_fallbacks",
           "place_operators", "vela_installed", "write_config"]
