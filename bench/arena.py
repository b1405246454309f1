"""kit's planned arena against TFLM's measured arena for the five MLPerf Tiny models (issue 13).

    .venv/bin/python bench/arena.py [--peak] [--json]

Per model: kit's arena (`build_plan(...).arena_bytes`: activations, in-place overlaps and the
kernels' scratch), TFLM's arena (`kit.tflm.measure_arena_bytes`, the host interpreter, 64-bit),
their ratio beside the goal (<= 0.6). `--peak` also names the op where kit's live bytes peak
and the buffers live there.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from kit.compile.fold import fold_model  # noqa: E402
from kit.compile.planner import build_plan, plan_arena, resolve_params  # noqa: E402
from kit.compile.tflite import load_model  # noqa: E402
from kit.tflm import measure_arena_bytes  # noqa: E402

MODELS_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "mlperf-tiny"
MODELS = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8", "str_ww_ref_model"]
GOAL = 0.6


def peak_report(path: Path) -> str:
    """The op where the planned buffers' extent peaks and the buffers that span it."""
    model = fold_model(load_model(path))
    params = resolve_params(load_model(path))
    _, _, buffers = plan_arena(model, params)
    steps = range(len(model.operators))

    def extent(step: int) -> int:
        live = [b for b in buffers if b.size and b.first <= step <= b.last]
        return max((b.offset + b.size for b in live), default=0)

    step = max(steps, key=extent)
    live = sorted((b for b in buffers if b.size and b.first <= step <= b.last), key=lambda b: b.offset)
    names = ", ".join(f"{b.key}[{b.offset}:{b.offset + b.size}]" for b in live)
    return f"peak at op {step} ({model.operators[step].op}), top {extent(step)}: {names}"


def measure(name: str) -> dict[str, float | int | str]:
    path = MODELS_DIR / f"{name}.tflite"
    kit = build_plan(load_model(path), model_id=name).arena_bytes
    tflm = measure_arena_bytes(path)
    return {"model": name, "kit": kit, "tflm": tflm, "ratio": round(kit / tflm, 3), "goal": GOAL}


def main() -> None:
    rows = [measure(name) for name in MODELS]
    if "--json" in sys.argv[1:]:
        print(json.dumps(rows, indent=1))
        return
    print(f"{'model':24} {'kit':>8} {'tflm':>8} {'ratio':>6} {'goal':>5}")
    for row in rows:
        verdict = "ok" if row["ratio"] <= GOAL else "over"
        print(f"{row['model']:24} {row['kit']:>8} {row['tflm']:>8} {row['ratio']:>6.3f} {GOAL:>5} {verdict}")
        if "--peak" in sys.argv[1:]:
            print("    " + peak_report(MODELS_DIR / f"{row['model']}.tflite"))


if __name__ == "__main__":
    main()
