"""The generated real-board PlatformIO projects, checked with PlatformIO's OWN config parser
against the board catalog. No real board (and no PlatformIO platform for one) exists on the
machines that run these tests: nothing here builds for the board itself."""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from platformio.package.meta import PackageSpec
from platformio.project.config import ProjectConfig

from kit import catalog
from kit.build import realboard
from kit.build.sensors import sensor_lib_deps
from kit.cli import main
from kit.errors import KitError, ModelError
from kit.paths import REPO_ROOT

from realboard_helpers import REAL_BOARDS

ENGINES = ("kit", "tflm")
CASES = [(board, engine) for board in REAL_BOARDS for engine in ENGINES]


def _flags(config: ProjectConfig, env: str) -> list[str]:
    return [flag for entry in config.get(f"env:{env}", "build_flags") for flag in shlex.split(entry)]


@pytest.mark.parametrize(("board", "engine"), CASES)
def test_project_follows_the_catalog(projects, board: str, engine: str) -> None:
    project = projects[(board, engine)]
    entry = catalog.get_board(board)
    config = ProjectConfig(str(project.ini_path))
    config.validate()
    assert config.envs() == [board] == config.default_envs()
    section = f"env:{board}"
    assert config.get(section, "platform") == entry.platformio.platform
    assert config.get(section, "board") == entry.platformio.board
    assert config.get(section, "framework") == [entry.platformio.framework]
    assert config.get(section, "upload_protocol") == entry.platformio.upload_protocol
    assert config.get(section, "monitor_speed") == entry.baud
    flags = _flags(config, board)
    for flag in entry.platformio.build_flags:
        assert flag in flags
    assert f"-DKIT_SERIAL_BAUD={entry.baud}" in flags
    led = entry.firmware.led
    assert f"-DKIT_LED_PIN={led.pin}" in flags and f"-DKIT_LED_ACTIVE_LOW={int(led.active_low)}" in flags
    portable = entry.firmware.kernels == "portable" and engine == "kit"
    assert ("-DKIT_PORTABLE_KERNELS" in flags) == portable
    for include in (flag[2:] for flag in flags if flag.startswith("-I")):
        assert (project.project_dir / include).is_dir(), include


@pytest.mark.parametrize(("board", "engine"), CASES)
def test_project_is_self_contained(projects, board: str, engine: str) -> None:
    """Sources are copies (no path back into the repository), the emulators' main() is left
    out (the Arduino core owns main), the sketch and the board's HAL are in."""
    project = projects[(board, engine)]
    hal = catalog.get_board(board).firmware.hal
    files = {str(p.relative_to(project.project_dir)) for p in project.project_dir.rglob("*") if p.is_file()}
    assert set(project.files) == files
    assert "src/harness/kit_main.c" not in files
    assert {"src/kit_sketch.cpp", f"src/hal/{hal}/kit_hal_{hal.replace('-', '_')}.cpp",
            "src/hal/arduino/kit_hal_arduino_serial.cpp", "src/hal/kit_hal.h", "README.txt"} <= files
    for path in project.project_dir.rglob("*"):
        if path.is_file():
            assert str(REPO_ROOT) not in path.read_text(errors="replace"), path
    readme = (project.project_dir / "README.txt").read_text()
    assert "pio run -t upload" in readme and board in readme and "pio device monitor" in readme


@pytest.mark.parametrize("board", REAL_BOARDS)
def test_kit_engine_carries_the_runtime_and_no_tflm(projects, board: str, kws_converted) -> None:
    project = projects[(board, "kit")]
    config = ProjectConfig(str(project.ini_path))
    entry = catalog.get_board(board)
    own = [*entry.platformio.lib_deps, *sensor_lib_deps(entry)]  # the board file's libraries and its sensors' drivers
    assert (config.get(f"env:{board}", "lib_deps") == own if own else not config.has_option(f"env:{board}", "lib_deps"))
    src = project.project_dir / "src"
    assert (src / "model" / "kit_model.c").read_bytes() == (Path(kws_converted.kit_dir) / "kit_model.c").read_bytes()
    assert (src / "runtime" / "src" / "executor.c").is_file()
    assert not list(src.rglob("*tflm*"))


@pytest.mark.parametrize("board", REAL_BOARDS)
def test_tflm_engine_references_the_library_and_convert_arrays(projects, board: str, kws_converted, kws_model) -> None:
    project = projects[(board, "tflm")]
    entry = catalog.get_board(board)
    library = tomllib.loads((REPO_ROOT / "firmware/engines/tflm/libraries.toml").read_text())["hal"][entry.firmware.hal]
    config = ProjectConfig(str(project.ini_path))
    lib_deps = config.get(f"env:{board}", "lib_deps")
    assert lib_deps == [*entry.platformio.lib_deps, *sensor_lib_deps(entry), *library["lib_deps"]]
    for dep in lib_deps:
        spec = PackageSpec(dep)  # PlatformIO's own package-spec parser accepts it
        assert spec.name
    src = project.project_dir / "src" / "model"
    for name in ("model_data.h", "model_data.cc", "model_ops.h"):
        assert (src / name).read_bytes() == (Path(kws_converted.tflm_dir) / name).read_bytes()
    assert f"#include <{library['header']}>" in (src / "kit_tflm_library.h").read_text()
    assert not (project.project_dir / "src" / "runtime" / "src").exists()  # TFLM replaces kit's runtime
    header = (src / "kit_model.h").read_text()
    macros = dict(re.findall(r"#define (KIT_MODEL_\w+) (.+)", header))
    from kit.compile.tflite import load_model

    model = load_model(kws_model)
    assert macros["KIT_MODEL_INPUT_BYTES"] == f"{model.tensors[model.inputs[0]].nbytes}u"
    assert macros["KIT_MODEL_OP_COUNT"] == f"{len(model.operators)}u"
    assert macros["KIT_MODEL_ARENA_BYTES"] == f"{kws_converted.tensor_arena_size}u"
    assert macros["KIT_MODEL_SHA256"] == f'"{kws_converted.sha256}"'
    names = re.findall(r'^\s+"([A-Z0-9_]+)"', (src / "kit_tflm_info.h").read_text(), re.M)
    assert names == model.op_names


def test_board_without_platformio_points_to_its_own_path(kws_converted, tmp_path: Path) -> None:
    with pytest.raises(KitError, match="no PlatformIO support") as error:
        realboard.write_project("grove-vision-ai-v2", kws_converted, tmp_path / "p")
    assert "SenseCraft" in error.value.hint and "kit convert" in error.value.hint
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize(("board", "fix"), [("emu-cortex-m4", "kit flash emu-cortex-m4"),
                                            ("raspberry-pi-5", "kit deploy raspberry-pi-5"),
                                            ("host", "kit invoke host")])
def test_other_board_kinds_are_refused_with_their_command(board: str, fix: str, kws_converted, tmp_path: Path) -> None:
    """The board's target says which command fits (`kit project` asks it first); the project
    writer itself still refuses a board file without PlatformIO facts, writing nothing."""
    from kit.targets import open_target

    with pytest.raises(KitError) as error:
        open_target(board).check("project")
    assert fix in error.value.hint
    with pytest.raises(KitError):
        realboard.write_project(board, kws_converted, tmp_path / "p")
    assert not (tmp_path / "p").exists()


def test_project_boards_are_the_catalog_boards_with_platformio() -> None:
    assert sorted(realboard.project_boards()) == sorted(REAL_BOARDS)


def test_unknown_engine_and_refused_kit_code(kws_converted, kws_model, tmp_path: Path) -> None:
    with pytest.raises(KitError, match="unknown engine"):
        realboard.write_project("nicla-vision", kws_converted, tmp_path / "a", engine="cmsis")
    refused = dataclasses.replace(kws_converted, refusal=ModelError("kit's planner has no kernel for op 3 (TANH)"))
    assert refused.kit_dir is None
    with pytest.raises(ModelError) as error:
        realboard.write_project("nicla-vision", refused, tmp_path / "b", engine="kit")
    assert "--engine tflm" in error.value.hint and "(TANH)" in error.value.message
    # the TFLM engine does not need kit's compiled code
    realboard.write_project("nicla-vision", refused, tmp_path / "c", engine="tflm", model_path=kws_model)


def test_out_folder_safety(kws_converted, kws_model, tmp_path: Path) -> None:
    """A folder with other content is refused; an earlier kit project is rewritten in place
    (src/ replaced: no stale file survives)."""
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("keep me")
    with pytest.raises(KitError, match="not a kit project"):
        realboard.write_project("nano33-ble-sense", kws_converted, foreign)
    assert (foreign / "thesis.tex").read_text() == "keep me"
    mine = tmp_path / "mine"
    realboard.write_project("nano33-ble-sense", kws_converted, mine, engine="tflm", model_path=kws_model)
    assert (mine / "src/model/kit_tflm_engine.cpp").is_file()
    realboard.write_project("nano33-ble-sense", kws_converted, mine, engine="kit")
    assert not (mine / "src/model/kit_tflm_engine.cpp").exists()
    assert (mine / "src/model/kit_model.c").is_file()


def test_build_id_changes_with_engine_and_board(projects) -> None:
    ids = {project.build_id for project in projects.values()}
    assert len(ids) == len(projects)


def test_cli_writes_a_project_and_reports_json(tmp_path: Path, kws_model: Path) -> None:
    out = tmp_path / "xiao"
    result = CliRunner().invoke(main, ["project", "xiao-esp32s3", "kws", "--out", str(out), "--engine", "tflm",
                                       "--model", str(kws_model), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["board"] == "xiao-esp32s3" and data["engine"] == "tflm" and data["env"] == "xiao-esp32s3"
    assert ProjectConfig(str(out / "platformio.ini")).envs() == ["xiao-esp32s3"]


def test_cli_refuses_grove_without_traceback(tmp_path: Path, kws_model: Path) -> None:
    result = CliRunner().invoke(main, ["project", "grove-vision-ai-v2", "kws", "--out", str(tmp_path / "g"),
                                       "--model", str(kws_model)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_nicla_tflm_project_names_a_library_built_for_the_nicla(tmp_path: Path, kws_model: Path) -> None:
    """`kit project nicla-vision kws --engine tflm`: TensorFlow's Arduino_TensorFlowLite stops
    every board but the Nano 33 BLE (`#error "unsupported board"`); the project must name and
    pull a TFLM source that supports the STM32H747 mbed boards."""
    out = tmp_path / "nicla"
    result = CliRunner().invoke(main, ["project", "nicla-vision", "kws", "--out", str(out), "--engine", "tflm",
                                       "--model", str(kws_model)])
    assert result.exit_code == 0, result.output
    readme = (out / "README.txt").read_text()
    assert "Chirale_TensorFlowLite 2.0.0 (https://github.com/spaziochirale/Chirale_TensorFlowLite)" in readme
    lib_deps = ProjectConfig(str(out / "platformio.ini")).get("env:nicla-vision", "lib_deps")
    assert [PackageSpec(dep).name for dep in lib_deps] == ["Arduino_LSM6DSOX", "Chirale_TensorFlowLite"]
    assert "tflite-micro-arduino-examples" not in (out / "platformio.ini").read_text()


@pytest.mark.parametrize("board, error_reporter, interface", [("nicla-vision", "0", "1"),
                                                              ("nano33-ble-sense", "0", "1"),
                                                              ("xiao-esp32s3", "1", "0")])
def test_glue_is_told_each_pinned_library_constructor(projects, board: str, error_reporter: str,
                                                      interface: str) -> None:
    """Chirale_TensorFlowLite 2.0.0: (..., MicroResourceVariables*, MicroProfilerInterface*);
    TensorFlowLite_ESP32 1.0.0: (..., ErrorReporter*, MicroResourceVariables*, MicroProfiler*)."""
    header = (projects[(board, "tflm")].project_dir / "src/model/kit_tflm_library.h").read_text()
    macros = dict(re.findall(r"#define (KIT_TFLM_\w+) (\d)", header))
    assert macros == {"KIT_TFLM_INTERPRETER_ERROR_REPORTER": error_reporter, "KIT_TFLM_PROFILER_INTERFACE": interface}


def test_tflm_engine_refuses_a_model_with_an_op_tflm_has_no_kernel_for(kws_converted, kws_model: Path,
                                                                      tmp_path: Path, monkeypatch) -> None:
    facts = realboard.model_facts(kws_model, kws_converted)
    monkeypatch.setattr(realboard, "model_facts",
                        lambda *_: dataclasses.replace(facts, op_names=(*facts.op_names, "RELU_N1_TO_1")))
    with pytest.raises(ModelError, match="no kernel for RELU_N1_TO_1") as error:
        realboard.write_project("nicla-vision", kws_converted, tmp_path / "p", engine="tflm", model_path=kws_model)
    assert "--engine kit" in error.value.hint
    assert not (tmp_path / "p").exists()
