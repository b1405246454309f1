"""The catalog commands through Click's runner: tables, details and --json."""

from __future__ import annotations

import json
import os

import pytest

from click.testing import CliRunner

from kit.cli import main


def run(*args: str):
    result = CliRunner().invoke(main, list(args))
    return result


def test_boards_table_lists_every_board() -> None:
    result = run("boards")
    assert result.exit_code == 0, result.output
    for name in ("nicla-vision", "xiao-esp32s3", "emu-rv32", "host", "raspberry-pi-5"):
        assert name in result.output


def test_boards_json_is_the_full_record() -> None:
    result = run("boards", "--json")
    assert result.exit_code == 0
    boards = {board["name"]: board for board in json.loads(result.output)}
    assert boards["nicla-vision"]["clock_hz"] == 480_000_000
    assert boards["nicla-vision"]["usb"][0] == {
        "vid": 0x2341, "pid": 0x025F, "mode": "app", "shared": False, "note": boards["nicla-vision"]["usb"][0]["note"],
    }
    assert boards["emu-cortex-m7"]["emulator"]["machine"] == "mps2-an500"


def test_labs_and_kits_json() -> None:
    labs = json.loads(run("labs", "--json").output)
    assert {lab["name"] for lab in labs} >= {"kws", "motion"}
    kws = next(lab for lab in labs if lab["name"] == "kws")
    assert kws["features"]["frames"] == 49  # extra keys of the open sections survive
    kits = json.loads(run("kits", "--json").output)
    assert {item["name"]: item["board"] for item in kits}["xiaoml-kit"] == "xiao-esp32s3"


def test_tables_for_labs_and_kits() -> None:
    labs = run("labs").output
    assert all(name in labs for name in ("kws", "image-classification", "visual-wake-words", "motion", "anomaly"))
    assert "Keyword Spotting (KWS)" in labs and "Object Detection" in labs
    kits = run("kits").output
    assert all(name in kits for name in ("xiaoml-kit", "nicla-vision-kit", "grove-vision-ai-v2-kit", "raspberry-pi-kit"))


def test_details_of_one_board_lab_and_kit() -> None:
    board = run("board", "xiao-esp32s3")
    assert board.exit_code == 0 and "esp32s3-pie" in board.output and "303a:1001" in board.output
    assert json.loads(run("board", "host", "--json").output)["kind"] == "host"
    lab = run("lab", "kws")
    assert lab.exit_code == 0 and "ds_cnn" in lab.output and "book chapter: Keyword Spotting (KWS)" in lab.output
    assert json.loads(run("lab", "motion", "--json").output)["io"]["input_shape"] == [1, 57]
    motion = run("lab", "motion").output
    assert "anomaly" in motion and "kmeans" in motion and "clusters" in motion
    kit = run("kit", "nicla-vision-kit")
    assert kit.exit_code == 0 and "nicla-vision" in kit.output


def test_unknown_name_is_a_clean_error() -> None:
    result = run("board", "nicla")
    assert result.exit_code == 2
    assert "error: unknown board 'nicla'" in result.output
    assert "did you mean 'nicla-vision'" in result.output
    assert "Traceback" not in result.output


def test_a_kit_or_a_lab_given_as_the_board_says_what_it_is() -> None:
    result = run("flash", "xiaoml-kit", "kws")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "workshop kit, not a board" in result.output and "xiao-esp32s3" in result.output
    assert "xiao-esp32s3" in run("bench", "xiaoml").output  # the kit's name without "-kit"
    lab = run("flash", "kws", "nicla-vision")
    assert lab.exit_code == 2 and "'kws' is a lab, not a board" in lab.output


@pytest.mark.parametrize("command", [["boards"], ["labs"], ["kits"], ["models"]])
@pytest.mark.parametrize("columns", [80, 120])
def test_lists_fit_the_terminal_without_shortened_cells(command, columns) -> None:
    """At 80 columns whole columns are left out (and named), no cell is cut to '…'."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    kit = str(Path(sys.executable).parent / "kit")
    done = subprocess.run([kit, *command], capture_output=True, text=True, env={**os.environ, "COLUMNS": str(columns)})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines and max(len(line) for line in lines) <= columns
    assert "…" not in done.stdout
    if command == ["boards"]:
        assert "nicla-vision" in done.stdout and "480 MHz" in done.stdout
        if columns == 80:
            assert "not shown at 80 columns:" in done.stdout


def test_confusion_matrix_of_twelve_classes_fits_80_columns() -> None:
    from rich.console import Console

    from kit.paths import MODELS_DIR
    from kit.train.card import confusion_table

    card = json.loads((MODELS_DIR / "kws" / "card.json").read_text())
    assert len(card["labels"]) == 12
    table = confusion_table(card["confusion_matrix"], card["labels"], card["per_class_accuracy"])
    console = Console(width=80, record=True, file=open(os.devnull, "w"))
    console.print(table)
    text = console.export_text()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    assert "11 _unknown_" in text and str(card["confusion_matrix"][0][0]) in text
