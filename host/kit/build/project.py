"""Firmware projects for the emulated boards: a PlatformIO project per (board, model), built
with kit's local platform (`firmware/platformio`) and cached by a hash of everything in it.

The project is self-contained (sources copied into `src/`, linker script beside
`platformio.ini`), so a student can open it in VS Code or run `pio run -t upload` there.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from kit import catalog
from kit.build.lab import lab_files, lab_flags
from kit.build.linker import MemoryLayout, layout_of, overflow_error, overflows, render_linker_script
from kit.build.offline import ensure_offline_platformio, pio_executable, platformio_env
from kit.build.power import power_flags
from kit.build.sensors import sensor_defines
from kit.catalog.models import Board
from kit.compile.compiled import CompiledModel
from kit.errors import KitError, ModelError, ToolMissingError
from kit.paths import FIRMWARE_DIR, cache_dir

PLATFORM_DIR = FIRMWARE_DIR / "platformio"
HARNESS_DIR = FIRMWARE_DIR / "harness"
HAL_DIR = FIRMWARE_DIR / "hal"
FEATURES_DIR = FIRMWARE_DIR / "features"
RUNTIME_DIR = FIRMWARE_DIR / "runtime"
RUNTIME_PARTS = ("include", "src", "kernels")

PIO_TIMEOUT_S = 600
APT_INSTALL = "sudo apt-get install -y --no-install-recommends"


@dataclass(frozen=True)
class FirmwareSizes:
    """Section sizes from `size` (Berkeley format): flash = text + data, RAM = data + bss
    (bss includes the reserved stack)."""

    text: int
    data: int
    bss: int

    @property
    def flash_bytes(self) -> int:
        return self.text + self.data

    @property
    def ram_bytes(self) -> int:
        return self.data + self.bss


@dataclass(frozen=True)
class BuildResult:
    board: str            # the board the firmware is for (limits, name shown by the device)
    target: str           # the emulated board that runs it (PlatformIO board id)
    elf_path: Path
    project_dir: Path
    build_id: str
    sizes: FirmwareSizes
    layout: MemoryLayout
    cached: bool

    @property
    def firmware(self) -> Path:
        """The image to boot (the ELF: QEMU loads it directly)."""
        return self.elf_path

    def to_json(self) -> dict:
        data = asdict(self)
        data.update(elf_path=str(self.elf_path), project_dir=str(self.project_dir))
        return data


# ----------------------------------------------------------------------------- target

def resolve_target(board: str | Board) -> tuple[Board, Board, MemoryLayout]:
    """(board, emulated target, memory layout): a real board runs on its emulated twin with
    the real board's limits; an emulated board uses its own memory map."""
    board_obj = catalog.get_board(board) if isinstance(board, str) else board
    target = catalog.twin_of(board_obj)
    if target.emulator is None or target.firmware is None:
        emulated = [b.name for b in catalog.list_boards() if b.emulator is not None]
        raise KitError(
            f"kit cannot build firmware for board '{board_obj.name}' yet",
            hint="emulated boards: " + ", ".join(emulated) +
            "; real boards build through their emulated twin (`kit flash BOARD LAB --emulate`)",
        )
    limits = catalog.emulation_limits(board_obj)
    emulator = target.emulator
    layout = layout_of(emulator, limits.flash_bytes, limits.ram_bytes)
    return board_obj, target, layout


# ----------------------------------------------------------------------------- sources

def _model_files(model_dir: Path) -> list[Path]:
    model_dir = Path(model_dir)
    if not (model_dir / "kit_model.h").is_file() or not (model_dir / "kit_model.c").is_file():
        raise ModelError(
            f"{model_dir} holds no compiled model (kit_model.c / kit_model.h)",
            hint="compile the model first: `kit convert MODEL.tflite` (or pass the folder it wrote)",
        )
    return sorted(p for p in model_dir.iterdir() if p.is_file() and p.suffix in (".c", ".h"))


def _needs_runtime(model_dir: Path) -> bool:
    """A model folder that brings its own kit_runtime.h (the test stand-in) needs no runtime."""
    return not (Path(model_dir) / "kit_runtime.h").is_file()


def hal_of(target: Board) -> str:
    """The HAL folder (firmware/hal/<hal>) of an emulated board, from its board file."""
    assert target.firmware is not None  # resolve_target refused boards without one
    return target.firmware.hal


def kernel_flags(board: Board, target: Board) -> list[str]:
    """The runtime's kernel choice for `board` running on `target`: the REAL board's
    firmware.kernels when it has one (its twin runs what the board would), else the
    emulated board's own. `portable` forces the plain C loops (-DKIT_PORTABLE_KERNELS);
    `helium` selects the MVE loops on a Cortex-M55 (-DKIT_HELIUM_KERNELS)."""
    firmware = board.firmware or target.firmware
    assert firmware is not None  # resolve_target refused boards without one
    return {"portable": ["-DKIT_PORTABLE_KERNELS"], "helium": ["-DKIT_HELIUM_KERNELS"]}.get(firmware.kernels, [])


def hal_defines(target: Board) -> list[str]:
    """The facts an emulated board's HAL reads from defines, written from its board file's
    [emulator] table (the console UART's address, the SysTick clock); none when the
    board keeps the HAL's defaults."""
    emulator = target.emulator
    assert emulator is not None  # resolve_target refused boards without one
    defines = []
    if emulator.uart_base is not None:
        defines.append(f"-DKIT_HAL_UART_BASE=0x{emulator.uart_base:08x}u")
    if emulator.systick_hz is not None:
        defines.append(f"-DKIT_HAL_SYSTICK_HZ={emulator.systick_hz}u")
    if emulator.wake_timer_base is not None:
        defines.append(f"-DKIT_HAL_WAKE_TIMER_BASE=0x{emulator.wake_timer_base:08x}u")
    if emulator.wake_timer_irq is not None:
        defines.append(f"-DKIT_HAL_WAKE_TIMER_IRQ={emulator.wake_timer_irq}u")
    if emulator.wake_timer_hz is not None:
        defines.append(f"-DKIT_HAL_WAKE_TIMER_HZ={emulator.wake_timer_hz}u")
    return defines


def _source_map(target: Board, model_dir: Path) -> dict[str, Path]:
    """Project-relative path -> source file, for everything copied into `src/`."""
    hal = hal_of(target)
    files: dict[str, Path] = {}
    for path in sorted(HARNESS_DIR.glob("*.[ch]")):
        files[f"src/harness/{path.name}"] = path
    for path in sorted(HAL_DIR.glob("*.h")):  # kit_hal.h, and the twins' virtual devices
        files[f"src/hal/{path.name}"] = path
    for path in sorted((HAL_DIR / hal).glob("*.c")):
        files[f"src/hal/{hal}/{path.name}"] = path
    for path in sorted(FEATURES_DIR.glob("*.[ch]")):  # the lab's feature pipelines (kit_features.h)
        files[f"src/features/{path.name}"] = path
    if _needs_runtime(model_dir):
        for part in RUNTIME_PARTS:
            for path in sorted((RUNTIME_DIR / part).glob("*.[ch]")):
                files[f"src/runtime/{part}/{path.name}"] = path
    for path in _model_files(model_dir):
        files[f"src/model/{path.name}"] = path
    return files


def _include_dirs(model_dir: Path) -> list[str]:
    dirs = ["src/model", "src/harness", "src/hal", "src/features"]
    if _needs_runtime(model_dir):
        dirs += [f"src/runtime/{part}" for part in RUNTIME_PARTS]
    return dirs


def _platform_files() -> list[Path]:
    return sorted(p for p in PLATFORM_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def board_manifest(target: Board) -> dict:
    """The PlatformIO board manifest (boards/<name>.json) of an emulated board, written from
    its board file: kit's local platform (firmware/platformio/builder/main.py) reads the
    compiler prefix, flags and QEMU command from it."""
    assert target.emulator is not None and target.toolchain is not None
    emulator, toolchain = target.emulator, target.toolchain
    return {
        "name": f"kit {target.title}",
        "url": target.sources[0],
        "vendor": target.vendor,
        "frameworks": [],
        "build": {
            "cpu": target.core, "mcu": emulator.machine, "f_cpu": f"{target.clock_hz}L", "hal": hal_of(target),
            "toolchain_prefix": toolchain.prefix, "cflags": list(toolchain.cflags), "ldflags": list(toolchain.ldflags),
        },
        "upload": {
            "maximum_size": emulator.code_size, "maximum_ram_size": emulator.ram_size, "protocol": "qemu",
            "qemu": emulator.qemu, "machine": emulator.machine, "args": list(emulator.args),
        },
    }


def _build_hash(board: Board, target: Board, layout: MemoryLayout, sources: dict[str, Path],
                generated: dict[str, str]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([board.name, target.name, asdict(layout), board_manifest(target), kernel_flags(board, target),
                              power_flags(board), hal_defines(target), sensor_defines(board), generated],
                             sort_keys=True).encode())
    hal = hal_of(target)
    for name, path in sorted(sources.items()) + [(f"ld/{hal}", HAL_DIR / hal / "kit_link.ld.in")] + \
            [(f"platform/{p.relative_to(PLATFORM_DIR)}", p) for p in _platform_files()]:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _build_info_header(board: Board, build_id: str) -> str:
    return "\n".join([
        "/* Written by kit.build for this firmware. */",
        "#ifndef KIT_BUILD_INFO_H",
        "#define KIT_BUILD_INFO_H",
        f'#define KIT_BOARD_NAME "{board.name}"',
        f'#define KIT_BUILD_ID "{build_id}"',
        "#endif",
        "",
    ])


def _platformio_ini(board: Board, target: Board, layout: MemoryLayout, model_dir: Path,
                    generated: dict[str, str]) -> str:
    flags = ["-DKIT_HAVE_BUILD_INFO", "-ffp-contract=off", *kernel_flags(board, target), *hal_defines(target),
             *power_flags(board), *sensor_defines(board), *lab_flags(generated)]
    flags += [f"-I{d}" for d in _include_dirs(model_dir)]
    return "\n".join([
        "; Written by kit.build: the kit firmware (harness + HAL + runtime + model) for one board.",
        "; `pio run` builds it, `pio run -t upload` boots it in QEMU (console on this terminal, or",
        "; on a TCP server with `upload_port = tcp:127.0.0.1:PORT`).",
        "[platformio]",
        "default_envs = kit",
        "boards_dir = boards",
        "",
        "[env:kit]",
        f"platform = symlink://{PLATFORM_DIR}",
        f"board = {target.name}",
        "board_build.ldscript = $PROJECT_DIR/kit_link.ld",
        f"board_upload.maximum_size = {layout.flash_bytes}",
        f"board_upload.maximum_ram_size = {layout.ram_bytes}",
        "build_flags = " + " ".join(flags),
        "",
    ])


def write_project(board: str | Board, model_dir: Path, out_dir: Path, card_path: Path | None = None) -> Path:
    """Write the PlatformIO project for `board` and the compiled model in `model_dir` (with
    kit_lab.h when the model card `card_path` names a lab)."""
    board_obj, target, layout = resolve_target(board)
    sources = _source_map(target, Path(model_dir))
    generated = lab_files(card_path)
    build_id = f"{hal_of(target)}-{_build_hash(board_obj, target, layout, sources, generated)[:12]}"
    return _write_project(board_obj, target, layout, sources, generated, build_id, Path(out_dir))


def copy_sources(sources: dict[str, Path], out_dir: Path) -> None:
    """Lay the firmware sources into a project folder, replacing an older src/ whole so no
    stale file from a previous model or engine is compiled in."""
    if (out_dir / "src").exists():
        shutil.rmtree(out_dir / "src")
    out_dir.mkdir(parents=True, exist_ok=True)
    for relative, path in sources.items():
        destination = out_dir / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)


def _write_project(board: Board, target: Board, layout: MemoryLayout, sources: dict[str, Path],
                   generated: dict[str, str], build_id: str, out_dir: Path) -> Path:
    copy_sources(sources, out_dir)
    (out_dir / "src" / "model" / "kit_build_info.h").write_text(_build_info_header(board, build_id))
    for name, text in generated.items():  # kit_lab.h
        (out_dir / "src" / "model" / name).write_text(text)
    (out_dir / "kit_link.ld").write_text(render_linker_script(hal_of(target), layout))
    (out_dir / "boards").mkdir(exist_ok=True)
    (out_dir / "boards" / f"{target.name}.json").write_text(json.dumps(board_manifest(target), indent=2) + "\n")
    model_dir = out_dir / "src" / "model"
    (out_dir / "platformio.ini").write_text(_platformio_ini(board, target, layout, model_dir, generated))
    return out_dir


# ----------------------------------------------------------------------------- build

def _check_toolchain(target: Board) -> None:
    compiler = target.toolchain.compiler if target.toolchain else None
    if compiler and shutil.which(compiler) is None:
        packages = " ".join(target.toolchain.apt) if target.toolchain and target.toolchain.apt else compiler
        raise ToolMissingError(f"the cross compiler {compiler} is not installed (needed for {target.name})",
                               hint=f"{APT_INSTALL} {packages}")


def firmware_sizes(elf_path: Path, size_tool: str) -> FirmwareSizes:
    """Parse `size` (Berkeley format): text, data, bss of the ELF."""
    result = subprocess.run([size_tool, str(elf_path)], capture_output=True, text=True, check=True)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    text, data, bss = (int(value) for value in lines[-1].split()[:3])
    return FirmwareSizes(text=text, data=data, bss=bss)


def _size_tool(target: Board) -> str:
    compiler = target.toolchain.compiler if target.toolchain else "gcc"
    return re.sub(r"gcc$", "size", compiler)


def _run_pio(project_dir: Path, target: Board) -> subprocess.CompletedProcess[str]:
    ensure_offline_platformio()
    try:
        return subprocess.run([pio_executable(), "run", "-d", str(project_dir)], capture_output=True,
                              text=True, env=platformio_env(), timeout=PIO_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        raise KitError(f"PlatformIO did not finish building for {target.name} within {PIO_TIMEOUT_S} s",
                       hint="run `pio run -v` in the project folder to see where it hangs: "
                       f"{project_dir}") from error


def _build_failure(result: subprocess.CompletedProcess[str], board: Board, target: Board,
                   layout: MemoryLayout, project_dir: Path) -> KitError:
    output = result.stdout + result.stderr
    regions = overflows(output)
    if regions:
        return overflow_error(board.name, layout, regions)
    if "Could not find the package" in output or "HTTPClientError" in output or "tool-scons" in output:
        return ToolMissingError("PlatformIO tried to download a package (no internet here)",
                                hint="run `.venv/bin/kit setup-offline`, then build again")
    errors = [line for line in output.splitlines() if "error" in line.lower()][-8:]
    return KitError(
        f"the firmware for {board.name} (on {target.name}) did not build:\n  " + "\n  ".join(errors or output.splitlines()[-8:]),
        hint=f"see the full log with `pio run -d {project_dir}`",
    )


def build_firmware(board: str | Board, model_dir: Path, force: bool = False,
                   card_path: Path | None = None) -> BuildResult:
    """Build (or reuse) the firmware for `board` running the compiled model in `model_dir`;
    a model card `card_path` that names a lab adds kit_lab.h (and -DKIT_HAVE_LAB)."""
    board_obj, target, layout = resolve_target(board)
    _check_toolchain(target)
    sources = _source_map(target, Path(model_dir))
    generated = lab_files(card_path)
    digest = _build_hash(board_obj, target, layout, sources, generated)
    build_id = f"{hal_of(target)}-{digest[:12]}"
    project_dir = cache_dir("builds") / f"{board_obj.name}-{digest[:16]}"
    elf_path = project_dir / ".pio" / "build" / "kit" / "firmware.elf"
    done_marker = project_dir / "kit-build.json"
    cached = elf_path.is_file() and done_marker.is_file() and not force
    if not cached:
        _write_project(board_obj, target, layout, sources, generated, build_id, project_dir)
        done_marker.unlink(missing_ok=True)
        result = _run_pio(project_dir, target)
        if result.returncode != 0 or not elf_path.is_file():
            raise _build_failure(result, board_obj, target, layout, project_dir)
    sizes = firmware_sizes(elf_path, _size_tool(target))
    build = BuildResult(board=board_obj.name, target=target.name, elf_path=elf_path, project_dir=project_dir,
                        build_id=build_id, sizes=sizes, layout=layout, cached=cached)
    if not cached:
        done_marker.write_text(json.dumps(build.to_json(), indent=2))
    return build


def model_dir_of(model: str | Path | CompiledModel) -> Path:
    """The folder with kit_model.c/.h: a path, or a compiled model's kit_dir (its refusal when none)."""
    if isinstance(model, (str, Path)):
        return Path(model)
    return model.require_kit()


def build(board: str, model: str | Path | CompiledModel, limits_board: str | None = None, force: bool = False,
          card_path: Path | None = None) -> BuildResult:
    """Firmware for `board` (an emulated board) with `limits_board`'s memory limits when given
    (the real board it stands in for); `model` is a compiled-model folder or convert result
    (whose card, or `card_path`, names the lab that kit_lab.h describes)."""
    reference = limits_board or board
    _, target, _ = resolve_target(reference)
    if target.name != board:
        raise KitError(f"board {reference} is emulated by {target.name}, not by {board}",
                       hint=f"build for {target.name}, or pass the real board whose twin {board} is")
    if card_path is None and isinstance(model, CompiledModel):
        card_path = model.card_path
    return build_firmware(reference, model_dir_of(model), force=force, card_path=card_path)


__all__ = ["build", "model_dir_of", "BuildResult", "FirmwareSizes", "board_manifest", "build_firmware", "hal_defines", "hal_of", "kernel_flags",
           "write_project", "resolve_target", "firmware_sizes"]
