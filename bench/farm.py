"""Throughput of a labgrid farm of N emulated twins on this machine: boards benched per minute,
and where the time goes (coordination: acquire + release through the coordinator; benching:
connect, model check, bench, validate).

A real coordinator on loopback, `kit farm export` processes of a few twins each, then one
`kit farm bench` (in process) over all of them. On a 2-core machine the twins share the CPU:
the numbers say what a small CI runner sustains, not what 12 laptops would.

    .venv/bin/python bench/farm.py [--twins 12] [--per-exporter 3] [--runs 20] [--validate 3] [--jobs 4]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))

from kit.farm.bench import FarmRequest, bench_farm  # noqa: E402
from kit.farm.coordinator import FarmClient, start_coordinator  # noqa: E402
from kit.upload.qemu import free_tcp_port  # noqa: E402

BOARDS = ["emu-cortex-m4", "emu-cortex-m7", "emu-rv32"]
KIT = [sys.executable, "-c", "from kit.cli import main; main()"]


def start_exporters(address: str, twins: int, per_exporter: int, lab: str, folder: Path) -> list[subprocess.Popen]:
    processes = []
    for first in range(0, twins, per_exporter):
        name = f"bench-host-{first // per_exporter + 1}"
        argv = [*KIT, "farm", "export", "--coordinator", address, "--name", name, "--no-usb", "--lab", lab]
        for index in range(first, min(first + per_exporter, twins)):
            argv += ["--emulate", f"{BOARDS[index % len(BOARDS)]}={name}-twin-{index + 1}"]
        log = (folder / f"{name}.log").open("w")
        processes.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy()))
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        logs = [(folder / f"bench-host-{i + 1}.log").read_text() for i in range(len(processes))]
        if all("exporting" in text for text in logs):
            return processes
        if any(p.poll() is not None for p in processes):
            raise SystemExit("an exporter failed:\n" + "\n".join(text[-800:] for text in logs))
        time.sleep(0.5)
    raise SystemExit("exporters did not come up within 10 min")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--twins", type=int, default=12)
    parser.add_argument("--per-exporter", type=int, default=3)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--validate", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--lab", default="kws")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="kit-farm-bench-"))
    address = f"127.0.0.1:{free_tcp_port()}"
    coordinator = start_coordinator(address, str(folder))
    exporters: list[subprocess.Popen] = []
    try:
        started = time.monotonic()
        exporters = start_exporters(address, args.twins, args.per_exporter, args.lab, folder)
        print(f"{args.twins} twins on {len(exporters)} exporters up in {time.monotonic() - started:.1f} s "
              f"(firmware builds are cached after the first run)")
        with FarmClient(address) as client:
            request = FarmRequest(lab=args.lab, boards=None, runs=args.runs, validate_limit=args.validate,
                                  jobs=args.jobs)
            started = time.monotonic()
            outcomes, _ = bench_farm(client, request)
            wall = time.monotonic() - started
        done = [o for o in outcomes if o.status == "complete"]
        coordination = sum(o.coordination_s for o in outcomes)
        benching = sum(o.bench_s for o in outcomes)
        print(f"benched {len(done)}/{len(outcomes)} boards in {wall:.1f} s with {args.jobs} at once: "
              f"{60 * len(done) / wall:.1f} boards per minute ({args.runs} runs + {args.validate} validated samples each)")
        print(f"time per board: coordination (acquire + release) {coordination / len(outcomes):.3f} s, "
              f"benching (connect, check, bench, validate) {benching / len(outcomes):.1f} s "
              f"({100 * coordination / (coordination + benching):.1f}% in coordination)")
        flashed = [o for o in outcomes if o.flashed]
        if flashed:
            print(f"flashed {len(flashed)} board(s) through their exporter's host: "
                  f"{sum(o.flash_s for o in flashed) / len(flashed):.1f} s each")
        for outcome in outcomes:
            if outcome.status != "complete":
                print(f"  {outcome.place}: {outcome.status} {outcome.error}")
        return 0 if len(done) == len(outcomes) else 1
    finally:
        for process in exporters:
            process.send_signal(signal.SIGTERM)
        for process in exporters:
            process.wait(timeout=60)
        coordinator.terminate()
        coordinator.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
