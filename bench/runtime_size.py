"""Code size of kit's C runtime per target: text/data/bss of the executor and every kernel.

    .venv/bin/python bench/runtime_size.py [--json]

Each source is compiled alone with the runtime's flags (-O2) for host gcc, Cortex-M4F,
Cortex-M7 (hard float, Thumb-2) and RV32IMC, then measured with the matching `size`. A
target whose compiler is missing is reported as such, not silently dropped.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from kit.runtime_host.build import COMMON_FLAGS, include_flags, runtime_sources, warning_flags  # noqa: E402

TARGETS: dict[str, tuple[list[str], str]] = {
    "host": (["gcc"], "size"),
    "cortex-m4": (["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", "-mthumb"],
                  "arm-none-eabi-size"),
    "cortex-m7": (["arm-none-eabi-gcc", "-mcpu=cortex-m7", "-mfpu=fpv5-d16", "-mfloat-abi=hard", "-mthumb"],
                  "arm-none-eabi-size"),
    "rv32imc": (["riscv64-unknown-elf-gcc", "-march=rv32imc", "-misa-spec=2.2", "-mabi=ilp32",
                 "--specs=picolibc.specs"], "riscv64-unknown-elf-size"),
}


class CompileFailed(Exception):
    """A runtime source did not compile for a target (gcc's stderr kept for the report)."""

    def __init__(self, target: str, source: Path, stderr: str) -> None:
        super().__init__(f"{target}: {source}")
        self.target, self.source, self.stderr = target, source, stderr


def measure_object(size_tool: str, obj: Path) -> dict[str, int]:
    """text/data/bss of one object file (Berkeley format of `size`)."""
    lines = subprocess.run([size_tool, str(obj)], capture_output=True, text=True, check=True).stdout.splitlines()
    text, data, bss = (int(v) for v in lines[1].split()[:3])
    return {"text": text, "data": data, "bss": bss}


def measure_target(name: str, workdir: Path) -> dict[str, dict[str, int]] | str:
    """Per-source sizes for one target, or the reason it could not be measured."""
    compiler, size_tool = TARGETS[name]
    if shutil.which(compiler[0]) is None or shutil.which(size_tool) is None:
        return f"{compiler[0]} or {size_tool} not installed"
    sizes: dict[str, dict[str, int]] = {}
    for source in runtime_sources():
        obj = workdir / f"{name}-{source.stem}.o"
        command = [*compiler, *COMMON_FLAGS, *warning_flags(), *include_flags(), "-c", str(source), "-o", str(obj)]
        completed = subprocess.run(command, capture_output=True, text=True)
        if completed.returncode != 0:
            raise CompileFailed(name, source, completed.stderr)
        sizes[source.stem] = measure_object(size_tool, obj)
    sizes["TOTAL"] = {key: sum(s[key] for s in sizes.values()) for key in ("text", "data", "bss")}
    return sizes


def main() -> None:
    as_json = "--json" in sys.argv[1:]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results = {name: measure_target(name, Path(tmp)) for name in TARGETS}
    except CompileFailed as failure:
        print(f"error: {failure.source.name} does not compile for {failure.target}", file=sys.stderr)
        print(failure.stderr.rstrip(), file=sys.stderr)
        sys.exit(1)
    if as_json:
        print(json.dumps(results, indent=1))
        return
    console = Console()
    measured = {n: r for n, r in results.items() if isinstance(r, dict)}
    table = Table(title="kit runtime code size, bytes of .text (data+bss in brackets when not 0), -O2")
    table.add_column("source")
    for name in measured:
        table.add_column(name, justify="right")
    sources = next(iter(measured.values())).keys() if measured else []
    for source in sources:
        cells = []
        for result in measured.values():
            s = result[source]
            extra = s["data"] + s["bss"]
            cells.append(f"{s['text']:,}" + (f" [{extra}]" if extra else ""))
        table.add_row(source, *cells, style="bold" if source == "TOTAL" else None)
    console.print(table)
    for name, result in results.items():
        if isinstance(result, str):
            console.print(f"{name}: not measured ({result})")


if __name__ == "__main__":
    main()
