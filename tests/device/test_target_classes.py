"""One class per kind of board, chosen from the board file; nothing else branches on kind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kit.catalog import list_boards
from kit.errors import KitError
from kit.targets import (
    TARGET_CLASSES,
    EmulatedTarget,
    EsptoolTarget,
    HostTarget,
    LinuxTarget,
    PlatformioTarget,
    SscmaTarget,
    VendorToolTarget,
    open_target,
    target_class,
)

KIT = Path(__file__).resolve().parents[2] / "host" / "kit"
# Code that may look at a board's kind or name: the catalog (it reads the board files) and
# the target classes (they are what differs per kind).
ALLOWED = ("catalog", "targets")


def test_every_shipped_board_has_exactly_the_class_its_board_file_names():
    expected = {("emulated", "qemu"): EmulatedTarget, ("mcu", "pio"): PlatformioTarget,
                ("mcu", "esptool"): EsptoolTarget, ("host", "native"): HostTarget, ("linux", "ssh"): LinuxTarget,
                ("mcu", "sscma"): SscmaTarget}
    for board in list_boards():
        serving = [cls for cls in TARGET_CLASSES if cls.serves(board)]
        assert serving, f"no target class for {board.name}"
        cls = target_class(board)
        if board.kind == "mcu" and board.platformio is None and board.upload.method != "sscma":
            assert cls is VendorToolTarget, board.name
        else:
            assert cls is expected[(board.kind, board.upload.method)], board.name


def test_an_esptool_board_is_uploaded_by_esptool_not_pio():
    xiao = open_target("xiao-esp32s3")
    assert type(xiao) is EsptoolTarget and "esptool" in type(xiao).upload_methods
    assert type(open_target("nicla-vision")) is PlatformioTarget


def test_a_board_kit_cannot_build_firmware_for_says_what_it_can_do():
    with pytest.raises(KitError) as caught:  # the Grove runs Seeed's SSCMA firmware: kit writes models only
        open_target("grove-vision-ai-v2").check("project")
    assert "SSCMA-Micro" in caught.value.message and "kit flash grove-vision-ai-v2 LAB" in caught.value.hint


@pytest.mark.parametrize("board, action, expected", [
    ("raspberry-pi-5", "measure", "kit bench-pi raspberry-pi-5 --host"),
    ("raspberry-pi-5", "project", "kit deploy"),
    ("host", "measure", "kit invoke host"),
    ("emu-cortex-m4", "project", "kit flash emu-cortex-m4"),
    ("emu-cortex-m4", "deploy", "kit flash emu-cortex-m4"),
    ("nicla-vision", "invoke", "emulated"),
])
def test_each_kind_says_once_what_it_cannot_do_and_what_to_use(board, action, expected):
    error = open_target(board).refuse(action)
    assert error is not None and expected in (error.hint or "")


@pytest.mark.parametrize("board, action", [("raspberry-pi-5", "deploy"), ("host", "invoke"), ("emu-rv32", "invoke"),
                                           ("emu-rv32", "flash"), ("nicla-vision", "flash"), ("nicla-vision", "measure")])
def test_what_a_kind_can_do_is_not_refused(board, action):
    assert open_target(board).refuse(action) is None


def test_emulate_gives_the_twin_with_the_real_boards_limits_and_the_emulated_class():
    target = open_target("nano33-ble-sense", emulate=True)
    assert type(target) is EmulatedTarget and target.run_on.name == "emu-cortex-m4"
    assert target.reference.name == target.name == "nano33-ble-sense" and target.count_unit == "instructions"
    assert open_target("nano33-ble-sense").count_unit == "cycles"


KIND_BRANCH = re.compile(r"\b(board|board_obj|target|run_on|reference|requested|self)\w*\.kind\s*(==|!=|in\b|not in\b)"
                         r"|\bkind\s*(==|!=)\s*[\"'](emulated|mcu|linux|host)[\"']")


def _kind_branches(text: str, where: str) -> list[str]:
    return [f"{where}:{number}: {line.strip()}" for number, line in enumerate(text.splitlines(), 1)
            if KIND_BRANCH.search(line.split("#", 1)[0])]


def test_no_code_outside_the_catalog_and_targets_branches_on_a_boards_kind():
    offenders = [hit for path in sorted(KIT.rglob("*.py")) if path.relative_to(KIT).parts[0] not in ALLOWED
                 for hit in _kind_branches(path.read_text(), str(path.relative_to(KIT)))]
    assert not offenders, "move these into a class in kit/targets/:\n" + "\n".join(offenders)


@pytest.mark.parametrize("planted", ['if board.kind == "emulated":', "if run_on.kind in KINDS:",
                                     'elif kind != "linux":', "    ok = self.requested.kind not in x"])
def test_the_kind_scan_catches_what_it_forbids(planted):
    assert _kind_branches(f"x = 1\n{planted}\n", "planted.py") == [f"planted.py:2: {planted.strip()}"]
    assert _kind_branches(f"# {planted}\n", "comment.py") == []


def test_no_board_name_is_written_in_code_outside_the_catalog_and_targets():
    """A board's facts live in its board file: messages and help name boards from the catalog."""
    names = [board.name for board in list_boards() if board.name != "host"]  # "host" is also a word
    offenders = []
    for path in sorted(KIT.rglob("*.py")):
        if path.relative_to(KIT).parts[0] in ALLOWED:
            continue
        text = path.read_text()
        offenders += [f"{path.relative_to(KIT)}: {name}" for name in names if re.search(rf"\b{re.escape(name)}\b", text)]
    assert not offenders, offenders
