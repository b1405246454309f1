"""kit's planned arena against TFLM's measured arena for the five MLPerf Tiny models (issue 13).

    .venv/bin/python bench/arena.py [--peak] [--json]

Per model: kit's arena (`build_plan(...).arena_bytes`: activations, in-place overlaps, fused
CONV_2D + ADD and the kernels' scratch), TFLM's arena (`kit.tflm.measure_arena_bytes`, the host interpreter, 64-bit),
their ratio beside the goal (<= 0.6). `--peak` also names the op where kit's live bytes peak
and the buffers live there.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from kit.compile.planner import build_plan  # noqa: E402
from kit.compile.tflite import load_model  # noqa: E402
from kit.tflm import measure_arena_bytes  # noqa: E402

MODELS_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "mlperf-tiny"
MODELS = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8", "str_ww_ref_model"]
GOAL = 0.6


def _live_bytes(plan, position: int) -> list[tuple[str, int, int]]:
    """(name, start, end) of the tensors and the scratch live during op `position`."""
    spans: dict[int, list[int]] = {}
    for index, op in enumerate(plan.ops):
        for t in op.inputs + op.outputs:
            if t >= 0 and plan.tensors[t].offset is not None:
                span = spans.setdefault(t, [index, index])
                span[0], span[1] = min(span[0], index), max(span[1], index)
    spans.setdefault(plan.input_index, [0, 0])[0] = 0
    spans.setdefault(plan.output_index, [len(plan.ops) - 1] * 2)[1] = len(plan.ops) - 1
    live = [(f"t{t}", plan.tensors[t].offset, plan.tensors[t].offset + plan.tensors[t].nbytes)
            for t, (first, last) in spans.items() if first <= position <= last]
    params = plan.ops[position].params
    if params.get("scratch_bytes"):
        live.append(("scratch", params["scratch_offset"], params["scratch_offset"] + params["scratch_bytes"]))
    return sorted(live, key=lambda item: item[1])


def peak_report(path: Path) -> str:
    """The op whose live bytes reach highest in the arena, and what is live there."""
    plan = build_plan(load_model(path))
    tops = [max(end for _, _, end in _live_bytes(plan, i)) for i in range(len(plan.ops))]
    position = max(range(len(plan.ops)), key=lambda i: tops[i])
    names = ", ".join(f"{name}[{start}:{end}]" for name, start, end in _live_bytes(plan, position))
    return f"peak at op {position} ({plan.ops[position].op}), top {tops[position]}: {names}"


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
