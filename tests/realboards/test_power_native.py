"""The power path of every real board's firmware against stand-ins (no board, no sensor
here): the project built natively with the stand-in Wire bus, on which sits a stand-in
INA219/INA226 (stubs/Wire.h) drawing a constant 20 mA at 3.3 V; `kit-power` integrates it on
the "board" and kit's host meter checks it. The timestamp pin pulses at each run's start
and end. And the sensor driver cross-compiled warning-free with each board's defines."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kit import catalog
from kit.device.meters.onboard import OnBoardMeter
from kit.link.stream_link import StreamLink

from realboard_helpers import REAL_BOARDS, STUBS, build_native, ini_flags
from test_native_hal import NativeBoard, _input

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300), pytest.mark.usefixtures("host_compilers")]

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
SENSOR_BOARDS = [b for b in REAL_BOARDS if catalog.get_board(b).power.sensor is not None]
STUB_MW = 20.0 * 3.3  # stubs/arduino_stub.cpp: 20 mA at 3.3 V


def test_every_real_board_wires_a_sensor_and_a_timestamp_pin():
    """Every board kit writes a PlatformIO project for names its INA219/INA226 wiring, so
    SENSOR_BOARDS (each compiled and run below) is every real board, not a sample."""
    assert set(SENSOR_BOARDS) == set(REAL_BOARDS)
    assert {"nano33-ble-sense", "nano-esp32", "xiao-esp32s3", "nicla-vision", "portenta-h7"} <= set(SENSOR_BOARDS)
    for board in SENSOR_BOARDS:
        power = catalog.get_board(board).power
        assert power.timestamp_pin and power.i2c_sda and power.i2c_scl, board


@pytest.mark.parametrize("board", SENSOR_BOARDS)
def test_kit_power_on_the_stand_in_sensor(projects, board: str, tmp_path: Path) -> None:
    project = projects[(board, "kit")]
    defines = ini_flags(project.project_dir).defines
    entry = catalog.get_board(board)
    assert f"-DKIT_POWER_SENSOR={ {'ina219': 1, 'ina226': 2}[entry.power.sensor] }" in defines
    assert f"-DKIT_TIMESTAMP_PIN={entry.power.timestamp_pin}" in defines
    binary = build_native(project.project_dir, board, tmp_path / "build")
    device = NativeBoard(binary)
    try:
        assert device.client.info.fields["power"] == entry.power.sensor
        device.client.load(_input(490))
        device.client.kit_infer(1)
        meter = OnBoardMeter(entry.power.sensor, entry.power.supply_v, board, virtual=False)
        meter.start(lambda _samples: None)
        seconds = [meter.measure_run(device.client, index) for index in range(2)]
        summary = meter.summary()
    finally:
        device.close()
    assert summary.label == "measured" and summary.sync == "board"
    for uj, run_s in zip(summary.energy_uj, seconds):
        assert uj == pytest.approx(STUB_MW * run_s * 1e3, rel=0.01)  # mW x s = mJ; x 1e3 = uJ
    assert summary.idle_power_mw == pytest.approx(STUB_MW, rel=0.01)
    assert summary.peak_power_mw == pytest.approx(STUB_MW, rel=0.01)
    assert len(meter.samples) == 2 * (2 * 13 + 2)  # start, end, before/after each of 13 ops
    log = device.stderr_path.read_text().splitlines()
    pulses = [line for line in log if line.startswith("timestamp=")]
    assert pulses[:2] == ["timestamp=1", "timestamp=0"]  # set up idle high, then the first falling edge
    assert sum(line == "timestamp=0" for line in pulses) == 2 * 3  # start and end of 3 runs
    if entry.power.i2c_sda and "ESP32" in " ".join(entry.platformio.framework_defines):
        assert any(line.startswith("wire begin sda=") for line in log)  # the ESP32 core takes the pins


def test_a_sensor_that_is_absent_or_goes_silent_mid_run(projects, tmp_path: Path, monkeypatch) -> None:
    """The stand-in INA219 absent (no answer at all), and answering for one whole `kit-power 1`
    (1 config read + 8 idle readings x 2 registers + 28 samples x 2 = 73 reads) and 20 more of
    the next (17 before its run, 3 into it): a clear error each time, the first run's samples kept."""
    from kit.device.meters import MeterError

    board = "nano33-ble-sense"
    binary = build_native(projects[(board, "kit")].project_dir, board, tmp_path / "build")
    entry = catalog.get_board(board)
    for answers, expected in (("0", "cannot read its INA219"), ("93", "stopped answering during run 1")):
        monkeypatch.setenv("KIT_STUB_INA_ANSWERS", answers)
        device = NativeBoard(binary)
        try:
            device.client.load(_input(490))
            meter = OnBoardMeter(entry.power.sensor, entry.power.supply_v, board, virtual=False)
            meter.start(lambda _samples: None)
            with pytest.raises(MeterError, match=expected) as caught:
                for index in range(2):
                    meter.measure_run(device.client, index)
            if answers == "93":
                assert len(meter.samples) == 2 * 13 + 2 and "28 samples" in caught.value.message
            else:
                assert "does not answer at I2C address 64" in caught.value.message and not meter.samples
        finally:
            device.close()


@pytest.mark.parametrize("board", SENSOR_BOARDS)
def test_sensor_driver_cross_compiles_warning_free(projects, board: str, tmp_path: Path) -> None:
    entry = catalog.get_board(board)
    if entry.toolchain is None or entry.toolchain.compiler != "arm-none-eabi-gcc":
        prefix, target = "riscv64-unknown-elf", ["--specs=picolibc.specs", "-march=rv32imc", "-misa-spec=2.2",
                                                 "-mabi=ilp32"]
    else:
        prefix, target = "arm-none-eabi", list(entry.toolchain.cflags)
    if shutil.which(f"{prefix}-gcc") is None:
        pytest.skip(f"{prefix}-gcc is not installed")
    defines = [d for d in ini_flags(projects[(board, "kit")].project_dir).defines if d.startswith("-DKIT_POWER")]
    for source in ("kit_power.c",):
        result = subprocess.run([f"{prefix}-gcc", "-std=c99", *target, "-Wall", "-Wextra", "-Werror", "-O2", *defines,
                                 f"-I{FIRMWARE / 'harness'}", f"-I{FIRMWARE / 'hal'}", f"-I{STUBS}", "-c",
                                 str(FIRMWARE / "harness" / source), "-o", str(tmp_path / "power.o")],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


ENERGY_FLAGS = ("-DKIT_ENERGY_MODE=1", "-DKIT_ENERGY_BAUD=9600")  # what [power] energy_mode = true adds
# Energy mode's code is per HAL (the console switch), the pins per board file: one board per HAL.
ENERGY_BOARDS = list({catalog.get_board(b).firmware.hal: b for b in reversed(SENSOR_BOARDS)}.values())


def _reply(link, command: str, timeout: float = 10.0) -> list[str]:
    """Send one MLPerf Tiny command as the runner does (ends with %) and read to `m-ready`."""
    link.write(command + "%")
    lines = []
    while True:
        line = link.read_line(timeout).strip("\r")
        lines.append(line)
        if line == "m-ready":
            return lines


@pytest.mark.parametrize("board", ENERGY_BOARDS)
def test_mlperf_energy_mode_on_the_stand_in(projects, board: str, tmp_path: Path) -> None:
    """The runner's energy-mode flow (mlcommons/tiny benchmark/runner: the DUT behind the IO
    manager on its UART at the DUT's energy baud, powered by the meter, no USB host; `db`
    lines of 26 bytes; `infer N W`; the energy between the LAST TWO timestamp edges of each
    infer): the console opens the UART (Serial1) at 9,600 baud and never waits for USB, the
    timestamp pin idles high from boot, `infer` makes exactly two falling edges and
    `timestamp` one, and the replies match the runner's regexes."""
    project = projects[(board, "kit")]
    binary = build_native(project.project_dir, board, tmp_path / "build", extra=ENERGY_FLAGS)
    stderr_path = tmp_path / "stderr.log"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen([str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
        link = StreamLink(process.stdout, process.stdin, board)
        try:
            boot = []
            while not boot or boot[-1] != "m-ready":
                boot.append(link.read_line(10.0).strip("\r"))
            log = stderr_path.read_text().splitlines()
            assert "m-timestamp-mode-energy" in boot
            assert [line for line in log if line.startswith("timestamp=")] == ["timestamp=1"]  # idle high at boot
            opened = [line for line in log if " begin baud=" in line]
            assert len(opened) == 1 and opened[0].startswith("serial1 begin baud=9600"), opened  # the UART, not USB
            if "ESP32" in " ".join(catalog.get_board(board).platformio.framework_defines):
                assert opened[0].endswith("rx=44 tx=43")  # the variant's RX/TX header pins
            assert any(re.match(r"^m-name-dut-\[([^]]+)]$", line) for line in _reply(link, "name"))
            assert any(re.match(r"^m-model-\[kws01]$", line) for line in _reply(link, "profile"))
            data = _input(490)
            _reply(link, f"db load {len(data)}")
            for start in range(0, len(data), 26):
                line = f"db {data[start:start + 26].hex()}"
                assert len(line) + 1 <= 80
                _reply(link, line)
            infer = _reply(link, "infer 3 1", timeout=30.0)
            assert sum(bool(re.match(r"^m-results-\[([^]]+)\]$", line)) for line in infer) == 1
            falls = [line for line in stderr_path.read_text().splitlines() if line == "timestamp=0"]
            assert len(falls) == 2  # start and end of the timed window: what the runner integrates between
            assert _reply(link, "timestamp") == ["m-ready"]
            falls = [line for line in stderr_path.read_text().splitlines() if line == "timestamp=0"]
            assert len(falls) == 3
        finally:
            link.close()
            process.stdin.close()
            process.wait(timeout=10)
