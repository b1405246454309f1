"""The harness's power parts on the native host build (no sensor, no pin): MLPerf Tiny
energy mode's boot line, kit-info's `power` field, kit-power's refusal without a sensor,
and the board file's [power] table as build defines."""

from __future__ import annotations

from firmware_helpers import HostHarness, compile_host_harness

from kit.build.power import power_flags
from kit.catalog import get_board


def _harness(tmp_path, *defines: str) -> HostHarness:
    return HostHarness(compile_host_harness(tmp_path / "build", defines=defines))


def test_energy_mode_boots_as_the_mlperf_runner_expects(tmp_path):
    harness = _harness(tmp_path, "-DKIT_ENERGY_MODE=1")
    try:
        assert harness.boot[0] == "m-timestamp-mode-energy"
        assert harness.command("name") == ["m-name-dut-[kit-unknown]"]
    finally:
        harness.close()


def test_the_timestamp_command_as_the_mlperf_api_defines_it(tmp_path):
    """`timestamp` (internally_implemented.cpp): energy mode pulses the pin and prints nothing
    but m-ready; performance mode prints the time as m-lap-us."""
    import re

    for defines, expected in ((("-DKIT_ENERGY_MODE=1",), None), ((), r"^m-lap-us-[0-9]+$")):
        (tmp_path / str(bool(defines))).mkdir()
        harness = _harness(tmp_path / str(bool(defines)), *defines)
        try:
            reply = harness.command("timestamp")
            if expected is None:
                assert reply == []
            else:
                assert len(reply) == 1 and re.match(expected, reply[0]), reply
        finally:
            harness.close()


def test_without_a_sensor_kit_power_says_so(tmp_path):
    harness = _harness(tmp_path)
    try:
        assert harness.boot[0] == "m-timestamp-mode-performance"
        info = harness.command("kit-info")[0]
        assert ",power=none" in info
        size = int(info.split("input_bytes=")[1].split(",")[0])
        assert harness.command("kit-power 1")[0].startswith("e-[input not loaded")  # the input check first
        assert harness.command(f"db load {size}") == [f"m-[Expecting {size} bytes]"]
        assert harness.command("db " + "00" * size)[-1] == "m-load-done"
        assert harness.command("kit-power 1") == ["e-[kit-power: no power sensor on this board]"]
        assert harness.command("kit-infer 1")[0].startswith("m-kit-run-[0,")  # the board still runs
    finally:
        harness.close()


def test_board_files_become_defines():
    nano = power_flags(get_board("nano33-ble-sense"))
    assert nano == ["-DKIT_POWER_SENSOR=1", "-DKIT_POWER_I2C_ADDR=0x40", "-DKIT_POWER_SHUNT_MOHM=100",
                    "-DKIT_VIRTUAL_BUS_MV=3300", "-DKIT_I2C_SDA=A4", "-DKIT_I2C_SCL=A5", "-DKIT_TIMESTAMP_PIN=D7",
                    "-DKIT_TIMESTAMP_US=2"]
    assert "-DKIT_VIRTUAL_BUS_MV=5000" in power_flags(get_board("nicla-vision"))  # its twin reports the 5 V supply
    assert power_flags(get_board("emu-cortex-m7"))[:1] == ["-DKIT_POWER_SENSOR=2"]
    assert power_flags(get_board("host")) == ["-DKIT_POWER_SENSOR=0"]
    energy = get_board("nano33-ble-sense").power.model_copy(update={"energy_mode": True})
    board = get_board("nano33-ble-sense").model_copy(update={"power": energy})
    assert power_flags(board)[-2:] == ["-DKIT_ENERGY_MODE=1", "-DKIT_ENERGY_BAUD=9600"]
