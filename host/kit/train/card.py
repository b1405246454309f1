"""The model card: what a model is, what it costs and how well it does, as JSON and as a table.

`build_card` works from the .tflite alone (plus whatever training knows), so `kit import` can
give an ONNX model the same card as a trained lab model.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from kit.train.evaluate import Evaluation, subset_accuracy

CARD_VERSION = 1


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def weights_bytes(model) -> int:
    """Bytes of constant data (weights, biases, shapes): the flash the parameters alone need."""
    return sum(len(tensor.data) for tensor in model.tensors if tensor.data is not None)


def layer_costs(model) -> list[dict[str, Any]]:
    """Per op: index, op, output tensor name, parameters and MACs (kit.compile.macs rules)."""
    from kit.compile.macs import count_macs

    return [
        {"index": cost.index, "op": cost.op, "name": cost.name, "params": int(cost.params), "macs": int(cost.macs)}
        for cost in count_macs(model)
    ]


def kit_arena_bytes(model, model_id: str | None) -> int | None:
    """The arena kit's own runtime plans for the model (kit.compile), or None when the compiler
    refuses the model (an op outside its set): the card then shows TFLM's figure only."""
    from kit.errors import ModelError

    try:
        from kit.compile.planner import build_plan
    except ImportError:
        return None
    try:
        return int(build_plan(model, model_id=model_id or "model").arena_bytes)
    except ModelError:
        return None


def _tensor_card(info) -> dict[str, Any]:
    return {
        "shape": [int(d) for d in info.shape],
        "dtype": np.dtype(info.dtype).name,
        "scale": float(info.scale),
        "zero_point": int(info.zero_point),
    }


def _evaluation_fields(prefix: str, evaluation: Evaluation | None) -> dict[str, Any]:
    if evaluation is None:
        return {f"accuracy_{prefix}": None}
    fields: dict[str, Any] = {f"accuracy_{prefix}": round(evaluation.accuracy, 6)}
    for key, value in evaluation.extra.items():
        fields[f"{key}_{prefix}"] = None if value != value else round(float(value), 6)  # NaN -> null
    return fields


def build_card(
    tflite_path: Path,
    *,
    lab: str | None = None,
    task: str = "classification",
    labels: list[str] | None = None,
    seed: int | None = None,
    float_eval: Evaluation | None = None,
    int8_eval: Evaluation | None = None,
    params: int | None = None,
    training_seconds: float | None = None,
    artifacts: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every figure of the card, measured from the .tflite (ops, MACs, sizes, TFLM arena)."""
    from kit.tflm import TflmInterpreter, measure_arena_bytes

    from kit.compile.tflite import load_model

    tflite_path = Path(tflite_path)
    graph = load_model(tflite_path)
    interpreter = TflmInterpreter(tflite_path)
    layers = layer_costs(graph)
    card: dict[str, Any] = {
        "card_version": CARD_VERSION,
        "lab": lab,
        "task": task,
        "seed": seed,
        "labels": list(labels or []),
        "input": _tensor_card(interpreter.input),
        "output": _tensor_card(interpreter.output),
        "params": int(params if params is not None else sum(layer["params"] for layer in layers)),
        "macs_total": int(sum(layer["macs"] for layer in layers)),
        "layers": layers,
        "ops": sorted({layer["op"] for layer in layers}),
        "flash_bytes": tflite_path.stat().st_size,
        "weights_bytes": weights_bytes(graph),
        "arena_bytes_tflm": measure_arena_bytes(tflite_path),
        "arena_bytes_kit": kit_arena_bytes(graph, lab),
        **_evaluation_fields("float", float_eval),
        **_evaluation_fields("int8", int8_eval),
        "confusion_matrix": int8_eval.confusion_matrix if int8_eval else None,
        "confusion_matrix_float": float_eval.confusion_matrix if float_eval else None,
        "per_class_accuracy": int8_eval.per_class_accuracy if int8_eval else None,
        "sha256": graph.sha256,
        "training_seconds": None if training_seconds is None else round(training_seconds, 2),
        "artifacts": dict(artifacts or {"tflite": str(tflite_path)}),
    }
    card.update(extra or {})
    return card


def _figures(float_eval: Evaluation, int8_eval: Evaluation, y_test: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    return {"samples": int(np.sum(mask)),
            "accuracy_float": _rounded(subset_accuracy(float_eval, y_test, mask)),
            "accuracy_int8": _rounded(subset_accuracy(int8_eval, y_test, mask))}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def held_out_block(groups: np.ndarray, y_test: np.ndarray, synthesizers: list[str],
                   float_eval: Evaluation, int8_eval: Evaluation) -> dict[str, Any] | None:
    """Accuracy on the held-out speakers of the training synthesizers and, apart, on each
    synthesizer held out of training entirely (test groups "<synth>:<voice>"), per voice too.
    None for a lab without a held-out synthesizer or a non-classification evaluation."""
    if not synthesizers or float_eval.predictions is None or int8_eval.predictions is None:
        return None
    groups = np.asarray(groups, dtype=str)
    unseen = np.zeros(groups.shape, bool)
    block: dict[str, Any] = {"synthesizers": {}}
    for name in synthesizers:
        mine = np.char.startswith(groups, f"{name}:")
        unseen |= mine
        voices = sorted(set(groups[mine].tolist()))
        block["synthesizers"][name] = {**_figures(float_eval, int8_eval, y_test, mine),
                                       "voices": {voice.split(":", 1)[1]: _figures(float_eval, int8_eval, y_test,
                                                                                    groups == voice)
                                                  for voice in voices}}
    block["speakers"] = {**_figures(float_eval, int8_eval, y_test, ~unseen),
                         "groups": int(len(set(groups[~unseen].tolist())))}
    return block


def held_out_int8(block: dict[str, Any] | None) -> float | None:
    """The lowest int8 accuracy over the held-out synthesizers (what the lab's target holds)."""
    if not block or not block.get("synthesizers"):
        return None
    values = [figures["accuracy_int8"] for figures in block["synthesizers"].values()]
    return None if any(value is None for value in values) else min(values)


def targets_check(accuracy_float: float | None, accuracy_int8: float | None,
                  targets: dict[str, float], held_out_synthesizer_int8: float | None = None) -> dict[str, Any] | None:
    """The lab's [targets] and whether the accuracies meet them (None when the lab sets none).

    The gap is |float - int8|, the figure the reference-model acceptance tests hold to the target.
    `min_int8_accuracy_held_out_synthesizer` holds the int8 accuracy on a synthesizer never heard
    in training (the card's held_out block).
    """
    if not targets:
        return None
    min_int8, max_gap = targets.get("min_int8_accuracy", targets.get("min_int8_f1")), targets.get("max_float_int8_gap")
    met = accuracy_int8 is not None
    if met and min_int8 is not None:
        met = accuracy_int8 >= min_int8
    if met and max_gap is not None:
        met = accuracy_float is not None and abs(accuracy_float - accuracy_int8) <= max_gap + 1e-9
    key = "min_int8_accuracy" if "min_int8_accuracy" in targets or "min_int8_f1" not in targets else "min_int8_f1"
    block = {key: min_int8, "max_float_int8_gap": max_gap}
    held_target = targets.get("min_int8_accuracy_held_out_synthesizer")
    if held_target is not None:
        block["min_int8_accuracy_held_out_synthesizer"] = held_target
        met = met and held_out_synthesizer_int8 is not None and held_out_synthesizer_int8 >= held_target
    return {**block, "met": bool(met)}


def targets_text(block: dict[str, Any]) -> str:
    """'met (int8 >= 85.0%, gap <= 2.0 pts)' for the card summary and the CLI warning."""
    parts = []
    if block.get("min_int8_accuracy") is not None:
        parts.append(f"int8 >= {_percent(block['min_int8_accuracy'])}")
    if block.get("min_int8_f1") is not None:
        parts.append(f"int8 F1 >= {_percent(block['min_int8_f1'])}")
    if block.get("max_float_int8_gap") is not None:
        parts.append(f"float/int8 gap <= {100 * block['max_float_int8_gap']:.1f} pts")
    if block.get("min_int8_accuracy_held_out_synthesizer") is not None:
        parts.append(f"held-out synthesizer int8 >= {_percent(block['min_int8_accuracy_held_out_synthesizer'])}")
    return ("met" if block.get("met") else "NOT met") + (f" ({', '.join(parts)})" if parts else "")


def write_card(card: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """card.json and card.md side by side."""
    json_path, md_path = Path(folder) / "card.json", Path(folder) / "card.md"
    json_path.write_text(json.dumps(card, indent=2) + "\n")
    md_path.write_text(card_markdown(card))
    return json_path, md_path


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _quant_text(tensor: dict[str, Any]) -> str:
    shape = "x".join(str(d) for d in tensor["shape"])
    return f"{shape} {tensor['dtype']} scale={tensor['scale']:.6g} zero_point={tensor['zero_point']}"


def summary_rows(card: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, value) pairs shown in the table and the markdown."""
    arena_kit = card.get("arena_bytes_kit")
    rows = [
        ("lab", str(card.get("lab") or "-")),
        ("source", str(card.get("source", "trained"))),
        ("seed", str(card.get("seed"))),
        ("input", _quant_text(card["input"])),
        ("output", _quant_text(card["output"])),
        ("labels", ", ".join(card.get("labels") or []) or "-"),
        ("parameters", f"{card['params']:,}"),
        ("MACs / inference", f"{card['macs_total']:,}"),
        ("flash (.tflite)", f"{card['flash_bytes']:,} B"),
        ("flash (weights only)", f"{card['weights_bytes']:,} B"),
        ("arena (TFLM, measured)", f"{card['arena_bytes_tflm']:,} B"),
        ("arena (kit runtime)", "n/a" if arena_kit is None else f"{arena_kit:,} B"),
        ("accuracy float", _percent(card.get("accuracy_float"))),
        ("accuracy int8 (TFLM)", _percent(card.get("accuracy_int8"))),
    ]
    if card.get("f1_int8") is not None:  # detection: accuracy above is the centroid F1
        rows.append(("F1 float / int8", f"{_percent(card.get('f1_float'))} / {_percent(card['f1_int8'])}"))
        rows.append(("precision / recall int8", f"{_percent(card.get('precision_int8'))} / {_percent(card.get('recall_int8'))}"))
        for label in (card.get("labels") or [])[1:]:
            if card.get(f"f1_{label}_int8") is not None:
                rows.append((f"F1 {label} float / int8",
                             f"{_percent(card.get(f'f1_{label}_float'))} / {_percent(card[f'f1_{label}_int8'])}"))
    if card.get("auc_int8") is not None:
        rows.append(("AUC float / int8", f"{card.get('auc_float') or 0:.3f} / {card['auc_int8']:.3f}"))
    rows += held_out_rows(card.get("held_out"))
    if card.get("targets"):
        rows.append(("lab targets", targets_text(card["targets"])))
    if isinstance(card.get("anomaly"), dict) and card["anomaly"].get("method") == "kmeans":
        from kit.train.kmeans import anomaly_rows

        rows += anomaly_rows(card["anomaly"])
    if card.get("training_seconds") is not None:
        rows.append(("training time", f"{card['training_seconds']:.1f} s"))
    rows.append(("sha256", card["sha256"]))
    return rows


def held_out_rows(block: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The held-out speakers' and held-out synthesizers' float / int8 accuracy, per voice too."""
    if not block:
        return []

    def pair(figures: dict[str, Any]) -> str:
        return (f"{_percent(figures.get('accuracy_float'))} float, {_percent(figures.get('accuracy_int8'))} int8"
                f" ({figures.get('samples', 0)} clips)")

    rows = [("held-out speakers", pair(block.get("speakers") or {}))]
    for name, figures in (block.get("synthesizers") or {}).items():
        rows.append((f"held-out synthesizer {name}", pair(figures)))
        for voice, per_voice in (figures.get("voices") or {}).items():
            rows.append((f"  {name} voice {voice}", pair(per_voice)))
    return rows


def card_markdown(card: dict[str, Any]) -> str:
    """A human-readable card for models/<lab>/card.md."""
    lines = [f"# Model card: {card.get('lab') or 'model'}", "", "| field | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in summary_rows(card)]
    lines += ["", "## Layers", "", "| # | op | name | params | MACs |", "|---|---|---|---|---|"]
    lines += [f"| {l['index']} | {l['op']} | {short_name(l['name'])} | {l['params']:,} | {l['macs']:,} |" for l in card["layers"]]
    matrix, labels = card.get("confusion_matrix"), card.get("labels") or []
    if matrix and len(labels) == len(matrix):
        lines += ["", "## Confusion matrix (int8, rows = true class)", ""]
        lines += ["| true \\ predicted | " + " | ".join(labels) + " | recall |", "|---" * (len(labels) + 2) + "|"]
        recalls = card.get("per_class_accuracy") or {}
        for label, row in zip(labels, matrix):
            lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + f" | {_percent(recalls.get(label))} |")
    for board, npu in (card.get("npu") or {}).items():
        lines += npu_markdown(board, npu)
    lines += ["", "## Artifacts", ""] + [f"- {key}: `{value}`" for key, value in card.get("artifacts", {}).items()]
    return "\n".join(lines) + "\n"


def npu_markdown(board: str, npu: dict[str, Any]) -> list[str]:
    """The card's section for one board's NPU compile (kit convert --target BOARD)."""
    on_npu = ", ".join(f"{op} x{n}" for op, n in npu["npu_ops"].items()) or "none"
    lines = ["", f"## NPU: {board} ({npu['accelerator']}, Vela {npu['vela_version']})", "",
             "| field | value |", "|---|---|",
             f"| operators on the NPU | {sum(npu['npu_ops'].values())} ({on_npu}); Vela counts {npu['vela_npu_operators']} |",
             f"| operators on the CPU | {len(npu['cpu_ops'])}; Vela counts {npu['vela_cpu_operators']} |",
             f"| SRAM used | {npu['sram_bytes']:,} B |",
             f"| flash used | {npu['flash_bytes']:,} B |",
             f"| inference time | {npu['estimated_inference_s'] * 1e3:.3f} ms at {npu['npu_clock_hz'] / 1e6:.0f} MHz "
             f"({npu['estimate_label']}) |"]
    for cpu in npu["cpu_ops"]:
        lines.append(f"| CPU fallback: {cpu['op']} | {short_name(cpu['output'])}: {cpu['reason']} |")
    return lines


def update_card_npu(card_path: Path, board: str, npu: dict[str, Any]) -> bool:
    """Write one board's NPU compile report (kit.compile.vela.NpuReport.to_dict) into the
    card under `npu.<board>`, JSON and markdown; skipped with a warning like update_card."""
    recorded = {key: value for key, value in npu.items() if key != "vela_model"}  # a path of this machine

    def change(card: dict[str, Any]) -> bool:
        if (card.get("npu") or {}).get(board) == recorded:
            return False
        card.setdefault("npu", {})[board] = recorded
        return True

    return _edit_card(Path(card_path), change)


def _edit_card(path: Path, change: Callable[[dict[str, Any]], bool]) -> bool:
    """Read the card, let `change` edit it (False: nothing to change), write JSON and markdown.
    A card that cannot be read or written, or is not a JSON object, is skipped with a warning:
    the card is a record beside the model. True if written."""
    try:
        card = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        warnings.warn(f"model card {path} not updated: {error}", stacklevel=2)
        return False
    if not isinstance(card, dict):
        warnings.warn(f"model card {path} not updated: it is not a JSON object", stacklevel=2)
        return False
    if not change(card):
        return False
    try:
        path.write_text(json.dumps(card, indent=2) + "\n")
    except OSError as error:
        warnings.warn(f"model card {path} not updated: {error}", stacklevel=2)
        return False
    markdown = path.with_suffix(".md")
    if markdown.exists():
        try:
            markdown.write_text(card_markdown(card))
        except Exception:  # the markdown is a convenience view; the JSON is the record
            pass
    return True


def short_name(tensor_name: str) -> str:
    """TFLite joins fused tensor names with ';': the first one names the layer well enough."""
    return tensor_name.split(";")[0][-48:]


def confusion_table(matrix: list[list[int]], labels: list[str], recalls: dict[str, float]) -> Any:
    """The int8 confusion matrix with numbered columns, so 12 classes fit 80 columns: the
    row header says which number is which class."""
    from rich import box
    from rich.table import Table

    confusion = Table(title="confusion matrix (int8; rows = true class, columns = predicted #)",
                      box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0))
    digits = max((len(str(v)) for row in matrix for v in row), default=1)
    confusion.add_column("# true class", no_wrap=True)
    for index in range(len(labels)):
        confusion.add_column(str(index), justify="right", no_wrap=True, min_width=max(digits, len(str(index))))
    confusion.add_column(" recall", justify="right", no_wrap=True)
    for index, (label, row) in enumerate(zip(labels, matrix)):
        confusion.add_row(f"{index} {label[:12]}", *(str(v) for v in row), _percent(recalls.get(label)))
    return confusion


def card_tables(card: dict[str, Any]) -> list[Any]:
    """rich renderables: summary, per-layer costs, confusion matrix."""
    from rich.table import Table

    summary = Table(title=f"model card: {card.get('lab') or 'model'}", show_header=False)
    summary.add_column("field", style="bold")
    summary.add_column("value")
    for name, value in summary_rows(card):
        summary.add_row(name, value)
    layers = Table(title="layers")
    for column in ("#", "op", "name", "params", "MACs"):
        layers.add_column(column, justify="right" if column in ("#", "params", "MACs") else "left")
    for l in card["layers"]:
        layers.add_row(str(l["index"]), l["op"], short_name(l["name"]), f"{l['params']:,}", f"{l['macs']:,}")
    tables: list[Any] = [summary, layers]
    matrix, labels = card.get("confusion_matrix"), card.get("labels") or []
    if matrix and len(labels) == len(matrix):
        tables.append(confusion_table(matrix, labels, card.get("per_class_accuracy") or {}))
    return tables


def update_card(card_path: Path, arena_bytes_kit: int) -> bool:
    """Write kit's arena bytes (from kit.compile) into the card, JSON and markdown.

    Only when the value changes (a converted card stays byte-identical, so models/<lab>/ stays
    clean). A card that cannot be read or written, or is not a JSON object, is skipped with a
    warning: the card is a record beside the model, not part of the compilation. True if written.
    """
    def change(card: dict[str, Any]) -> bool:
        if card.get("arena_bytes_kit") == int(arena_bytes_kit):
            return False
        card["arena_bytes_kit"] = int(arena_bytes_kit)
        return True

    return _edit_card(Path(card_path), change)
