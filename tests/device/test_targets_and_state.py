"""Board resolution (real board vs twin), the fit check message, and the running-board state."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kit.targets import state as device_state
from kit.targets import require_running
from kit.targets.state import DeviceState
from kit.targets import Fit, check_fit, open_target as resolve_target
from kit.errors import DeviceError, KitError, ModelError


@pytest.mark.parametrize("real, twin", [("nicla-vision", "emu-cortex-m7"), ("nano33-ble-sense", "emu-cortex-m4"),
                                        ("xiao-esp32s3", "emu-rv32")])
def test_emulate_runs_the_twin_with_the_real_boards_numbers(real, twin):
    target = resolve_target(real, emulate=True)
    assert target.run_on.name == twin and target.reference.name == real and target.emulated
    assert target.reference.memory_limits().ram_bytes < target.run_on.memory_limits().ram_bytes


def test_emulated_board_is_its_own_reference_and_real_board_without_emulate_is_real():
    target = resolve_target("emu-rv32")
    assert target.run_on is target.reference and target.emulated
    assert not resolve_target("nicla-vision").emulated


@pytest.mark.parametrize("board, expected", [("raspberry-pi-5", "kit deploy"), ("host", "kit invoke host")])
def test_boards_that_are_not_flashed_point_to_their_command(board, expected):
    with pytest.raises(KitError) as caught:
        resolve_target(board).check("flash")
    assert expected in caught.value.hint
    with pytest.raises(KitError) as emulated:
        resolve_target(board, emulate=True)
    assert expected in emulated.value.hint


def test_fit_error_names_what_is_needed_and_what_the_board_has():
    fit = Fit(flash_needed=1_200_000, ram_needed=100_000, flash_limit=983_040, ram_limit=262_144, board="nano33")
    with pytest.raises(ModelError) as caught:
        check_fit(fit)
    message = str(caught.value)
    assert "needs 1171.9 KB flash / 97.7 KB RAM" in message and "board has 960.0 KB flash / 256.0 KB RAM" in message
    assert "too little flash" in message
    check_fit(Fit(1, 1, 2, 2, "ok"))


def test_state_round_trip_and_a_dead_emulator_is_reported_and_forgotten():
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    entry = DeviceState(board="emu-cortex-m7", reference_board="nicla-vision", port="socket://127.0.0.1:9",
                        lab="kws", model_path="/nonexistent.tflite", sha256="ab" * 32, pid=finished.pid)
    device_state.save(entry)
    assert device_state.load("emu-cortex-m7") == entry
    with pytest.raises(DeviceError, match="no longer running") as caught:
        require_running("nicla-vision")  # found through the real board it stands in for
    assert "kit flash nicla-vision kws" in caught.value.hint
    assert device_state.load("emu-cortex-m7") is None


def test_board_never_flashed_tells_how_to_start_it():
    device_state.remove("emu-cortex-m4")
    with pytest.raises(DeviceError, match="emu-cortex-m4 is not running") as caught:
        require_running("emu-cortex-m4")
    assert "kit flash emu-cortex-m4 LAB" in caught.value.hint
    with pytest.raises(DeviceError, match="grove-vision-ai-v2 is not running") as caught:
        require_running("grove-vision-ai-v2")  # a real board whose twin (emu-cortex-m55) was not started
    assert "kit flash grove-vision-ai-v2 LAB --emulate" in caught.value.hint


def test_bench_on_a_linux_board_points_to_bench_pi():
    with pytest.raises(DeviceError) as caught:
        require_running("raspberry-pi-5")
    assert "kit bench-pi raspberry-pi-5 --host" in caught.value.hint


def _usb_port(device: str, vid: int, pid: int):
    from serial.tools.list_ports_common import ListPortInfo

    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.description, info.serial_number = vid, pid, "n/a", None
    return info


@pytest.fixture
def plugged(monkeypatch):
    """Pretend a Nicla Vision (ttyACM1) and a Nano 33 BLE (ttyACM0) are plugged in."""
    from kit.link import ports

    raw = [_usb_port("/dev/ttyACM1", 0x2341, 0x025F), _usb_port("/dev/ttyACM0", 0x2341, 0x805A)]
    monkeypatch.setattr(ports.pyserial_list_ports, "comports", lambda: raw)
    monkeypatch.setattr(ports.os.path, "exists", lambda path: path in ("/dev/ttyACM0", "/dev/ttyACM1"))
    device_state.remove("nicla-vision")
    yield
    device_state.remove("nicla-vision")


def test_real_board_is_found_by_usb_id_and_another_boards_port_needs_force(plugged):
    from kit.targets import resolve_port

    assert resolve_port("nicla-vision") == ("/dev/ttyACM1", None)
    with pytest.raises(DeviceError, match="looks like nano33-ble-sense"):
        resolve_port("nicla-vision", "/dev/ttyACM0")
    assert resolve_port("nicla-vision", "/dev/ttyACM0", force=True)[0] == "/dev/ttyACM0"
    assert resolve_port("nicla-vision", "socket://127.0.0.1:9")[0] == "socket://127.0.0.1:9"


def test_recorded_port_is_checked_and_a_vanished_one_falls_back_to_detection(plugged):
    from kit.targets import resolve_port

    entry = DeviceState(board="nicla-vision", reference_board="nicla-vision", port="/dev/ttyACM7", lab="kws",
                        model_path="/nonexistent.tflite", sha256="ab" * 32)
    device_state.save(entry)
    assert resolve_port("nicla-vision") == ("/dev/ttyACM1", entry)
    device_state.save(DeviceState(**{**entry.__dict__, "port": "/dev/ttyACM0"}))
    with pytest.raises(DeviceError, match="not nicla-vision"):
        resolve_port("nicla-vision")
    assert resolve_port("nicla-vision", force=True)[0] == "/dev/ttyACM0"


def test_stop_ends_and_reaps_an_emulator_only_the_device_state_knows():
    from kit.targets import stop
    from kit.procs import pid_alive

    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    device_state.save(DeviceState(board="emu-cortex-m4", reference_board="emu-cortex-m4", port="socket://127.0.0.1:9",
                                  lab="kws", model_path="/nonexistent.tflite", sha256="ab" * 32, pid=process.pid))
    try:
        assert stop("emu-cortex-m4") == ["emu-cortex-m4"]
        assert not pid_alive(process.pid)  # reaped: no zombie left behind
        assert device_state.load("emu-cortex-m4") is None
    finally:
        if process.poll() is None:
            process.kill()
