"""kit's sensor HAL on the real boards (firmware/hal/arduino*), built for every board build the
catalog makes (each board revision, each workshop kit for the board) and every combination of
the sensors that build carries, against the stand-ins in stubs/ (PDM.h, Arduino_LSM6DSOX.h,
..., with the real libraries' signatures): compiled warning-free (-Wall -Wextra -Werror) with
arm-none-eabi-g++ and each board's own flags for the mbed core, host g++ for the ESP32 core
(no Xtensa compiler here); then run natively through kit_hal.h against the stand-in sensors
(a ramp microphone, a still IMU, a pattern camera). No real sensor exists here."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from kit import catalog
from kit.build.sensors import HAL_KINDS, build_sensors, sensor_defines
from kit.catalog.models import Board
from kit.errors import KitError

from realboard_helpers import REAL_BOARDS, STUBS, WARNINGS, core_defines, cortex_m, framework_defines

HERE = Path(__file__).resolve().parent
HAL = HERE.parents[1] / "firmware" / "hal"
PROBE = HERE / "sensor_probe.cpp"
COMMON = [HAL / "arduino" / "kit_hal_arduino_sensors.cpp", HAL / "arduino" / "kit_sensor_ring.c",
          HAL / "arduino" / "kit_sensor_image.c"]
DRIVERS = {"arduino-mbed": HAL / "arduino-mbed" / "kit_hal_mbed_sensors.cpp",
           "arduino-esp32": HAL / "arduino-esp32" / "kit_hal_esp32_sensors.cpp"}
# The compiler for each core's HAL (keyed by HAL, which the board file names).
CROSS = {"arduino-mbed": "arm-none-eabi-", "arduino-esp32": ""}


def _builds() -> list[tuple[str, str | None, str | None]]:
    """(board, revision, kit) for every build kit makes: each revision, and each kit for the board."""
    builds: list[tuple[str, str | None, str | None]] = []
    for name in REAL_BOARDS:
        board = catalog.get_board(name)
        builds += [(name, revision, None) for revision in (board.revisions or [None])]
        builds += [(name, None, kit.name) for kit in catalog.list_kits() if kit.board == name
                   and any(sensor.hal_part for sensor in kit.sensors)]
    return builds


BUILDS = _builds()
SENSOR_BUILDS = [b for b in BUILDS if build_sensors(catalog.get_board(b[0]), b[1], b[2])]


def _build_id(build: tuple[str, str | None, str | None]) -> str:
    return "-".join(part for part in build if part)


def _combinations(board: Board, revision: str | None, kit: str | None) -> list[tuple[str, ...]]:
    kinds = [sensor.kind for sensor in build_sensors(board, revision, kit)]
    return [combo for size in range(len(kinds) + 1) for combo in itertools.combinations(kinds, size)]


def _defines_for(board: Board, revision: str | None, kit: str | None, kinds: tuple[str, ...]) -> list[str]:
    """The build's sensor defines, keeping only the sensors of `kinds`."""
    dropped = [HAL_KINDS[s.kind] for s in build_sensors(board, revision, kit) if s.kind not in kinds]
    return [flag for flag in sensor_defines(board, revision, kit)
            if not any(flag.startswith((f"-DKIT_HAVE_{kind}", f"-DKIT_{kind}_")) for kind in dropped)]


def _includes() -> list[str]:
    return [f"-I{folder}" for folder in (HAL, HAL / "arduino", STUBS)]


def _compile(compiler: str, source: Path, flags: list[str], out: Path) -> subprocess.CompletedProcess:
    language = ["-std=c99"] if source.suffix == ".c" else ["-std=c++11", "-fno-exceptions", "-fno-rtti"]
    tool = f"{compiler}{'gcc' if source.suffix == '.c' else 'g++'}"
    return subprocess.run([tool, *language, *WARNINGS, "-O2", *flags, *_includes(), f"-I{source.parent}", "-c",
                           str(source), "-o", str(out)], capture_output=True, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("build", BUILDS, ids=_build_id)
def test_each_sensor_combination_compiles_warning_free_with_the_boards_compiler(build, tmp_path: Path) -> None:
    name, revision, kit = build
    board = catalog.get_board(name)
    hal = board.firmware.hal
    compiler = CROSS[hal]
    if shutil.which(f"{compiler}g++") is None:
        pytest.skip(f"{compiler}g++ is not installed")
    target = [*board.toolchain.cflags, *cortex_m(name)] if compiler else []
    for kinds in _combinations(board, revision, kit):
        flags = [*target, *framework_defines(name), "-DKIT_LED_PIN=LED_BUILTIN",
                 *_defines_for(board, revision, kit, kinds)]
        for source in [*COMMON, DRIVERS[hal]]:
            result = _compile(compiler, source, flags, tmp_path / f"{source.stem}.o")
            assert result.returncode == 0, f"{_build_id(build)} with {kinds or 'no sensor'}: {source.name}\n{result.stderr}"


def _probe(build: tuple[str, str | None, str | None], out: Path, extra: tuple[str, ...] = ()) -> dict[str, dict[str, str]]:
    """Build sensor_probe.cpp natively with the build's sensor HAL and stand-ins, run it, and
    return its report: {check: {key: value}}."""
    name, revision, kit = build
    board = catalog.get_board(name)
    flags = [*framework_defines(name), *core_defines(name), "-DKIT_LED_PIN=LED_BUILTIN",
             *sensor_defines(board, revision, kit), *extra]
    out.mkdir(parents=True, exist_ok=True)
    objects = []
    for index, source in enumerate([*COMMON, DRIVERS[board.firmware.hal], PROBE, STUBS / "arduino_stub.cpp"]):
        obj = out / f"{index}-{source.stem}.o"
        result = _compile("", source, ["-O1", *flags], obj)
        assert result.returncode == 0, f"{source.name}:\n{result.stderr}"
        objects.append(str(obj))
    binary = out / "probe"
    subprocess.run(["g++", *objects, "-lm", "-pthread", "-o", str(binary)], check=True, capture_output=True, text=True)
    run = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    report: dict[str, dict[str, str]] = {}
    for line in run.stdout.splitlines():
        check, _, rest = line.partition(" ")
        fields = report.setdefault(check, {})
        words, _, error = rest.partition("error=")  # the error text has spaces: it runs to " pixels=" or the end
        error, _, pixels = error.partition(" pixels=")
        for word in words.split():
            key, _, value = word.partition("=")
            fields[key] = value
        if "error=" in rest:
            fields["error"] = error
        if pixels or rest.endswith("pixels="):
            fields["pixels"] = pixels
    report["stderr"] = {"text": run.stderr}
    return report


def _expected_frame(capture: tuple[int, int], size: tuple[int, int], channels: int) -> bytes:
    """What kit_rgb565_convert must make of the stand-in camera's pattern (stubs/sensor_stub.inc):
    the centred crop of the lab's aspect ratio, nearest neighbour, bit-replicated RGB888, BT.601 luma."""
    width, height = capture
    out_w, out_h = size
    if width * out_h > height * out_w:
        crop_h, crop_w = height, height * out_w // out_h
    else:
        crop_w, crop_h = width, width * out_h // out_w
    x0, y0 = (width - crop_w) // 2, (height - crop_h) // 2
    pixels = bytearray()
    for y in range(out_h):
        sy = y0 + (y * crop_h + crop_h // 2) // out_h
        for x in range(out_w):
            sx = x0 + (x * crop_w + crop_w // 2) // out_w
            r5, g6, b5 = sx & 31, sy & 63, (sx + sy) & 31
            rgb = ((r5 << 3) | (r5 >> 2), (g6 << 2) | (g6 >> 4), (b5 << 3) | (b5 >> 2))
            pixels += bytes(rgb) if channels == 3 else bytes([(77 * rgb[0] + 150 * rgb[1] + 29 * rgb[2] + 128) >> 8])
    return bytes(pixels)


# The capture size each camera driver picks for a 96x96 lab frame (its smallest that holds it).
CAPTURE_FOR_96 = {"GC2145": (160, 120), "ESP32_CAMERA": (96, 96)}


@pytest.mark.slow
@pytest.mark.parametrize("build", SENSOR_BUILDS, ids=_build_id)
def test_each_builds_sensors_deliver_through_kit_hal(build, tmp_path: Path) -> None:
    if shutil.which("g++") is None:
        pytest.skip("no host g++")
    board = catalog.get_board(build[0])
    sensors = {sensor.kind: sensor for sensor in build_sensors(board, build[1], build[2])}
    report = _probe(build, tmp_path)
    if "microphone" in sensors:
        mic = report["microphone"]
        assert report["microphone"]["start"] == "0"
        assert int(mic["samples"]) >= 3200 and mic["breaks"] == "0" and mic["dropped"] == "0"
        assert int(mic["after_pause_dropped"]) > 0  # the ring overflowed while nobody read, and said so
    else:
        assert report["microphone"]["start"] == "-1" and "has no microphone" in report["microphone"]["error"]
    if "imu" in sensors:
        assert report["imu"]["read"] == "24" and report["imu"]["az"] == "1.000" and report["imu"]["gx"] == "0.000"
        assert int(report["imu"]["dropped"]) >= 8
        assert report["imu_2000hz"]["start"] == "-1" and "slower than the 2000 Hz" in report["imu_2000hz"]["error"]
    else:
        assert report["imu"]["start"] == "-1" and "has no IMU" in report["imu"]["error"]
    if "camera" in sensors:
        capture = CAPTURE_FOR_96[sensors["camera"].hal_part]
        for channels in (1, 3):
            camera = report[f"camera{channels}"]
            assert camera["read"] == str(96 * 96 * channels), camera
            assert bytes.fromhex(camera["pixels"]) == _expected_frame(capture, (96, 96), channels)
    else:
        assert report["camera1"]["start"] == "-1" and "has no camera" in report["camera1"]["error"]
    assert "led=1" in report["stderr"]["text"]


@pytest.mark.slow
@pytest.mark.parametrize("build", SENSOR_BUILDS, ids=_build_id)
def test_a_sensor_that_does_not_answer_is_named_in_the_error(build, tmp_path: Path) -> None:
    if shutil.which("g++") is None:
        pytest.skip("no host g++")
    board = catalog.get_board(build[0])
    sensors = {sensor.kind: sensor for sensor in build_sensors(board, build[1], build[2])}
    report = _probe(build, tmp_path, ("-DKIT_STUB_SENSOR_DEAD",))
    checks = {"microphone": "microphone", "imu": "imu", "camera": "camera1"}
    for kind, sensor in sensors.items():
        result = report[checks[kind]]
        assert result["start"] == "-1", (kind, result)
        if kind == "imu" and sensor.i2c_address is not None:
            assert f"did not answer at 0x{sensor.i2c_address:02X}" in result["error"]
        elif kind == "imu":
            assert "did not answer on its SPI bus" in result["error"]
        else:
            assert "did not start" in result["error"] or "did not answer" in result["error"], result


def test_a_board_revision_picks_its_own_imu_and_refuses_an_unknown_one() -> None:
    boards = [catalog.get_board(name) for name in REAL_BOARDS]
    with_revisions = [board for board in boards if board.revisions]
    assert with_revisions  # the catalog has a board whose revisions differ in parts
    for board in with_revisions:
        parts = {revision: [s.hal_part for s in build_sensors(board, revision) if s.kind == "imu"]
                 for revision in board.revisions}
        assert len({tuple(p) for p in parts.values()}) == len(board.revisions), parts
        assert sensor_defines(board) == sensor_defines(board, board.revisions[0])
        with pytest.raises(KitError, match="has no revision 'rev9'") as error:
            sensor_defines(board, "rev9")
        assert all(revision in error.value.hint for revision in board.revisions)


def test_a_kit_adds_its_sensors_and_only_for_its_own_board() -> None:
    for kit in catalog.list_kits():
        extra = [s for s in kit.sensors if s.hal_part]
        if not extra:
            continue
        board = catalog.get_board(kit.board)
        with_kit = build_sensors(board, kit=kit.name)
        assert all(sensor in with_kit for sensor in extra)
        assert len({s.kind for s in with_kit}) == len(with_kit)
        other = next(catalog.get_board(name) for name in REAL_BOARDS if name != kit.board)
        with pytest.raises(KitError, match=f"built around {kit.board}"):
            build_sensors(other, kit=kit.name)


def test_the_ring_and_the_converter_are_plain_c99_for_every_compiler(tmp_path: Path) -> None:
    """The shared parts compile for the 32-bit targets too (rv32: the ESP32's stand-in)."""
    compilers = {"arm-none-eabi-": ["-mcpu=cortex-m4", "-mthumb"],
                 "riscv64-unknown-elf-": ["--specs=picolibc.specs", "-march=rv32imc", "-misa-spec=2.2", "-mabi=ilp32"]}
    for prefix, flags in compilers.items():
        if shutil.which(f"{prefix}gcc") is None:
            pytest.skip(f"{prefix}gcc is not installed")
        for source in COMMON[1:]:
            result = _compile(prefix, source, flags, tmp_path / f"{source.stem}.o")
            assert result.returncode == 0, f"{prefix}{source.name}\n{result.stderr}"


def test_the_expected_frame_model_is_not_trivial() -> None:
    """The test's own model of the conversion differs between gray and colour and between crops."""
    gray = np.frombuffer(_expected_frame((160, 120), (96, 96), 1), dtype=np.uint8)
    colour = np.frombuffer(_expected_frame((160, 120), (96, 96), 3), dtype=np.uint8)
    assert gray.std() > 10 and colour.size == 3 * gray.size
    assert _expected_frame((160, 120), (96, 96), 1) != _expected_frame((96, 96), (96, 96), 1)


def test_kit_project_builds_the_revision_and_kit_it_is_told(tmp_path: Path, kws_model: Path) -> None:
    """`kit project BOARD LAB --revision R` / `--kit K`: platformio.ini carries that build's sensor
    defines and drivers; an unknown revision is refused before anything is trained or written."""
    from click.testing import CliRunner
    from platformio.project.config import ProjectConfig

    from kit.build.realboard import lib_deps
    from kit.cli import main

    for name, revision, kit in SENSOR_BUILDS:
        board = catalog.get_board(name)
        out = tmp_path / _build_id((name, revision, kit))
        args = ["project", name, "kws", "--out", str(out), "--model", str(kws_model)]
        args += ["--revision", revision] if revision else []
        args += ["--kit", kit] if kit else []
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        config = ProjectConfig(str(out / "platformio.ini"))
        flags = [flag for entry in config.get(f"env:{name}", "build_flags") for flag in entry.split()]
        expected = sensor_defines(board, revision, kit)
        assert expected and [f for f in flags if f in expected] == expected
        assert not [f for f in flags if f.startswith("-DKIT_IMU_") and f not in expected]  # no other revision's IMU
        assert config.get(f"env:{name}", "lib_deps") == list(lib_deps(board, board.firmware, "kit", revision, kit))
    revised = next(catalog.get_board(b[0]) for b in SENSOR_BUILDS if b[1])
    result = CliRunner().invoke(main, ["project", revised.name, "kws", "--out", str(tmp_path / "bad"),
                                       "--revision", "rev9"])
    assert result.exit_code != 0 and "has no revision 'rev9'" in result.output
    assert not (tmp_path / "bad").exists()
