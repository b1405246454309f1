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
                ("mcu", "esptool"): EsptoolTarget, ("host", "native"): HostTarget, ("linux", "ssh"): LinuxTarget}
    for board in list_boards():
        serving = [cls for cls in TARGET_CLASSES if cls.serves(board)]
        assert serving, f"no target class for {board.name}"
        cls = target_class(board)
        if board.kind == "mcu" and board.platformio is None:
            assert cls is VendorToolTarget, board.name
        else:
            assert cls is expected[(board.kind, board.upload.method)], board.name


def test_an_esptool_board_is_uploaded_by_esptool_not_pio():
    xiao = open_target("xiao-esp32s3")
    assert type(xiao) is EsptoolTarget and "esptool" in type(xiao).upload_methods
    assert type(open_target("nicla-vision")) is PlatformioTarget


def test_a_board_without_platformio_is_refused_with_the_vendor_path():
    with pytest.raises(KitError) as caught:
        open_target("grove-vision-ai-v2").check("flash")
    assert "no PlatformIO support" in caught.value.message and "kit convert" in caught.value.hint


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


def _kind_branches(path: Path) -> list[str]:
    found = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        code = line.split("#", 1)[0]
        if re.search(r"\b(board|board_obj|target|run_on|reference|requested|self)\w*\.kind\s*(==|!=|in\b|not in\b)", code) \
                or re.search(r"\bkind\s*(==|!=)\s*[\"'](emulated|mcu|linux|host)[\"']", code):
            found.append(f"{path.relative_to(KIT)}:{number}: {line.strip()}")
    return found


def test_no_code_outside_the_catalog_and_targets_branches_on_a_boards_kind():
    offenders = [hit for path in sorted(KIT.rglob("*.py")) if path.relative_to(KIT).parts[0] not in ALLOWED
                 for hit in _kind_branches(path)]
    assert not offenders, "move these into a class in kit/targets/:\n" + "\n".join(offenders)


def test_the_kind_check_finds_a_branch(tmp_path):
    """The scan above is not vacuous: it catches the pattern it forbids."""
    sample = KIT / "cli" / "device.py"
    planted = tmp_path / "planted.py"
    planted.write_text(sample.read_text() + '\nif board.kind == "emulated":\n    pass\n')
    hits = [line for line in planted.read_text().splitlines() if re.search(r"\bboard\w*\.kind\s*==", line)]
    assert hits and _kind_branches.__code__  # the same regex family as _kind_branches
    assert re.search(r"\b(board|board_obj|target|run_on|reference|requested|self)\w*\.kind\s*(==|!=|in\b|not in\b)",
                     hits[0])
