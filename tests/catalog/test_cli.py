"""The catalog commands through Click's runner: tables, details and --json."""

from __future__ import annotations

import json

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
    kits = run("kits").output
    assert all(name in kits for name in ("xiaoml-kit", "nicla-vision-kit", "grove-vision-ai-v2-kit", "raspberry-pi-kit"))


def test_details_of_one_board_lab_and_kit() -> None:
    board = run("board", "xiao-esp32s3")
    assert board.exit_code == 0 and "esp32s3-pie" in board.output and "303a:1001" in board.output
    assert json.loads(run("board", "host", "--json").output)["kind"] == "host"
    lab = run("lab", "kws")
    assert lab.exit_code == 0 and "ds_cnn" in lab.output
    assert json.loads(run("lab", "motion", "--json").output)["io"]["input_shape"] == [1, 57]
    kit = run("kit", "nicla-vision-kit")
    assert kit.exit_code == 0 and "nicla-vision" in kit.output


def test_unknown_name_is_a_clean_error() -> None:
    result = run("board", "nicla")
    assert result.exit_code == 2
    assert "error: unknown board 'nicla'" in result.output
    assert "did you mean 'nicla-vision'" in result.output
    assert "Traceback" not in result.output
