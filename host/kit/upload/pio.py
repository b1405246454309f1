"""Real boards through PlatformIO: upload (`pio run -t upload`), or build only (`pio run`) for
boards whose images kit writes itself (esptool).

The project comes from kit.build.realboard; the port from kit.link.ports.choose_port (the
board's USB VID:PID, another board's port refused unless forced, bootloader mode explained).
PlatformIO needs its registry the first time a platform, framework or library is used; when
it cannot reach it, the error says what to run on a machine with internet and how to carry
the packages to an offline workshop machine.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from kit.build.offline import pio_executable
from kit.build.realboard import RealProject, cached_project, real_board
from kit.catalog.models import Board
from kit.compile.compiled import CompiledModel
from kit.errors import DeviceError, KitError, ToolMissingError

Log = Callable[[str], None] | None

UPLOAD_TIMEOUT_S = 1800          # a first build downloads a platform and a framework (~1 GB)
REENUMERATE_TIMEOUT_S = 20.0     # the board leaves its bootloader and shows its app port again
# Lines PlatformIO prints when it tries to download a platform, framework, tool or library and
# cannot (no internet, or a registry it cannot reach).
OFFLINE_MARKERS = (
    "HTTPClientError", "Could not find the package", "UnknownPackageError", "Unknown development platform",
    "UnknownPlatform", "Max retries exceeded", "Failed to establish a new connection",
    "Temporary failure in name resolution", "Name or service not known", "Could not install",
    "could not install", "InternetConnectionError", "You are not connected to the Internet",
)


@dataclass(frozen=True)
class UploadResult:
    project: RealProject
    port: str | None
    command: list[str]
    output: str


def _say(log: Log, message: str) -> None:
    if log is not None:
        log(message)


def pio_environment() -> dict[str, str]:
    """The user's own PlatformIO setup (~/.platformio, or PLATFORMIO_CORE_DIR): real-board
    platforms are large and are shared with VS Code; telemetry off."""
    env = dict(os.environ)
    env.setdefault("PLATFORMIO_SETTING_ENABLE_TELEMETRY", "No")
    env["PLATFORMIO_NO_ANSI"] = "true"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def core_dir(env: dict[str, str] | None = None) -> str:
    env = env or os.environ
    return env.get("PLATFORMIO_CORE_DIR") or "~/.platformio"


def upload_command(project: RealProject, port: str | None) -> list[str]:
    command = [pio_executable(), "run", "-d", str(project.project_dir), "-e", project.env, "-t", "upload"]
    if port is not None:
        command += ["--upload-port", port]
    return command


def offline_error(project: RealProject, board: Board, output: str) -> KitError | None:
    """The KitError for a PlatformIO run that failed to download something, else None."""
    if not any(marker in output for marker in OFFLINE_MARKERS):
        return None
    assert board.platformio is not None
    what = f"the {board.platformio.platform} platform and the {board.platformio.framework} framework"
    if project.lib_deps:
        what += " and the TFLM library (" + ", ".join(project.lib_deps) + ")"
    core = core_dir()
    evidence = next((line.strip() for line in output.splitlines()
                     if any(marker in line for marker in OFFLINE_MARKERS)), "")
    return ToolMissingError(
        f"PlatformIO could not download {what} for {board.name} (no internet?): {evidence}",
        hint=(
            f"on a machine with internet run `pio pkg install -d {project.project_dir} -e {project.env}` "
            f"(or build once: `pio run -d {project.project_dir}`); then copy its {core}/platforms and "
            f"{core}/packages folders to the same place on this machine (a USB stick works), "
            "or point PLATFORMIO_CORE_DIR at a copied PlatformIO folder, and run the command again"
        ),
    )


def upload_failure(project: RealProject, board: Board, port: str | None, output: str) -> KitError:
    offline = offline_error(project, board, output)
    if offline is not None:
        return offline
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "failed" in line.lower()][-8:] or lines[-8:]
    return KitError(
        f"PlatformIO could not build or upload the firmware for {board.name}"
        + (f" on {port}" if port else "") + ":\n  " + "\n  ".join(errors),
        hint=(board.bootloader_hint + "; then run the command again. " if board.bootloader_hint else "")
        + f"Full log: `pio run -d {project.project_dir} -t upload -v`",
    )


def upload(project: RealProject, port: str | None, log: Log = None) -> UploadResult:
    """`pio run -t upload` for the project's environment, on `port` (None: PlatformIO finds
    the board itself, e.g. a DFU bootloader that has no serial port)."""
    command = upload_command(project, port)
    _say(log, f"upload: pio {' '.join(command[1:])}")
    output = _run_pio(project, command, port)
    return UploadResult(project=project, port=port, command=command, output=output)


def _run_pio(project: RealProject, command: list[str], port: str | None) -> str:
    """Run PlatformIO with a deadline; its output, or the KitError saying what failed."""
    board, _ = real_board(project.board)
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=pio_environment(),
                                timeout=UPLOAD_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as error:
        raise KitError(f"PlatformIO did not finish within {UPLOAD_TIMEOUT_S // 60} minutes",
                       hint=f"run it by hand to see where it hangs: `{' '.join(command)}`") from error
    output = (result.stdout or "") + (result.stderr or "")
    if result.returncode != 0:
        raise upload_failure(project, board, port, output)
    return output


# ----------------------------------------------------------------------------- ports


USB_SYSFS = Path("/sys/bus/usb/devices")


def usb_id_present(vid: int, pid: int) -> bool | None:
    """Whether a USB device with this VID:PID is plugged in (Linux sysfs); None where the
    system does not say (no sysfs)."""
    if not USB_SYSFS.is_dir():
        return None
    for device in USB_SYSFS.iterdir():
        try:
            found = (int((device / "idVendor").read_text(), 16), int((device / "idProduct").read_text(), 16))
        except (OSError, ValueError):
            continue
        if found == (vid, pid):
            return True
    return False


def _in_dfu_bootloader(board: Board) -> bool:
    """A DFU bootloader has no serial port: look for its USB id instead (unknown: assume so)."""
    answers = [usb_id_present(usb.vid, usb.pid) for usb in board.usb if usb.mode == "bootloader"]
    return any(answer is None or answer for answer in answers)


def upload_port(board: Board, port: str | None, force: bool, log: Log = None) -> str | None:
    """The port to upload through: the given or detected app/bootloader port. A DFU board
    already in its bootloader has no serial port: then PlatformIO finds it over USB."""
    from kit.link.ports import choose_port

    try:
        return choose_port(board, port=port, force=force, allow_bootloader=True)
    except DeviceError as error:
        dfu = board.platformio is not None and board.platformio.upload_protocol == "dfu"
        if port is None and dfu and _in_dfu_bootloader(board):
            _say(log, f"upload: no {board.name} serial port; it waits in its DFU bootloader "
                      "(dfu-util finds it over USB)")
            return None
        twin = f" Without the board: `kit flash {board.name} LAB --emulate` runs on its emulated twin " \
               f"({board.emulated_twin})." if board.emulated_twin and port is None else ""
        raise DeviceError(error.message, hint=(error.hint or "") + twin) from None


def wait_for_app_port(board: Board, port: str | None, timeout: float = REENUMERATE_TIMEOUT_S,
                      raw_ports: Any = None) -> str:
    """After an upload the board resets and re-enumerates: wait until its application port is
    back (the given port, or the one with the board's app VID:PID)."""
    from kit.link.ports import choose_port

    deadline = time.monotonic() + timeout
    last_error: DeviceError | None = None
    while True:
        try:
            if port is not None and "://" not in port and not os.path.exists(port):
                raise DeviceError(f"serial port {port} has not come back after the upload",
                                  hint="press the board's reset button once")
            return choose_port(board, port=port, force=True, raw_ports=raw_ports)
        except DeviceError as error:
            last_error = error
        if time.monotonic() >= deadline:
            assert last_error is not None
            raise DeviceError(f"{board.name} did not come back as a serial port after the upload: {last_error.message}",
                              hint=(board.bootloader_hint + ". " if board.bootloader_hint else "")
                              + "Press reset once, then `kit bench "
                              f"{board.name} --port PORT` (see `kit ports`)")
        time.sleep(0.5)


# ----------------------------------------------------------------------------- build only

# Where PlatformIO's espressif32 platform takes the image that selects app0 at boot
# (FLASH_EXTRA_IMAGES in its arduino builder): the framework package's partitions folder.
BOOT_APP0 = Path("packages") / "framework-arduinoespressif32" / "tools" / "partitions" / "boot_app0.bin"


def build_command(project: RealProject) -> list[str]:
    return [pio_executable(), "run", "-d", str(project.project_dir), "-e", project.env]


def build_images(project: RealProject, log: Log = None) -> list[Path]:
    """`pio run` (build only) and the ESP32 images it leaves in .pio/build/ENV: bootloader,
    partition table and app, plus boot_app0.bin from the PlatformIO framework package when
    it is there (kit's esptool writer then flashes them at the board file's offsets)."""
    command = build_command(project)
    _say(log, f"build: pio {' '.join(command[1:])}")
    _run_pio(project, command, None)
    build_dir = project.project_dir / ".pio" / "build" / project.env
    images = [build_dir / name for name in ("bootloader.bin", "partitions.bin", "firmware.bin")]
    missing = [path.name for path in images if not path.is_file()]
    if missing:
        raise KitError(f"PlatformIO built {project.env} but left no {', '.join(missing)} in {build_dir}",
                       hint=f"build it by hand to see why: `{' '.join(command)} -v`")
    boot_app0 = Path(core_dir(pio_environment())).expanduser() / BOOT_APP0
    return images + ([boot_app0] if boot_app0.is_file() else [])


__all__ = ["UploadResult", "build_command", "build_images", "offline_error", "upload", "upload_command", "upload_port",
           "wait_for_app_port"]
