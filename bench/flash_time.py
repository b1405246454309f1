#!/usr/bin/env python3
"""Wall time of `kit flash BOARD LAB` cold (empty KIT_HOME: compile, build, boot) and warm
(everything cached), and how often each run parsed the .tflite, built a memory plan, hashed
the model bytes and ran the TFLM arena probe. CPU seconds (the flash process and the
children it waited for) depend less on the machine's load than wall seconds.

    .venv/bin/python bench/flash_time.py                       # emu-cortex-m4 kws
    .venv/bin/python bench/flash_time.py --board emu-rv32 --lab visual-wake-words --repeat 3

Issue 10's anchor: a warm flash does no model parse and no plan, a convert hashes the model
bytes once, and an emulated flash runs no TFLM arena probe and writes no TFLM arrays. Each
flash runs in a child process (its own imports, as a student's command would) under a fresh
KIT_HOME kept for the warm runs; the emulator is stopped after each. Counted in that process
only (the TFLM probe's own child and PlatformIO are not). `hashes` counts every sha256 of the
model's bytes in the whole flash, `kit.catalog.mlperf.model_id_for` (the MLPerf id by
content) included, so the floor is 2: that one and convert's. Wall times depend on the
machine's load: compare figures from the same machine.

BEFORE holds the figures of the last commit before the typed compiled model (10c136b),
measured with this script on the 2-core lab machine; the table prints them beside this run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# emu-cortex-m4 kws at 10c136b: wall times from the script's run before any change (load
# average 0.2); the hash, probe and array counts from this script run on a checkout of 10c136b
# (its parse and plan counts agree). The cold run parsed the model twice (kit's plan, then again
# for the TFLM arrays) and probed the TFLM arena; every warm run parsed and planned the model
# again only to learn its input size (the fit check).
BEFORE = {
    "board": "emu-cortex-m4", "lab": "kws", "commit": "10c136b",
    "runs": [
        {"run": "cold", "seconds": 3.51, "parses": 2, "plans": 1, "hashes": 5, "tflm_probes": 1, "tflm_arrays": 1},
        {"run": "warm 1", "seconds": 1.19, "parses": 1, "plans": 1, "hashes": 4, "tflm_probes": 0, "tflm_arrays": 0},
        {"run": "warm 2", "seconds": 1.02, "parses": 1, "plans": 1, "hashes": 4, "tflm_probes": 0, "tflm_arrays": 0},
    ],
}
COUNTS = ("parses", "plans", "hashes", "tflm_probes", "tflm_arrays")

# Runs inside the child: count parses, plans, TFLM probes and array writes, and sha256 calls
# over the model's bytes (recorded as digests, matched against the flashed model's at the
# end), then run the CLI.
CHILD = r"""
import hashlib, json, sys
_sha256 = hashlib.sha256
digests = []
def sha256(*args, **kwargs):
    state = _sha256(*args, **kwargs)
    if args and len(args[0]):
        digests.append(state.copy().hexdigest())
    return state
hashlib.sha256 = sha256
import kit.compile.planner as planner
import kit.compile.tflite as tflite
import kit.compile.tflm_arrays as tflm_arrays
import kit.tflm as tflm
counts = {"parses": 0, "plans": 0, "tflm_probes": 0, "tflm_arrays": 0}
def counted(function, key):
    def wrapper(*args, **kwargs):
        counts[key] += 1
        return function(*args, **kwargs)
    return wrapper
tflite.load_model = counted(tflite.load_model, "parses")
planner.build_plan = counted(planner.build_plan, "plans")
tflm.measure_arena_bytes = counted(tflm.measure_arena_bytes, "tflm_probes")
tflm_arrays.write_tflm_arrays = counted(tflm_arrays.write_tflm_arrays, "tflm_arrays")
from kit.cli import main
try:
    main(sys.argv[2:], standalone_mode=False)
finally:
    from kit.targets import state
    flashed = {entry.sha256 for entry in state.all_states()}
    counts["hashes"] = sum(digest in flashed for digest in digests)
    with open(sys.argv[1], "w") as handle:
        json.dump(counts, handle)
"""


def run_flash(board: str, lab: str, home: Path) -> dict:
    """One `kit flash` in a child process: wall seconds and the counts; then `kit stop`."""
    counts_file = home / "counts.json"
    env = {**os.environ, "KIT_HOME": str(home)}
    cpu_before = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, str(counts_file), "flash", board, lab],
                          env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    cpu = _children_cpu() - cpu_before
    subprocess.run([sys.executable, "-c", "from kit.cli import main; main()", "stop", "--all"], env=env,
                   capture_output=True, check=True)
    if done.returncode != 0:
        raise SystemExit(f"kit flash {board} {lab} failed:\n{done.stderr[-2000:]}")
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), **json.loads(counts_file.read_text())}


def _children_cpu() -> float:
    """User + system CPU seconds of every finished child (and the children they waited for:
    the PlatformIO build, the TFLM probe; not the emulator, which outlives the flash)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cell(before: dict | None, row: dict, key: str) -> str:
    now = f"{row[key]:.2f}" if key.endswith("seconds") else str(row[key])
    if before is None or key not in before:
        return now
    then = f"{before[key]:.2f}" if key.endswith("seconds") else str(before[key])
    return f"{then} -> {now}"


def print_table(board: str, lab: str, rows: list[dict]) -> None:
    same = BEFORE["board"] == board and BEFORE["lab"] == lab
    before = {row["run"]: row for row in BEFORE["runs"]} if same else {}
    print(f"kit flash {board} {lab} (load average {os.getloadavg()[0]:.1f})"
          + (f"; before ({BEFORE['commit']}) -> now" if same else ""))
    keys = ("seconds", "cpu_seconds", *COUNTS)
    cells = [[row["run"], *(_cell(before.get(row["run"]), row, key) for key in keys)] for row in rows]
    header = ["run", "wall s", "cpu s", *COUNTS]
    widths = [max(len(str(line[i])) for line in [header, *cells]) for i in range(len(header))]
    for line in [header, *cells]:
        print("  ".join(str(value).rjust(width) if i else str(value).ljust(width)
                        for i, (value, width) in enumerate(zip(line, widths))))
    print("anchor (issue 10): a warm flash parses and plans 0 times; an emulated flash probes TFLM 0 times")


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
        print(json.dumps({"board": args.board, "lab": args.lab, "runs": rows, "before": BEFORE}, indent=2))
        return
    print_table(args.board, args.lab, rows)


if __name__ == "__main__":
    main()
