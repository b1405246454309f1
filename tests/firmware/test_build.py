"""kit.build: PlatformIO projects for the emulated boards through kit's local platform,
linker scripts with the real board's limits, the overflow error, caching, offline setup."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from firmware_helpers import EMULATED_BOARDS, TEST_MODEL

from kit import catalog
from kit.build import build_firmware, resolve_target, write_project
from kit.build.linker import overflow_error, overflows
from kit.build.offline import offline_ready, scons_package_dir
from kit.cli import main
from kit.errors import KitError, ModelError, ToolMissingError
from kit.paths import FIRMWARE_DIR

ELF_MACHINE = {"emu-cortex-m4": 40, "emu-cortex-m7": 40, "emu-cortex-m55": 40, "emu-rv32": 243}  # EM_ARM, EM_RISCV


def big_model(tmp_path: Path, input_bytes: int, flash_pad: int) -> Path:
    """The checksum test model with a large input (arena + input buffer in RAM) and a large
    constant table (flash): a stand-in for a model too big for a board."""
    folder = tmp_path / "big-model"
    shutil.copytree(TEST_MODEL, folder)
    header = folder / "kit_model.h"
    header.write_text(header.read_text().replace(
        '#include "kit_runtime.h"\n',
        f'#include "kit_runtime.h"\n#define TEST_INPUT_BYTES {input_bytes}u\n#define TEST_FLASH_PAD_BYTES {flash_pad}u\n', 1))
    return folder


def test_setup_offline_installs_the_scons_shim_idempotently():
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(main, ["setup-offline", "--quiet"])
        assert result.exit_code == 0 and result.output == ""
    package = scons_package_dir()
    assert json.loads((package / "package.json").read_text())["name"] == "tool-scons"
    assert json.loads((package / ".piopm").read_text())["spec"]["owner"] == "platformio"
    assert offline_ready()


@pytest.mark.parametrize("board", EMULATED_BOARDS)
def test_the_projects_platformio_board_comes_from_the_board_file(board, tmp_path):
    """The board file is the only source: each project gets boards/<name>.json written from
    it (no hand-kept copy in the repository), and PlatformIO's own config reads it there."""
    from platformio.project.config import ProjectConfig

    project = write_project(board, TEST_MODEL, tmp_path / board)
    spec = json.loads((project / "boards" / f"{board}.json").read_text())
    entry = catalog.get_board(board)
    assert spec["build"]["cflags"] == entry.toolchain.cflags
    assert spec["build"]["ldflags"] == entry.toolchain.ldflags
    assert spec["build"]["toolchain_prefix"] + "gcc" == entry.toolchain.compiler
    assert spec["build"]["hal"] == entry.firmware.hal and (FIRMWARE_DIR / "hal" / entry.firmware.hal).is_dir()
    assert spec["upload"]["qemu"] == entry.emulator.qemu and spec["upload"]["machine"] == entry.emulator.machine
    assert spec["upload"]["args"] == entry.emulator.args and "-icount" in spec["upload"]["args"]
    config = ProjectConfig(str(project / "platformio.ini"))
    assert Path(config.get("platformio", "boards_dir")).name == "boards" and config.get("env:kit", "board") == board
    assert not (FIRMWARE_DIR / "platformio" / "boards").exists()


def test_a_twin_gets_the_real_boards_limits_and_the_emulators_origins():
    board, target, layout = resolve_target("nicla-vision")
    limits = board.memory_limits()
    assert target.name == "emu-cortex-m7"
    assert (layout.flash_bytes, layout.ram_bytes) == (limits.flash_bytes, limits.ram_bytes)
    assert (layout.flash_origin, layout.ram_origin) == (target.emulator.code_origin, target.emulator.ram_origin)
    _, _, own = resolve_target("emu-cortex-m7")
    assert (own.flash_bytes, own.ram_bytes) == (target.emulator.code_size, target.emulator.ram_size)


def test_boards_without_firmware_support_are_refused():
    with pytest.raises(KitError, match="cannot build firmware for board 'raspberry-pi-5'|no emulated twin"):
        resolve_target("raspberry-pi-5")


def test_a_folder_without_a_compiled_model_is_refused(tmp_path):
    with pytest.raises(ModelError, match="holds no compiled model") as error:
        build_firmware("emu-cortex-m4", tmp_path)
    assert "kit convert" in error.value.hint


def test_written_project_is_a_valid_platformio_project(tmp_path):
    from platformio.project.config import ProjectConfig

    project = write_project("nano33-ble-sense", TEST_MODEL, tmp_path / "project")
    config = ProjectConfig(str(project / "platformio.ini"))
    assert config.get("env:kit", "board") == "emu-cortex-m4"
    assert config.get("env:kit", "platform") == f"symlink://{FIRMWARE_DIR / 'platformio'}"
    limits = catalog.get_board("nano33-ble-sense").memory_limits()
    script = (project / "kit_link.ld").read_text()
    assert f"LENGTH = {limits.flash_bytes}" in script and f"LENGTH = {limits.ram_bytes}" in script
    assert '#define KIT_BOARD_NAME "nano33-ble-sense"' in (project / "src" / "model" / "kit_build_info.h").read_text()
    assert (project / "src" / "harness" / "kit_harness.c").is_file()
    assert (project / "src" / "hal" / "qemu-mps2" / "kit_hal_mps2.c").is_file()


def test_linker_overflow_messages_are_parsed():
    text = ("ld: firmware.elf section `.bss' will not fit in region `RAM'\n"
            "ld: region `RAM' overflowed by 4096 bytes\nld: region `FLASH' overflowed by 10 bytes\n")
    assert overflows(text) == {"RAM": 4096, "FLASH": 10}
    _, _, layout = resolve_target("nano33-ble-sense")
    error = overflow_error("nano33-ble-sense", layout, {"RAM": 4096})
    assert "RAM by 4.0 KB" in str(error) and "board nano33-ble-sense has 960.0 KB flash / 256.0 KB RAM" in str(error)


@pytest.mark.slow
@pytest.mark.parametrize("board", EMULATED_BOARDS)
def test_builds_for_every_emulated_board_and_reuses_the_cache(test_model_builds, board):
    build = test_model_builds[board]
    elf = build.elf_path.read_bytes()
    assert elf[:4] == b"\x7fELF" and int.from_bytes(elf[18:20], "little") == ELF_MACHINE[board]
    assert build.sizes.text > 5000 and build.sizes.bss >= 16 * 1024  # code, stack reserved
    assert build.build_id.startswith(("qemu-mps2-", "qemu-riscv-virt-"))
    again = build_firmware(board, TEST_MODEL)
    assert again.cached and again.elf_path == build.elf_path and again.sizes == build.sizes


@pytest.mark.slow
def test_a_model_too_big_for_the_real_board_fails_to_link_for_its_twin(tmp_path):
    model = big_model(tmp_path, input_bytes=150_000, flash_pad=1_000_000)
    with pytest.raises(ModelError) as error:
        build_firmware("nano33-ble-sense", model)
    message = str(error.value)
    assert "board nano33-ble-sense has 960.0 KB flash / 256.0 KB RAM" in message
    needs = message.split("model needs ", 1)[1]
    flash_kb, ram_kb = float(needs.split(" KB flash")[0]), float(needs.split("/ ")[1].split(" KB RAM")[0])
    # The same firmware on the bare emulated board (4 MB each) links: its sizes are what it needs.
    fits = build_firmware("emu-cortex-m4", model)
    assert flash_kb == pytest.approx(fits.sizes.flash_bytes / 1024, abs=0.1)
    assert ram_kb == pytest.approx(fits.sizes.ram_bytes / 1024, abs=0.1)
    assert ram_kb > 256 and flash_kb > 960


def test_a_missing_cross_compiler_is_named_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissingError, match="riscv64-unknown-elf-gcc is not installed") as error:
        build_firmware("emu-rv32", TEST_MODEL)
    assert "apt-get install" in error.value.hint
