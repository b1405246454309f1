#!/usr/bin/env python3
"""Wall time of `kit flash BOARD LAB` cold (empty KIT_HOME: compile, build, boot) and warm
(everything cached), and how often each run parsed the .tflite and built a memory plan.

    .venv/bin/python bench/flash_time.py                       # emu-cortex-m4 kws
    .venv/bin/python bench/flash_time.py --board emu-rv32 --lab visual-wake-words --repeat 3

Issue 10's anchor: a warm flash should do no model parse and no plan. Each flash runs in a
child process (its own imports, as a student's command would) under a fresh KIT_HOME kept
for the warm runs; the emulator is stopped after each. Wall times depend on the machine's
load: run it on a quiet machine and compare figures from the same one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Runs inside the child: count load_model / build_plan calls, then run the CLI.
CHILD = r"""
import json, sys
import kit.compile.planner as planner
import kit.compile.tflite as tflite
counts = {"parses": 0, "plans": 0}
def counted(function, key):
    def wrapper(*args, **kwargs):
        counts[key] += 1
        return function(*args, **kwargs)
    return wrapper
tflite.load_model = counted(tflite.load_model, "parses")
planner.build_plan = counted(planner.build_plan, "plans")
from kit.cli import main
try:
    main(sys.argv[2:], standalone_mode=False)
finally:
    with open(sys.argv[1], "w") as handle:
        json.dump(counts, handle)
"""


def run_flash(board: str, lab: str, home: Path) -> dict:
    """One `kit flash` in a child process: wall seconds, parses, plans; then `kit stop`."""
    counts_file = home / "counts.json"
    env = {**os.environ, "KIT_HOME": str(home)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, str(counts_file), "flash", board, lab],
                          env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    subprocess.run([str(Path(sys.executable).with_name("kit")), "stop", "--all"], env=env, capture_output=True, check=True)
    if done.returncode != 0:
        raise SystemExit(f"kit flash {board} {lab} failed:\n{done.stderr[-2000:]}")
    return {"seconds": round(seconds, 2), **json.loads(counts_file.read_text())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--board", default="emu-cortex-m4")
    parser.add_argument("--lab", default="kws")
    parser.add_argument("--repeat", type=int, default=2, help="warm runs after the cold one")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kit-flash-bench-") as folder:
        home = Path(folder)
        rows = [{"run": "cold", **run_flash(args.board, args.lab, home)}]
        rows += [{"run": f"warm {i + 1}", **run_flash(args.board, args.lab, home)} for i in range(args.repeat)]
    if args.json:
        print(json.dumps({"board": args.board, "lab": args.lab, "runs": rows}, indent=2))
        return
    print(f"kit flash {args.board} {args.lab} (load average {os.getloadavg()[0]:.1f})")
    print(f"{'run':<8} {'wall s':>8} {'parses':>7} {'plans':>6}")
    for row in rows:
        print(f"{row['run']:<8} {row['seconds']:>8.2f} {row['parses']:>7} {row['plans']:>6}")
    print("anchor (issue 10): a warm flash parses and plans 0 times")


if __name__ == "__main__":
    main()
