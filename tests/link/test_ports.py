"""Port detection with fake USB descriptors and real pseudo-terminals."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest
from click.testing import CliRunner
from serial.tools.list_ports_common import ListPortInfo

from kit.errors import DeviceError
from kit.link import ports


def fake_port(device: str, vid: int | None = None, pid: int | None = None, description: str = "") -> ListPortInfo:
    """A USB descriptor as pyserial would report it, without hardware."""
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.description = vid, pid, description or "n/a"
    info.serial_number = "SN-" + device[-1] if vid is not None else None
    return info


NICLA_APP = fake_port("/dev/ttyACM1", 0x2341, 0x025F, "Nicla Vision")
NICLA_BOOT = fake_port("/dev/ttyACM1", 0x2341, 0x035F, "Nicla Vision DFU")
NANO_APP = fake_port("/dev/ttyACM0", 0x2341, 0x805A, "Nano 33 BLE")
XIAO_NATIVE = fake_port("/dev/ttyACM2", 0x303A, 0x1001, "USB JTAG/serial debug unit")
XIAO_TINYUSB = fake_port("/dev/ttyACM3", 0x2886, 0x0056, "XIAO ESP32S3")
FTDI = fake_port("/dev/ttyUSB0", 0x0403, 0x6001, "FT232R")
ONBOARD = fake_port("/dev/ttyS0")


def test_list_ports_matches_usb_ids_to_boards() -> None:
    found = {port.device: port for port in ports.list_ports([NANO_APP, NICLA_APP, FTDI, ONBOARD])}
    assert found["/dev/ttyACM0"].board == "nano33-ble-sense"
    assert found["/dev/ttyACM1"].board == "nicla-vision"
    assert found["/dev/ttyACM1"].matches[0].mode == "app"
    assert found["/dev/ttyUSB0"].board is None and found["/dev/ttyUSB0"].usb_id == "0403:6001"
    assert found["/dev/ttyS0"].usb_id == "" and found["/dev/ttyS0"].looks_like() == "a port without USB ids"
    assert [port.device for port in ports.list_ports([NICLA_APP, NANO_APP])] == ["/dev/ttyACM0", "/dev/ttyACM1"]


def test_bootloader_ids_are_recognised() -> None:
    (port,) = ports.list_ports([NICLA_BOOT])
    assert port.board == "nicla-vision" and port.matches[0].mode == "bootloader"


def test_auto_pick_the_boards_port() -> None:
    raw = [NANO_APP, NICLA_APP, FTDI]
    assert ports.choose_port("nicla-vision", raw_ports=raw) == "/dev/ttyACM1"
    assert ports.choose_port("nano33-ble-sense", raw_ports=raw) == "/dev/ttyACM0"


def test_specific_id_beats_a_shared_one() -> None:
    assert ports.choose_port("xiao-esp32s3", raw_ports=[XIAO_NATIVE, XIAO_TINYUSB]) == "/dev/ttyACM3"
    assert ports.choose_port("xiao-esp32s3", raw_ports=[XIAO_NATIVE, NANO_APP]) == "/dev/ttyACM2"


def test_refuses_another_boards_port_and_names_both() -> None:
    with pytest.raises(DeviceError) as caught:
        ports.choose_port("nicla-vision", port="/dev/ttyACM0", raw_ports=[NANO_APP, NICLA_APP])
    assert "nano33-ble-sense" in caught.value.message and "nicla-vision" in caught.value.message
    assert "--force" in caught.value.hint


def test_force_overrides_the_refusal() -> None:
    assert ports.choose_port("nicla-vision", port="/dev/ttyACM0", force=True, raw_ports=[NANO_APP]) == "/dev/ttyACM0"


def test_unknown_usb_device_given_explicitly_is_accepted() -> None:
    assert ports.choose_port("nicla-vision", port="/dev/ttyUSB0", raw_ports=[FTDI]) == "/dev/ttyUSB0"


def test_board_in_bootloader_is_explained() -> None:
    with pytest.raises(DeviceError) as caught:
        ports.choose_port("nicla-vision", raw_ports=[NICLA_BOOT])
    assert "bootloader" in caught.value.message and "2341:035f" in caught.value.message
    assert "Double-press" in caught.value.hint and "press reset once" in caught.value.hint
    with pytest.raises(DeviceError, match="bootloader"):
        ports.choose_port("nicla-vision", port="/dev/ttyACM1", raw_ports=[NICLA_BOOT])
    assert ports.choose_port("nicla-vision", allow_bootloader=True, raw_ports=[NICLA_BOOT]) == "/dev/ttyACM1"


def test_esp32_hint_names_the_boot_button() -> None:
    with pytest.raises(DeviceError) as caught:
        ports.choose_port("xiao-esp32s3", raw_ports=[])
    assert "hold BOOT" in caught.value.hint


def test_no_port_found_says_what_to_plug_and_check() -> None:
    with pytest.raises(DeviceError) as caught:
        ports.choose_port("nano33-ble-sense", raw_ports=[FTDI])
    assert "no nano33-ble-sense found" in caught.value.message
    hint = caught.value.hint
    assert "DATA USB cable" in hint and "2341:805a (app)" in hint and "/dev/ttyUSB0 = an unknown device" in hint


def test_two_candidates_need_an_explicit_port() -> None:
    second = fake_port("/dev/ttyACM7", 0x2341, 0x025F)
    with pytest.raises(DeviceError, match="several ports look like nicla-vision") as caught:
        ports.choose_port("nicla-vision", raw_ports=[NICLA_APP, second])
    assert "--port" in caught.value.hint


def test_urls_ptys_and_missing_paths() -> None:
    assert ports.choose_port("nicla-vision", port="socket://127.0.0.1:5555", raw_ports=[]) == "socket://127.0.0.1:5555"
    master, slave = os.openpty()
    try:
        path = os.ttyname(slave)
        assert ports.choose_port("nicla-vision", port=path, raw_ports=[]) == path
    finally:
        os.close(master)
        os.close(slave)
    with pytest.raises(DeviceError, match="does not exist"):
        ports.choose_port("nicla-vision", port="/dev/ttyNOPE9", raw_ports=[])


def test_boards_without_usb_need_an_explicit_port() -> None:
    with pytest.raises(DeviceError, match="not reached over a USB serial port"):
        ports.choose_port("emu-cortex-m4", raw_ports=[NICLA_APP])
    assert ports.choose_port("emu-cortex-m4", port="socket://127.0.0.1:4000") == "socket://127.0.0.1:4000"


# --------------------------------------------------------------------------- open checks


@pytest.fixture()
def pty_path():
    master, slave = os.openpty()
    yield os.ttyname(slave)
    os.close(master)
    os.close(slave)


def test_free_pty_passes_the_checks(pty_path: str) -> None:
    ports.open_checks(pty_path)  # this process holds it, which does not count by default


def test_busy_port_names_this_process(pty_path: str) -> None:
    with pytest.raises(DeviceError) as caught:
        ports.open_checks(pty_path, ignore_pids=())
    assert f"pid {os.getpid()} - this process" in caught.value.message
    assert "already in use" in caught.value.message


def test_busy_port_names_the_other_process(pty_path: str) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import os,time; os.open({pty_path!r}, os.O_RDWR | os.O_NOCTTY); print('ok', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        with pytest.raises(DeviceError) as caught:
            ports.open_checks(pty_path)
        assert f"pid {holder.pid}:" in caught.value.message and "python" in caught.value.message
        assert f"kill {holder.pid}" in caught.value.hint
    finally:
        holder.kill()
        holder.wait()


def test_missing_port_in_open_checks() -> None:
    with pytest.raises(DeviceError, match="does not exist"):
        ports.open_checks("/dev/ttyNOPE9")


def test_error_mapping_from_errno(pty_path: str) -> None:
    error = ports.port_error(pty_path, OSError(errno.EACCES, "Permission denied"))
    assert "permission denied" in error.message and "usermod -aG" in error.hint and "log out" in error.hint
    busy = ports.port_error(pty_path, OSError(errno.EBUSY, "Device or resource busy"), ignore_pids=())
    assert f"pid {os.getpid()}" in busy.message


NOBODY = 65534


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_permission_denied_as_an_unprivileged_user(pty_path: str) -> None:
    """A real PermissionError: the pty is made unreadable and a child drops to `nobody`."""
    os.chmod(pty_path, 0o600)
    script = textwrap.dedent(
        f"""
        import os
        from kit.link import ports
        from kit.errors import DeviceError
        os.setgroups([]); os.setgid({NOBODY}); os.setuid({NOBODY})
        try:
            os.open({pty_path!r}, os.O_RDWR)
        except PermissionError as error:
            mapped = ports.port_error({pty_path!r}, error)
            print("MAPPED", mapped.message, "|", mapped.hint)
        try:
            ports.open_checks({pty_path!r})
        except DeviceError as error:
            print("CHECK", error.message, "|", error.hint)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    for key in ("MAPPED", "CHECK"):
        assert "permission denied" in lines[key] and "usermod -aG dialout $USER" in lines[key], result.stdout


# --------------------------------------------------------------------------- CLI


def test_kit_ports_table_and_json(monkeypatch: pytest.MonkeyPatch) -> None:
    from kit.cli import main

    monkeypatch.setattr(ports.pyserial_list_ports, "comports", lambda: [NICLA_APP, FTDI])
    result = CliRunner().invoke(main, ["ports", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [row["board"] for row in data] == ["nicla-vision", None]
    assert data[0]["usb_id"] == "2341:025f" and data[0]["matches"][0]["mode"] == "app"
    table = CliRunner().invoke(main, ["ports"])
    assert table.exit_code == 0 and "nicla-vision" in table.output and "/dev/ttyUSB0" in table.output
