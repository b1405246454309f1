#!/usr/bin/env python3
"""Time and peak memory of each training stage (dataset, train, quantize, evaluate, card) per lab.

    .venv/bin/python bench/stages.py                 # every lab, full size
    .venv/bin/python bench/stages.py --lab kws --size small --fresh-data

Each lab runs in its own child process so its peak RSS (getrusage maxrss) is its own; the Python
heap peak per stage comes from tracemalloc (numpy buffers included, TensorFlow's C++ heap not).
Artifacts go to a temporary folder, never to the model cache.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

STAGES = ["dataset", "train", "quantize", "evaluate", "card"]


def _measure(stage: str, records: list[dict], action):
    """Run one stage, recording wall seconds, tracemalloc peak and the process max RSS after it."""
    tracemalloc.reset_peak()
    start = time.perf_counter()
    value = action()
    seconds = time.perf_counter() - start
    _, python_peak = tracemalloc.get_traced_memory()
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    records.append({"stage": stage, "seconds": seconds, "python_peak_mib": python_peak / 2**20,
                    "maxrss_mib": maxrss_kib / 1024})
    return value


def run_one(lab_name: str, seed: int, size: str | None, fresh_data: bool) -> dict:
    """All stages of one lab in this process; returns the records and the headline figures."""
    from kit.data import load_dataset
    from kit.train.card import build_card
    from kit.train.lab import load_lab
    from kit.train.pipeline import evaluate_models, fit_model, quantize_model

    tracemalloc.start()
    lab = load_lab(lab_name)
    records: list[dict] = []
    with tempfile.TemporaryDirectory(prefix=f"kit-bench-{lab_name}-") as folder:
        dataset = _measure("dataset", records, lambda: load_dataset(
            lab.catalog_lab, seed=seed, size=size, use_cache=not fresh_data))
        model = _measure("train", records, lambda: fit_model(lab, dataset, seed, progress=False))
        tflite = _measure("quantize", records, lambda: quantize_model(lab, model, dataset, seed, Path(folder)))
        float_eval, int8_eval = _measure("evaluate", records, lambda: evaluate_models(lab, model, tflite, dataset))
        card = _measure("card", records, lambda: build_card(
            tflite, lab=lab.name, task=lab.task, labels=lab.labels, seed=seed, float_eval=float_eval,
            int8_eval=int8_eval, params=int(model.count_params())))
    return {"lab": lab_name, "records": records, "accuracy_float": card["accuracy_float"],
            "accuracy_int8": card["accuracy_int8"], "macs_total": card["macs_total"],
            "train_samples": int(len(dataset.x_train)), "test_samples": int(len(dataset.x_test))}


def _run_child(lab: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--child", lab, "--seed", str(args.seed)]
    if args.size:
        command += ["--size", args.size]
    if args.fresh_data:
        command.append("--fresh-data")
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        tail = "\n".join(completed.stderr.strip().splitlines()[-5:])
        return {"lab": lab, "error": tail or f"exit code {completed.returncode}", "records": []}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _print_table(results: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="kit training stages: wall time and peak memory")
    for column in ("lab", "stage", "seconds", "python heap peak", "process max RSS"):
        table.add_column(column, justify="left" if column in ("lab", "stage") else "right")
    for result in results:
        if "error" in result:
            table.add_row(result["lab"], "[red]failed[/]", "", "", result["error"][-60:])
            continue
        for record in result["records"]:
            table.add_row(result["lab"], record["stage"], f"{record['seconds']:.1f}",
                          f"{record['python_peak_mib']:.0f} MiB", f"{record['maxrss_mib']:.0f} MiB")
        total = sum(r["seconds"] for r in result["records"])
        accuracy = f"float {100 * result['accuracy_float']:.1f}% / int8 {100 * result['accuracy_int8']:.1f}%"
        table.add_row(result["lab"], "[bold]total[/]", f"[bold]{total:.1f}[/]", "", accuracy, end_section=True)
    Console().print(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", action="append", help="lab to run (repeatable; default: every lab)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", default=None, help="dataset size: tiny, small, medium, full or a fraction")
    parser.add_argument("--fresh-data", action="store_true", help="generate datasets instead of using the cache")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.seed, args.size, args.fresh_data)))
        return 0
    from kit.paths import LABS_DIR

    labs = args.lab or sorted(p.parent.name for p in LABS_DIR.glob("*/lab.toml"))
    results = [_run_child(lab, args) for lab in labs]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _print_table(results)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
