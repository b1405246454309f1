"""Every board, lab and kit file shipped in the repository validates and cross-references."""

from __future__ import annotations

import pytest

from kit import catalog
from kit.errors import CatalogError

# The boards the book's labs and kit's CI need; any other board file joins the checks below
# by being there (adding a board is one data file, no test edit).
REQUIRED_BOARDS = {
    "nicla-vision", "xiao-esp32s3", "nano33-ble-sense", "grove-vision-ai-v2", "raspberry-pi-4",
    "raspberry-pi-5", "emu-cortex-m4", "emu-cortex-m7", "emu-rv32", "host", "portenta-h7", "nano-esp32",
}
SHIPPED_BOARDS = sorted(board.name for board in catalog.list_boards())


def test_every_required_board_is_shipped() -> None:
    assert REQUIRED_BOARDS <= set(SHIPPED_BOARDS)


def test_labs_and_kits_load() -> None:
    assert {lab.name for lab in catalog.list_labs()} == {
        "kws", "kws-yesno", "image-classification", "image-classification-160", "image-classification-224",
        "visual-wake-words", "object-detection", "motion", "anomaly",
    }
    assert {kit.name for kit in catalog.list_kits()} == {
        "xiaoml-kit", "nicla-vision-kit", "grove-vision-ai-v2-kit", "raspberry-pi-kit",
    }


@pytest.mark.parametrize("name", SHIPPED_BOARDS)
def test_board_is_consistent(name: str) -> None:
    board = catalog.get_board(name)
    assert board.sources, "every board cites where its figures come from"
    assert all(url.startswith("https://") for url in board.sources)
    if board.kind == "emulated":
        assert board.emulator is not None and board.upload.method == "qemu"
    if board.kind == "mcu" and board.support.build:
        assert board.emulated_twin is not None
        assert board.platformio is not None
        assert board.usb, "a real USB board needs its VID:PID for port detection"


def test_twins_use_the_real_boards_limits() -> None:
    nicla = catalog.get_board("nicla-vision")
    assert catalog.twin_of(nicla).name == "emu-cortex-m7"
    limits = catalog.emulation_limits(nicla)
    assert (limits.flash_bytes, limits.ram_bytes) == (786_432, 523_624)
    nano = catalog.emulation_limits("nano33-ble-sense")
    assert (nano.flash_bytes, nano.ram_bytes) == (983_040, 262_144)


def test_board_without_twin_is_refused() -> None:
    with pytest.raises(CatalogError, match="no emulated twin"):
        catalog.twin_of("raspberry-pi-5")


def test_key_figures_match_vendor_specs() -> None:
    nicla = catalog.get_board("nicla-vision")
    assert (nicla.clock_hz, nicla.flash_bytes, nicla.ram_bytes) == (480_000_000, 2 << 20, 1 << 20)
    assert nicla.usb_matches(0x2341, 0x035F).mode == "bootloader"
    xiao = catalog.get_board("xiao-esp32s3")
    assert (xiao.clock_hz, xiao.flash_bytes, xiao.external_ram_bytes) == (240_000_000, 8 << 20, 8 << 20)
    assert xiao.upload.esptool is not None and xiao.upload.esptool.bootloader_offset == 0
    nano = catalog.get_board("nano33-ble-sense")
    assert (nano.clock_hz, nano.flash_bytes, nano.ram_bytes) == (64_000_000, 1 << 20, 256 << 10)


def test_boards_added_as_data_match_their_vendor_specs() -> None:
    """portenta-h7 and nano-esp32 are one board file each (no code names them)."""
    portenta = catalog.get_board("portenta-h7")
    assert (portenta.clock_hz, portenta.flash_bytes, portenta.ram_bytes) == (480_000_000, 2 << 20, 1 << 20)
    assert (portenta.external_ram_bytes, portenta.cores) == (8 << 20, 2)
    assert portenta.usb_matches(0x2341, 0x035B).mode == "bootloader"
    assert (portenta.platformio.platform, portenta.platformio.board) == ("ststm32", "portenta_h7_m7")
    assert catalog.twin_of(portenta).name == "emu-cortex-m7"
    assert (portenta.firmware.hal, portenta.firmware.kernels) == ("arduino-mbed", "arm-dsp")
    esp = catalog.get_board("nano-esp32")
    assert (esp.clock_hz, esp.flash_bytes, esp.ram_bytes, esp.external_ram_bytes) == (240_000_000, 16 << 20, 512 << 10, 8 << 20)
    assert esp.usb_matches(0x2341, 0x0070).mode == "app"
    assert (esp.platformio.platform, esp.platformio.board, esp.platformio.upload_protocol) == \
        ("espressif32", "arduino_nano_esp32", "dfu")
    assert catalog.twin_of(esp).name == "emu-rv32"
    assert (esp.firmware.hal, esp.firmware.kernels) == ("arduino-esp32", "portable")


@pytest.mark.parametrize("name", SHIPPED_BOARDS)
def test_firmware_facts_are_consistent(name: str) -> None:
    """Every buildable board states its HAL, kernels and (real boards) LED; arm-dsp kernels
    only where the core has the DSP extension (helium where it has MVE); sensor drivers are
    pinned lib_deps."""
    from platformio.package.meta import PackageSpec

    from kit.paths import FIRMWARE_DIR

    board = catalog.get_board(name)
    if board.support.build and board.kind != "host":
        assert board.firmware is not None and (FIRMWARE_DIR / "hal" / board.firmware.hal).is_dir()
        # the fastest kernels the core has: Helium (MVE) over the DSP extension over portable C
        best = "helium" if "helium" in board.simd else "arm-dsp" if "dsp" in board.simd else "portable"
        assert board.firmware.kernels == best
    if board.platformio is not None:
        assert board.firmware.led is not None
    for driver in board.sensor_lib_deps + (board.platformio.lib_deps if board.platformio else []):
        spec = PackageSpec(driver)  # PlatformIO's own parser: owner, name and a pinned version
        assert spec.owner and spec.name and spec.requirements, driver


def test_unknown_names_list_known_ones_and_suggest() -> None:
    with pytest.raises(CatalogError) as error:
        catalog.get_board("nicla")
    assert "nicla-vision" in error.value.message and "did you mean 'nicla-vision'" in error.value.hint
    with pytest.raises(CatalogError, match="known labs: anomaly"):
        catalog.get_lab("kwz")
    with pytest.raises(CatalogError, match="unknown kit"):
        catalog.get_kit("../boards/host")


def test_every_apt_package_a_board_file_names_is_installed_by_setup():
    """Board files name the packages of their compilers and emulators (doctor and the build
    errors print them); scripts/setup.sh installs deps/apt-packages.txt, so each must be there."""
    from kit.catalog import list_boards
    from kit.paths import REPO_ROOT

    listed = {line.strip() for line in (REPO_ROOT / "deps" / "apt-packages.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    named = {package for board in list_boards() for part in (board.toolchain, board.emulator) if part is not None
             for package in part.apt}
    assert named and named <= listed, sorted(named - listed)


def test_every_lab_names_the_book_chapter_it_follows() -> None:
    chapters = {"Keyword Spotting (KWS)", "Image Classification", "Object Detection",
                "Motion Classification and Anomaly Detection"}  # the MLSysBook hardware labs' chapters
    assert {lab.name: lab.chapter in chapters for lab in catalog.list_labs()} == {
        lab.name: True for lab in catalog.list_labs()}
