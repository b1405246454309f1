#!/usr/bin/env python3
"""Vision samples a minute through `kit validate` on the emulated boards (issue 9's aim: >= 50
on a twin), with the input channel each board used (kit-load-file or the UART).

    .venv/bin/python bench/validate_speed.py                     # emu-cortex-m4, emu-rv32
    .venv/bin/python bench/validate_speed.py --boards emu-cortex-m7 --limit 60

The lab's dataset is generated (or read from the cache) before the clock starts; the figure
is wall time of `kit validate BOARD visual-wake-words --limit N` on a flashed twin, so it
depends on the machine's load: compare runs from the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

AIM_PER_MINUTE = 50
LAB = "visual-wake-words"


def kit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).with_name("kit")), *args], capture_output=True, text=True)


def measure(board: str, limit: int) -> dict:
    flashed = kit("flash", board, LAB)
    if flashed.returncode != 0:
        raise SystemExit(f"kit flash {board} {LAB} failed:\n{flashed.stderr[-1500:]}")
    try:
        kit("validate", board, LAB, "--limit", "1", "--json")  # warm: dataset and reference outputs cached
        start = time.perf_counter()
        done = kit("validate", board, LAB, "--limit", str(limit), "--json")
        seconds = time.perf_counter() - start
    finally:
        kit("stop", board)
    if done.returncode not in (0, 1):
        raise SystemExit(f"kit validate {board} failed:\n{done.stderr[-1500:]}")
    report = json.loads(done.stdout)
    header = json.loads(Path(report["results_file"]).read_text().splitlines()[0])
    channel = "kit-load-file" if header.get("info", {}).get("host_files") == "1" else "kit-load (UART)"
    return {"board": board, "samples": report["samples"], "seconds": round(seconds, 1),
            "per_minute": round(60 * report["samples"] / seconds, 1), "bit_exact": report["bit_exact"], "channel": channel}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boards", default="emu-cortex-m4,emu-rv32")
    parser.add_argument("--limit", type=int, default=30)
    args = parser.parse_args()
    rows = [measure(board, args.limit) for board in args.boards.split(",")]
    print(f"kit validate {LAB} --limit {args.limit} (load average {os.getloadavg()[0]:.1f}); aim >= {AIM_PER_MINUTE}/min")
    print(f"{'board':<15} {'samples':>7} {'wall s':>7} {'per min':>8} {'bit-exact':>9}  channel")
    for row in rows:
        print(f"{row['board']:<15} {row['samples']:>7} {row['seconds']:>7.1f} {row['per_minute']:>8.1f} "
              f"{str(row['bit_exact']):>9}  {row['channel']}")


if __name__ == "__main__":
    main()
