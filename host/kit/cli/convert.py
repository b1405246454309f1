"""`kit convert MODEL.tflite`: TFLM C arrays plus kit's ahead-of-time compiled model."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from kit.errors import KitError

console = Console()


def _read_labels(labels_file: Path | None, lab: str | None) -> list[str] | None:
    """Labels from a file (one per line) or a lab's catalog entry; None lets the card decide."""
    if labels_file is not None and lab is not None:
        raise KitError("--labels and --lab both given", "pass one of them")
    if labels_file is not None:
        try:
            lines = Path(labels_file).read_text().splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise KitError(f"cannot read labels file {labels_file}: {error}", "pass a text file with one label per line") from None
        return [line.strip() for line in lines if line.strip()]
    if lab is not None:
        from kit.catalog import get_lab

        return list(get_lab(lab).labels)
    return None


def _summary_table(result) -> Table:
    table = Table(title=f"kit convert: {result.model_id} ({result.sha256[:12]})")
    table.add_column("op")
    table.add_column("count", justify="right")
    for op, count in result.op_counts.items():
        table.add_row(op, str(count))
    return table


def _numbers_table(result) -> Table:
    table = Table(show_header=True)
    table.add_column("figure")
    table.add_column("kit", justify="right")
    table.add_column("TFLM", justify="right")
    tflm_arena = f"{result.arena_bytes_tflm:,} measured" if result.tflm is not None else "- (TFLM cannot run it)"
    table.add_row("arena bytes", f"{result.arena_bytes_kit:,}", tflm_arena)
    if result.tflm is not None:
        table.add_row("declared arena (kTensorArenaSize)", "-", f"{result.tensor_arena_size:,}")
    table.add_row("weight bytes (flash)", f"{result.weight_bytes:,}", f"{result.model_bytes:,} (whole .tflite)")
    table.add_row("ops / tensors", f"{len(result.ops)} / {result.tensors}", "")
    table.add_row("MACs per inference", f"{result.macs:,}", "")
    return table


def _convert_both(convert, model: Path, out_dir: Path | None, labels, model_id, card_path):
    """kit's C and TFLM's arrays; when TFLM alone cannot allocate the model (no TFLM kernel for
    an op kit has, e.g. RELU_N1_TO_1), kit's C with TFLM's reason instead of no output at all."""
    from kit.tflm import TflmAllocationError

    try:
        return convert(model, out_dir, labels=labels, model_id=model_id, card_path=card_path, tflm=True), None
    except TflmAllocationError as refusal:
        result = convert(model, out_dir, labels=labels, model_id=model_id, card_path=card_path, tflm=False)
        if result.refusal is not None:
            raise refusal from None  # neither engine runs it: TFLM's reason is the first to fix
        return result, refusal


@click.command("convert")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Output folder (default: the compile cache).")
@click.option("--labels", "labels_file", type=click.Path(path_type=Path), help="Text file with one label per line.")
@click.option("--lab", help="Take the labels from this lab (kit labs).")
@click.option("--model-id", help="Model identity reported by the firmware (default: the card's lab or the file name).")
@click.option("--card", "card_path", type=click.Path(path_type=Path), help="Model card to update with kit's arena bytes.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--target", "target_board", help="Also compile for this board's NPU (a board file with [npu]: "
              "an Ethos-U NPU is compiled with Arm's Vela; `kit boards --json` shows which boards have one).")
def convert_command(
    model: Path, out_dir: Path | None, labels_file: Path | None, lab: str | None, model_id: str | None,
    card_path: Path | None, as_json: bool, target_board: str | None,
) -> None:
    """Compile MODEL.tflite into TFLM C arrays (tflm/) and kit's static C plan (kit/).

    With --target BOARD for a board with an NPU, also Vela's NPU model (npu-BOARD/): the
    operators on the NPU and those left to the CPU (with Vela's reason), SRAM and flash, and
    Vela's ESTIMATED inference time; written into the model card."""
    from kit.compile import convert

    labels = _read_labels(labels_file, lab)
    npu_board = _npu_board(target_board) if target_board else None
    with warnings.catch_warnings(record=True) as caught:  # a card kit could not update: said below
        warnings.simplefilter("always")
        result, tflm_refusal = _convert_both(convert, model, out_dir, labels, model_id, card_path)
        if result.card_path is not None and result.refusal is None:
            from kit.train.card import update_card

            result = dataclasses.replace(result, card_updated=update_card(result.card_path, result.arena_bytes_kit))
        npu = _npu_compile(model, result, npu_board) if npu_board else None
    card_problems = [str(w.message) for w in caught if str(w.message).startswith("model card")]
    if as_json:
        refused = {"tflm_refusal": tflm_refusal.message if tflm_refusal is not None else None}
        click.echo(json.dumps(result.to_dict() | refused | ({"npu": npu.to_dict()} if npu else {}), indent=2))
    else:
        console.print(_summary_table(result))
        if result.refusal is None:
            console.print(_numbers_table(result))
        if tflm_refusal is None:
            console.print(f"TFLM arrays: {result.tflm_dir}")
        else:
            console.print(f"TFLM arrays: not written: {tflm_refusal.message}. kit's own engine runs the model "
                          "(kit flash BOARD LAB --model FILE); a TFLM build of it cannot.", markup=False)
        console.print(f"kit model:   {result.kit_dir or 'not emitted (kit refused the model, see below)'}")
        if npu is not None:
            for table in _npu_tables(npu):
                console.print(table)
            console.print(f"inference time: {npu.estimate_label}", markup=False)
            console.print(f"NPU model:   {npu.vela_model}", markup=False)
        if result.card_updated:
            console.print(f"model card updated: {result.card_path}")
        elif card_problems:
            console.print("\n".join(card_problems), markup=False)
        elif result.card_path and result.refusal is None:
            console.print(f"model card unchanged: {result.card_path} (arena_bytes_kit already {result.arena_bytes_kit:,})")
    if result.refusal is not None:
        raise result.refusal  # printed as error:/fix:, exit status 2


def _npu_board(name: str):
    """The --target board, refused before any compiling when its board file has no NPU."""
    from kit.catalog import get_board, list_boards

    board = get_board(name)
    if board.npu is None:
        with_npu = ", ".join(b.name for b in list_boards() if b.npu is not None)
        raise KitError(f"board {board.name} has no NPU in its board file ([npu] table)",
                       hint=f"`kit convert MODEL` alone compiles for the CPU; --target takes a board with an NPU: {with_npu}")
    return board


def _npu_compile(model: Path, result, board):
    """Vela for the board's NPU beside the compiled model; the report goes into the card."""
    from kit.compile.vela import compile_for_npu

    report = compile_for_npu(model, board.name, board.npu, result.out_dir / f"npu-{board.name}")
    if result.card_path is not None:
        from kit.train.card import update_card_npu

        update_card_npu(result.card_path, board.name, report.to_dict())
    return report


def _npu_tables(npu) -> list[Table]:
    placed = Table(title=f"NPU {npu.board}: {npu.accelerator} (Vela {npu.vela_version})")
    placed.add_column("where")
    placed.add_column("op")
    placed.add_column("count / reason")
    for op, count in npu.npu_ops.items():
        placed.add_row("NPU", op, str(count))
    for cpu in npu.cpu_ops:
        placed.add_row("CPU", cpu.op, f"{cpu.output.split(';')[0][-40:]}: {cpu.reason}")
    figures = Table(show_header=False)
    figures.add_column("figure")
    figures.add_column("value", justify="right")
    figures.add_row("operators NPU / CPU (model)", f"{sum(npu.npu_ops.values())} / {len(npu.cpu_ops)}")
    figures.add_row("operators NPU / CPU (Vela's count)", f"{npu.vela_npu_operators} / {npu.vela_cpu_operators}")
    figures.add_row("SRAM used", f"{npu.sram_bytes:,} B")
    figures.add_row("flash used", f"{npu.flash_bytes:,} B")
    figures.add_row("inference time (ESTIMATE)", f"{npu.estimated_inference_s * 1e3:.3f} ms at {npu.npu_clock_hz / 1e6:.0f} MHz")
    return [placed, figures]


commands = [convert_command]
