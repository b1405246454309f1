"""The board file is the only source of a board's facts: the real-board project writer takes
every value from the Board object, no table outside boards/ is keyed by a board name, and a
board added as one file (portenta-h7, nano-esp32) gets valid PlatformIO projects."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from platformio.project.config import ProjectConfig

from kit import catalog
from kit.build import realboard
from kit.build.offline import pio_executable
from kit.catalog.models import Sensor
from kit.cli import main
from kit.paths import REPO_ROOT

from realboard_helpers import REAL_BOARDS

# Where code and data live (boards/ and tests/ excluded: the board files are the source, and
# tests may name the boards they exercise).
SCANNED = ("host", "firmware", "bench", "scripts")
SUFFIXES = {".py", ".toml", ".json", ".c", ".h", ".cpp", ".ini"}


def _keyed_by(name: str, suffix: str) -> re.Pattern[str]:
    """A board name used as a key or in a comparison: `[boards.NAME]` or `NAME = ...` in TOML,
    `"NAME": ...`, `["NAME"]`, `== "NAME"` in code (mentions in prose are fine)."""
    word = re.escape(name)
    if suffix == ".toml":
        return re.compile(rf"^\s*(\[[^\]\n]*\b{word}\b[^\]\n]*\]|\"?{word}\"?\s*=)", re.M)
    quoted = rf"[\"']{word}[\"']"
    return re.compile(rf"{quoted}\s*:|\[\s*{quoted}\s*\]|[=!]=\s*{quoted}|{quoted}\s*[=!]=")


def test_no_per_board_table_remains_outside_the_board_files() -> None:
    # `host` is also a board kind (`kind == "host"` compares kinds, not boards).
    names = [board.name for board in catalog.list_boards() if board.name != board.kind]
    hits = []
    for folder in SCANNED:
        for path in sorted((REPO_ROOT / folder).rglob("*")):
            if not path.is_file() or path.suffix not in SUFFIXES or "__pycache__" in path.parts:
                continue
            text = path.read_text(errors="replace")
            hits += [f"{path.relative_to(REPO_ROOT)}: {match.group(0).strip()}"
                     for name in names for match in _keyed_by(name, path.suffix).finditer(text)]
    assert hits == [], "per-board facts belong in boards/<name>.toml:\n" + "\n".join(hits)
    assert not (REPO_ROOT / "firmware/hal/arduino/boards.toml").exists()


def test_every_fact_the_project_writes_comes_from_the_board(kws_converted, tmp_path: Path) -> None:
    """A Board object that exists in no file, with every firmware fact changed, is written
    as it says: nothing is looked up by name anywhere else."""
    nicla = catalog.get_board("nicla-vision")
    imaginary = nicla.model_copy(update={
        "name": "imaginary-board", "title": "Imaginary Board", "baud": 57600,
        "platformio": nicla.platformio.model_copy(update={
            "platform": "someplatform", "board": "some_board_id", "framework": "arduino",
            "upload_protocol": "stlink", "build_flags": ["-DIMAGINARY=1"],
            "lib_deps": ["someone/SomeLibrary@1.2.3"]}),
        "firmware": nicla.firmware.model_copy(update={
            "hal": "arduino-esp32", "kernels": "portable",
            "led": nicla.firmware.led.model_copy(update={"pin": "LEDB", "active_low": False})}),
        "sensors": [Sensor(kind="imu", part="LSM6DS3TR-C", hal_part="LSM6DS3", i2c_address=0x6B,
                           drivers=["someone/SomeImu@2.0.0"])],
    })
    project = realboard.write_project(imaginary, kws_converted, tmp_path / "p")
    config = ProjectConfig(str(project.ini_path))
    config.validate()
    section = "env:imaginary-board"
    assert config.envs() == ["imaginary-board"]
    assert (config.get(section, "platform"), config.get(section, "board"), config.get(section, "framework"),
            config.get(section, "upload_protocol"), config.get(section, "monitor_speed")) == \
        ("someplatform", "some_board_id", ["arduino"], "stlink", 57600)
    assert config.get(section, "lib_deps") == ["someone/SomeLibrary@1.2.3", "someone/SomeImu@2.0.0"]
    flags = [flag for entry in config.get(section, "build_flags") for flag in entry.split()]
    assert {"-DIMAGINARY=1", "-DKIT_SERIAL_BAUD=57600", "-DKIT_LED_PIN=LEDB", "-DKIT_LED_ACTIVE_LOW=0",
            "-DKIT_PORTABLE_KERNELS", "-Isrc/hal/arduino-esp32", "-DKIT_HAVE_IMU", "-DKIT_IMU_LSM6DS3",
            "-DKIT_IMU_I2C_ADDR=0x6B"} <= set(flags)
    assert not {"-DKIT_HAVE_CAMERA", "-DKIT_HAVE_MICROPHONE"} & set(flags)
    assert project.hal == "arduino-esp32" and (tmp_path / "p/src/hal/arduino-esp32").is_dir()
    assert not (tmp_path / "p/src/hal/arduino-mbed").exists()
    info = (tmp_path / "p/src/model/kit_build_info.h").read_text()
    assert '"imaginary-board"' in info and '"arduino-esp32-imaginary-board"' in info


def _pio_config(project_dir: Path) -> dict[str, dict[str, object]]:
    """The project's configuration as PlatformIO's own command line reads it (offline)."""
    result = subprocess.run([pio_executable(), "project", "config", "-d", str(project_dir), "--json-output"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return {section: dict(options) for section, options in json.loads(result.stdout)}


@pytest.mark.parametrize("board", ["portenta-h7", "nano-esp32"])
@pytest.mark.parametrize("engine", ["kit", "tflm"])
def test_kit_project_for_a_board_added_as_data(board: str, engine: str, tmp_path: Path, kws_model: Path) -> None:
    """`kit project BOARD kws`: a valid PlatformIO project naming the board file's platform,
    board, framework, upload protocol and lib_deps (TFLM's library of the board's HAL)."""
    entry = catalog.get_board(board)
    out = tmp_path / board
    result = CliRunner().invoke(main, ["project", board, "kws", "--out", str(out), "--engine", engine,
                                       "--model", str(kws_model), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["hal"] == entry.firmware.hal
    env = _pio_config(out)[f"env:{board}"]
    assert (env["platform"], env["board"], env["framework"], env["upload_protocol"]) == \
        (entry.platformio.platform, entry.platformio.board, [entry.platformio.framework], entry.platformio.upload_protocol)
    expected_deps = [*entry.platformio.lib_deps, *(realboard.tflm_library(entry.firmware.hal).lib_deps
                                                    if engine == "tflm" else ())]
    assert env.get("lib_deps", []) == expected_deps
    assert f"-DKIT_LED_ACTIVE_LOW={int(entry.firmware.led.active_low)}" in " ".join(env["build_flags"])
    assert (out / f"src/hal/{entry.firmware.hal}").is_dir()


def test_new_boards_are_listed_by_kit_boards_and_kit_project() -> None:
    result = CliRunner().invoke(main, ["boards", "--json"])
    assert result.exit_code == 0, result.output
    listed = {item["name"] for item in json.loads(result.output)}
    assert {"portenta-h7", "nano-esp32"} <= listed
    assert {"portenta-h7", "nano-esp32"} <= set(realboard.project_boards())


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_kit_flash_emulate_runs_a_board_added_as_data_on_its_twin(kws_model: Path) -> None:
    """`kit flash portenta-h7 kws --emulate`: built for and booted on the twin its board file
    names, with the Portenta's own memory limits, clock and power (like nicla-vision's test
    in tests/device/test_emulated_e2e.py)."""
    from kit.targets import stop
    from kit.device.flow import bench

    portenta = catalog.get_board("portenta-h7")
    twin = catalog.twin_of(portenta)
    limits = catalog.emulation_limits(portenta)
    try:
        result = CliRunner().invoke(main, ["flash", "portenta-h7", "kws", "--emulate", "--model", str(kws_model)])
        assert result.exit_code == 0, result.output
        assert twin.name in result.output
        report = bench("portenta-h7", runs=2, warmup=0)
        assert report.board == twin.name and report.reference_board == "portenta-h7"
        assert report.latency_us.mean == pytest.approx(report.counts.mean / portenta.clock_hz * 1e6)
        assert report.energy.power_board == "portenta-h7"
        assert len(report.layers) == 13
    finally:
        stopped = stop("portenta-h7")
    assert stopped == [twin.name]
    assert limits.ram_bytes == portenta.app_ram_bytes  # the twin ran with the Portenta's RAM, not QEMU's 4 MB


@pytest.mark.parametrize("board", REAL_BOARDS)
def test_sensor_drivers_come_from_the_board_file_and_only_the_built_ones_are_in_lib_deps(projects, board: str) -> None:
    """Sensor drivers come from the board file: README.txt lists every sensor; lib_deps holds the
    drivers of the sensors kit's HAL reads in this build (the default revision), no other."""
    from kit.build.sensors import build_sensors, sensor_lib_deps

    entry = catalog.get_board(board)
    built = build_sensors(entry)
    for engine in ("kit", "tflm"):
        project = projects[(board, engine)]
        readme = (project.project_dir / "README.txt").read_text()
        for sensor in entry.sensors:
            assert f"{sensor.kind}: {sensor.part}" in readme
            assert all(driver in readme for driver in sensor.drivers)
        assert set(sensor_lib_deps(entry)) <= set(project.lib_deps)
        unbuilt = {driver for sensor in entry.sensors if sensor not in built for driver in sensor.drivers}
        assert not unbuilt & set(project.lib_deps)


@pytest.mark.parametrize("board", [name for name in REAL_BOARDS if catalog.get_board(name).emulated_twin])
def test_a_twin_runs_the_real_boards_kernels(board: str, kws_converted, tmp_path: Path) -> None:
    """The emulated build of a real board uses the board file's firmware.kernels (portable C
    loops forced for the Xtensa boards on emu-rv32, DSP loops left on for the Cortex-M ones)."""
    from kit.build.project import write_project

    entry = catalog.get_board(board)
    project = write_project(board, Path(kws_converted.kit_dir), tmp_path / "p")
    flags = ProjectConfig(str(project / "platformio.ini")).get("env:kit", "build_flags")
    assert ("-DKIT_PORTABLE_KERNELS" in " ".join(flags)) == (entry.firmware.kernels == "portable")


def test_a_hand_made_board_without_firmware_facts_is_refused_by_name(kws_converted, tmp_path: Path) -> None:
    from kit.errors import KitError

    nicla = catalog.get_board("nicla-vision")
    bare = nicla.model_copy(update={"firmware": None})
    with pytest.raises(KitError, match=r"no \[firmware\]") as error:
        realboard.write_project(bare, kws_converted, tmp_path / "p")
    assert "boards/nicla-vision.toml" in error.value.hint
