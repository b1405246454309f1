"""Flashing real boards with `pio run -t upload` (kit.upload.pio) and `kit flash` on a real
board. No real board exists here: `pio` is a FAKE on PATH (fake_pio.py) that records its
arguments, replays PlatformIO's real offline error text, or (end to end) builds the project
natively against the stand-ins and serves it on a pseudo-terminal that fake USB descriptors
present as the board's port."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest
from serial.tools.list_ports_common import ListPortInfo

from kit import catalog
from kit.targets import state as device_state
from kit.errors import DeviceError, KitError, ToolMissingError
from kit.upload import pio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "esptool"))
from rom_peer import RomPeer  # noqa: E402  (the stand-in ESP32-S3 ROM loader)

FAKE_PIO = Path(__file__).resolve().parent / "fake_pio.py"
# What PlatformIO 6.2 printed here, with no internet, for `pio run -t upload` of a Nicla
# Vision project (captured on this machine: it tried for ~60 s, then gave up).
REAL_OFFLINE_OUTPUT = """Processing nicla-vision (platform: ststm32; board: nicla_vision; framework: arduino)
--------------------------------------------------------------------------------
Platform Manager: Installing ststm32
HTTPClientError: 
"""
UNKNOWN_PACKAGE_OUTPUT = """Library Manager: Installing tanakamasayuki/TensorFlowLite_ESP32 @ ^1.0.0
UnknownPackageError: Could not find the package with 'tanakamasayuki/TensorFlowLite_ESP32 @ ^1.0.0' requirements for your system 'linux_x86_64'
"""
COMPILE_ERROR_OUTPUT = """Compiling .pio/build/nano33-ble-sense/src/harness/kit_line.c.o
src/harness/kit_line.c:3:1: error: expected ';' before '}' token
*** [.pio/build/nano33-ble-sense/src/harness/kit_line.c.o] Error 1
"""


def fake_port(device: str, vid: int, pid: int) -> ListPortInfo:
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.description, info.serial_number = vid, pid, "fake USB descriptor", "SN1"
    return info


@pytest.fixture()
def fake_pio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A `pio` beside kit's Python (and on PATH) that records every call; returns a reader of the recorded argv lists."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pio"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_PIO}" "$@"\n')
    script.chmod(0o755)
    log = tmp_path / "pio-calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    python = bin_dir / "python"  # `pio` beside kit's Python wins over PATH; this Python still runs
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(python))
    monkeypatch.setenv("FAKE_PIO_LOG", str(log))

    def calls() -> list[list[str]]:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return calls


@pytest.fixture()
def usb_ports(monkeypatch: pytest.MonkeyPatch):
    """Replace the OS's serial-port list with hand-made USB descriptors."""
    ports: list[ListPortInfo] = []
    monkeypatch.setattr("kit.link.ports.pyserial_list_ports.comports", lambda: list(ports))
    return ports


def test_upload_passes_the_environment_and_port(projects, fake_pio) -> None:
    project = projects[("nicla-vision", "kit")]
    result = pio.upload(project, "/dev/ttyACM7")
    assert fake_pio() == [["run", "-d", str(project.project_dir), "-e", "nicla-vision", "-t", "upload",
                           "--upload-port", "/dev/ttyACM7"]]
    assert result.port == "/dev/ttyACM7"


def test_upload_without_a_port_lets_platformio_find_the_board(projects, fake_pio) -> None:
    project = projects[("xiao-esp32s3", "tflm")]
    pio.upload(project, None)
    assert fake_pio()[0][-2:] == ["-t", "upload"] and "-e" in fake_pio()[0]


@pytest.mark.parametrize(("board", "engine", "output", "needle"), [
    ("nicla-vision", "kit", REAL_OFFLINE_OUTPUT, "ststm32"),
    ("xiao-esp32s3", "tflm", UNKNOWN_PACKAGE_OUTPUT, "TensorFlowLite_ESP32"),
])
def test_offline_platformio_says_what_to_run_and_carry(projects, fake_pio, monkeypatch, tmp_path: Path,
                                                       board: str, engine: str, output: str, needle: str) -> None:
    text = tmp_path / "out.txt"
    text.write_text(output)
    monkeypatch.setenv("FAKE_PIO_OUTPUT", str(text))
    monkeypatch.setenv("FAKE_PIO_RC", "1")
    monkeypatch.delenv("PLATFORMIO_CORE_DIR", raising=False)
    project = projects[(board, engine)]
    with pytest.raises(ToolMissingError) as error:
        pio.upload(project, "/dev/ttyACM0")
    assert needle in str(error.value.message) + " ".join(project.lib_deps)
    hint = error.value.hint
    assert f"pio pkg install -d {project.project_dir} -e {board}" in hint
    assert "~/.platformio/platforms" in hint and "~/.platformio/packages" in hint and "PLATFORMIO_CORE_DIR" in hint


def test_offline_hint_follows_platformio_core_dir(projects, fake_pio, monkeypatch, tmp_path: Path) -> None:
    text = tmp_path / "out.txt"
    text.write_text(REAL_OFFLINE_OUTPUT)
    monkeypatch.setenv("FAKE_PIO_OUTPUT", str(text))
    monkeypatch.setenv("FAKE_PIO_RC", "1")
    monkeypatch.setenv("PLATFORMIO_CORE_DIR", "/srv/workshop/pio")
    with pytest.raises(ToolMissingError) as error:
        pio.upload(projects[("nicla-vision", "kit")], None)
    assert "/srv/workshop/pio/platforms" in error.value.hint


def test_a_compile_error_is_not_mistaken_for_missing_internet(projects, fake_pio, monkeypatch, tmp_path: Path) -> None:
    text = tmp_path / "out.txt"
    text.write_text(COMPILE_ERROR_OUTPUT)
    monkeypatch.setenv("FAKE_PIO_OUTPUT", str(text))
    monkeypatch.setenv("FAKE_PIO_RC", "1")
    with pytest.raises(KitError) as error:
        pio.upload(projects[("nano33-ble-sense", "kit")], "/dev/ttyACM0")
    assert not isinstance(error.value, ToolMissingError)
    assert "expected ';'" in error.value.message and "/dev/ttyACM0" in error.value.message
    assert "Double-press the reset button" in error.value.hint


def test_missing_pio_is_a_tool_error(projects, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(ToolMissingError, match="PlatformIO"):
        pio.upload(projects[("nicla-vision", "kit")], None)


def test_upload_port_detection(usb_ports, monkeypatch, tmp_path: Path) -> None:
    nicla, nano, xiao = (catalog.get_board(name) for name in ("nicla-vision", "nano33-ble-sense", "xiao-esp32s3"))
    usb_ports += [fake_port("/dev/ttyACM0", 0x2341, 0x805A), fake_port("/dev/ttyACM1", 0x2341, 0x025F)]
    assert pio.upload_port(nicla, None, force=False) == "/dev/ttyACM1"
    assert pio.upload_port(nano, None, force=False) == "/dev/ttyACM0"
    with pytest.raises(DeviceError, match="looks like nano33-ble-sense"):
        pio.upload_port(nicla, "/dev/ttyACM0", force=False)
    assert pio.upload_port(nicla, "/dev/ttyACM0", force=True) == "/dev/ttyACM0"
    usb_ports[:] = [fake_port("/dev/ttyACM4", 0x2886, 0x8056)]  # XIAO in its bootloader: fine for flashing
    assert pio.upload_port(xiao, None, force=False) == "/dev/ttyACM4"


def test_dfu_board_without_a_serial_port(usb_ports, monkeypatch, tmp_path: Path) -> None:
    """A Nicla Vision in its DFU bootloader has no serial port; sysfs shows its USB id."""
    nicla, xiao = catalog.get_board("nicla-vision"), catalog.get_board("xiao-esp32s3")
    sysfs = tmp_path / "usb"
    monkeypatch.setattr(pio, "USB_SYSFS", sysfs)
    sysfs.mkdir()
    with pytest.raises(DeviceError, match="no nicla-vision found") as error:
        pio.upload_port(nicla, None, force=False)
    assert "--emulate" in error.value.hint and "Double-press" in error.value.hint
    device = sysfs / "1-1"
    device.mkdir()
    (device / "idVendor").write_text("2341\n")
    (device / "idProduct").write_text("035f\n")
    assert pio.upload_port(nicla, None, force=False) is None
    with pytest.raises(DeviceError, match="no xiao-esp32s3 found"):
        pio.upload_port(xiao, None, force=False)  # esptool needs a port: no DFU shortcut


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.usefixtures("host_compilers")
@pytest.mark.parametrize(("board", "engine", "usb_id", "clock"), [
    ("nano33-ble-sense", "kit", (0x2341, 0x805A), "64000000"),
    ("xiao-esp32s3", "tflm", (0x303A, 0x1001), "240000000"),
])
def test_kit_flash_on_a_stand_in_board_end_to_end(fake_pio, usb_ports, monkeypatch, tmp_path: Path, kws_model: Path,
                                                  board: str, engine: str, usb_id: tuple[int, int], clock: str) -> None:
    """`kit flash BOARD kws [--engine tflm]` with a fake pio that builds the generated project
    natively and serves it on a pty shown as the board's USB port: port detection, project,
    upload arguments, re-enumeration wait, sha256 handshake, device state, then `kit bench`."""
    from kit.targets import flash
    from kit.device.flow import bench

    link = tmp_path / "ttyFAKE"
    monkeypatch.setenv("FAKE_PIO_BOARD_LINK", str(link))
    monkeypatch.setenv("FAKE_PIO_BOARD", board)
    # the stand-in TFLM interpreter's tensor sizes and node count (the kws model's)
    monkeypatch.setenv("FAKE_PIO_EXTRA_FLAGS", "-DKIT_STUB_INPUT_BYTES=490u -DKIT_STUB_OUTPUT_BYTES=12u "
                       "-DKIT_STUB_NODES=13u")
    usb_ports.append(fake_port(str(link), *usb_id))
    esptool_board = catalog.get_board(board).upload.method == "esptool"
    written: list[tuple[str, list[Path]]] = []
    peer = RomPeer() if esptool_board else None
    if peer is not None:  # the ROM loader the board shows in download mode, on its own socket
        link.write_bytes(b"")  # its USB-Serial/JTAG port is there before the build, as on the board
        import kit.upload.esptool as esptool_module

        real_flash = esptool_module.flash_firmware

        def flash_through_the_rom_peer(target, images, port, **options):
            written.append((port, list(images)))
            return real_flash(target, images, peer.url, **options)

        monkeypatch.setattr(esptool_module, "flash_firmware", flash_through_the_rom_peer)
        peer.__enter__()
    try:
        result = flash(board, "kws", model=kws_model, engine=engine, log=print)
        (call,) = fake_pio()
        assert call[call.index("-e") + 1] == board
        if esptool_board:  # PlatformIO only builds; kit's esptool writer flashes the images it built
            assert "-t" not in call
            (port, images), = written
            assert port == str(link) and [path.name for path in images] == ["bootloader.bin", "partitions.bin",
                                                                             "firmware.bin"]
            for offset, path in zip((0x0, 0x8000, 0x10000), images):
                assert bytes(peer.flash[offset:offset + path.stat().st_size]) == path.read_bytes(), path.name
        else:
            assert call[-2:] == ["--upload-port", str(link)]
        assert result.port == str(link) and result.pid is None
        assert result.info["board"] == board and result.info["sha256"] == result.sha256
        assert result.info["clock_hz"] == clock and result.info["build"].startswith(
            ("arduino-mbed-" if board != "xiao-esp32s3" else "arduino-esp32-") + engine)
        entry = device_state.load(board)
        assert entry is not None and entry.port == str(link) and entry.extra["engine"] == engine
        assert Path(entry.firmware, "platformio.ini").is_file()
        report = bench(board, runs=3, warmup=1)  # the flashed board, found by its state
        assert report.board == board and report.runs == 3 and report.latency_us.mean > 0
        assert len(report.layers) == 13
    finally:
        if peer is not None:
            peer.__exit__(None, None, None)
        device_state.remove(board)
        pid_file = Path(str(link) + ".pid")
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGTERM)


def test_tflm_fit_counts_the_whole_model_and_tflm_arena(kws_converted) -> None:
    from kit.targets import fit_for_engine, open_target

    target = open_target("nano33-ble-sense")
    kit_fit = fit_for_engine(target.reference, target.label, kws_converted, "kit")
    tflm_fit = fit_for_engine(target.reference, target.label, kws_converted, "tflm")
    assert tflm_fit.flash_needed == kws_converted.model_bytes > kit_fit.flash_needed
    assert tflm_fit.ram_needed - kit_fit.ram_needed == kws_converted.tensor_arena_size - kws_converted.arena_bytes_kit
    assert (tflm_fit.flash_limit, tflm_fit.ram_limit) == (983_040, 262_144)


def test_pio_beside_kits_python_comes_before_path(monkeypatch, tmp_path: Path) -> None:
    from kit.build.project import pio_executable as _pio_executable

    venv, elsewhere = tmp_path / "venv", tmp_path / "elsewhere"
    for folder in (venv, elsewhere):
        folder.mkdir()
        (folder / "pio").write_text("#!/bin/sh\n")
        (folder / "pio").chmod(0o755)
    monkeypatch.setenv("PATH", str(elsewhere))
    monkeypatch.setattr(sys, "executable", str(venv / "python"))
    assert pio.pio_executable() == _pio_executable() == str(venv / "pio")
    (venv / "pio").unlink()
    assert pio.pio_executable() == _pio_executable() == str(elsewhere / "pio")
