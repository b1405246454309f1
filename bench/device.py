"""Instructions per inference and per MAC on every emulated board, for the MLPerf Tiny models
(and the committed lab reference models).

QEMU runs with -icount shift=0, so the counts are exact instruction counts (mps2 boards read
them through a 25 MHz SysTick: +-40 instructions). Instructions per MAC shows how much work
the int8 kernels spend around each multiply-accumulate on each core.

    .venv/bin/python bench/device.py [--runs N] [--models kws_ref_model,vww_96_int8] [--boards ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))

from kit.compile import convert  # noqa: E402
from kit.targets import flash, stop  # noqa: E402
from kit.device.flow import bench  # noqa: E402
from kit.errors import KitError  # noqa: E402
from kit.paths import MODELS_DIR  # noqa: E402

BOARDS = ["emu-cortex-m4", "emu-cortex-m7", "emu-rv32"]
MLPERF_DIR = REPO / "tests" / "data" / "mlperf-tiny"
# The lab each MLPerf model is flashed under (the lab only names the session).
MLPERF_LAB = {"kws_ref_model": "kws", "vww_96_int8": "visual-wake-words", "pretrainedResnet_quant": "image-classification",
              "ad01_int8": "anomaly", "str_ww_ref_model": "kws"}


def models(selected: list[str] | None) -> list[tuple[str, str, Path]]:
    """(name, lab, path) for the MLPerf models and the committed reference lab models."""
    found = [(path.stem, MLPERF_LAB.get(path.stem, "kws"), path) for path in sorted(MLPERF_DIR.glob("*.tflite"))]
    found += [(f"lab:{path.parent.name}", path.parent.name, path) for path in sorted(MODELS_DIR.glob("*/model.tflite"))]
    return [entry for entry in found if not selected or entry[0] in selected]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--models", help="comma-separated model names (default: all)")
    parser.add_argument("--boards", default=",".join(BOARDS))
    args = parser.parse_args()
    selected = args.models.split(",") if args.models else None
    print(f"{'board':<14} {'model':<24} {'MACs':>12} {'instructions/inference':>24} {'instr/MAC':>10} {'spread':>7}")
    for name, lab, path in models(selected):
        macs = convert(path).macs
        for board in args.boards.split(","):
            try:
                flash(board, lab, model=path)
                report = bench(board, runs=args.runs, warmup=1)
            except KitError as error:
                print(f"{board:<14} {name:<24} error: {error.message}")
                continue
            finally:
                stop(board)
            counts = report.counts
            assert counts is not None
            print(f"{board:<14} {name:<24} {macs:>12,} {counts.p50:>24,.0f} {counts.p50 / macs:>10.2f} "
                  f"{counts.max - counts.min:>7,.0f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
