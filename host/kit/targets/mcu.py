"""Real microcontroller boards on a USB serial port: built with PlatformIO, uploaded with
PlatformIO (`upload.method = "pio"`) or with kit's esptool writer (`"esptool"`), or, for a
board no PlatformIO platform supports, flashed with the vendor's tool (kit says which)."""

from __future__ import annotations

import os
from pathlib import Path
from kit.build.realboard import RealProject
from kit.catalog import Board
from kit.compile.compiled import CompiledModel
from kit.errors import DeviceError, KitError
from kit.targets import state as device_state
from kit.targets.base import BoardTarget, FlashRequest, Uploaded, say
from kit.targets.state import DeviceState


class McuTarget(BoardTarget):
    """What every real MCU board shares: its port is found by USB id, and it has a twin."""

    kind = "mcu"

    def refuse(self, action: str) -> KitError | None:
        if action == "emulate" and self.requested.emulated_twin is None:
            from kit.catalog import list_boards

            twins = ", ".join(b.name for b in list_boards() if b.emulated_twin) or "none"
            emulated = ", ".join(b.name for b in list_boards() if b.kind == "emulated")
            return KitError(f"{self.name} has no emulated twin",
                            hint=f"boards with an emulated twin: {twins}; or use an emulated board directly ({emulated})")
        return super().refuse(action)

    def not_running(self) -> DeviceError:
        if self.requested.emulated_twin:
            return DeviceError(f"{self.name} is not running", hint=f"start it first: `kit flash {self.name} LAB --emulate`")
        return super().not_running()

    def resolve_port(self, port: str | None = None, force: bool = False) -> tuple[str, DeviceState | None]:
        """An explicit port is checked by its USB id (another board's refused unless `force`);
        without one, the recorded port of the board `kit flash` flashed, or the port found by
        USB id. A running twin of this board (after `--emulate`) is the twin's to open."""
        from kit.link.ports import choose_port

        self.check("measure")
        if port is not None:
            if "://" in port:
                return port, None
            return choose_port(self.requested, port, force=force), None
        entry = self.running_entry()
        if entry is None or (entry.pid is None and entry.board == self.name):
            return self._recorded_or_detected_port(entry, force), entry
        return super().resolve_port(None, force)

    def _recorded_or_detected_port(self, entry: DeviceState | None, force: bool) -> str:
        """The recorded port, checked by its USB id; when it is gone (replugged, renumbered)
        or nothing was recorded, the port found by USB id."""
        from kit.link.ports import choose_port

        recorded = entry.port if entry is not None else None
        if recorded is not None and "://" not in recorded and not os.path.exists(recorded):
            recorded = None
        return choose_port(self.requested, recorded, force=force)


class PlatformioTarget(McuTarget):
    """Built and uploaded by PlatformIO (`pio run -t upload`), kit or TFLM engine."""

    upload_methods = ("pio",)
    engines = ("kit", "tflm")

    def __init__(self, requested: Board, run_on: Board | None = None, reference: Board | None = None) -> None:
        super().__init__(requested, run_on, reference)
        self._upload_port: str | None = None  # found before the build: is the board there?

    def refuse(self, action: str) -> KitError | None:
        if action in ("flash", "project") and self.requested.platformio is None:
            return KitError(f"{self.name} has no [platformio] table in its board file, so kit cannot build it",
                            hint="add the board's PlatformIO platform, board and framework to its board file")
        return super().refuse(action)

    def before_build(self, request: FlashRequest) -> None:
        from kit.upload.pio import upload_port

        # before any training or building: is the board there?
        self._upload_port = upload_port(self.requested, request.port, request.force, request.log)

    def build(self, compiled: CompiledModel, model_path: Path, request: FlashRequest) -> RealProject:
        from kit.build.realboard import cached_project

        project = cached_project(self.requested.name, compiled, request.engine, Path(model_path))
        say(request.log, f"project: {project.project_dir} ({request.engine} engine)")
        return project

    def upload(self, artifact: RealProject, compiled: CompiledModel, request: FlashRequest) -> Uploaded:
        from kit.upload.pio import upload

        upload(artifact, self._upload_port, request.log)
        return self._after_upload(artifact, request)

    def _after_upload(self, project: RealProject, request: FlashRequest) -> Uploaded:
        from kit.upload.pio import wait_for_app_port

        app_port = wait_for_app_port(self.requested, request.port)
        return Uploaded(port=app_port, firmware=project.project_dir,
                        extra={"engine": request.engine, "build_id": project.build_id})


class EsptoolTarget(PlatformioTarget):
    """ESP32 boards: PlatformIO builds the firmware, kit's esptool writer flashes its
    bootloader, partition table and app at the board file's offsets, each MD5-verified."""

    upload_methods = ("esptool",)

    def before_build(self, request: FlashRequest) -> None:
        from kit.upload.esptool import resolve_port

        self._upload_port = resolve_port(self.requested, request.port, force=request.force)

    def upload(self, artifact: RealProject, compiled: CompiledModel, request: FlashRequest) -> Uploaded:
        from kit.upload.esptool import flash_firmware
        from kit.upload.pio import build_images

        images = build_images(artifact, request.log)
        say(request.log, f"upload: esptool writes {', '.join(path.name for path in images)} to {self._upload_port}")
        flash_firmware(self.requested, images, self._upload_port, log=request.log, force_port=True)
        return self._after_upload(artifact, request)


class VendorToolTarget(McuTarget):
    """A board no PlatformIO platform supports (flashed with its vendor's tool): kit converts
    the model and says how to flash it; bench and validate work over its serial port."""

    upload_methods = ()

    @classmethod
    def serves(cls, board: Board) -> bool:
        return board.kind == cls.kind and board.platformio is None

    def refuse(self, action: str) -> KitError | None:
        if action in ("flash", "project"):
            if self.requested.upload.method == "arduino-cli":
                hint = ("build it with arduino-cli and its Arduino core instead (see the board's notes: "
                        f"`kit board {self.name}`); `kit convert MODEL.tflite` writes the model's C arrays")
            else:
                hint = ("convert the model with `kit convert MODEL.tflite` (TFLM C arrays) and flash it with the "
                        f"vendor's path: {self.requested.upload.notes or self.requested.upload.method}")
            return KitError(
                f"{self.name} has no PlatformIO support (no PlatformIO platform or Arduino core exists for "
                f"its {self.requested.mcu}), so kit cannot write a firmware project for it", hint=hint)
        return super().refuse(action)

    def stop(self, entry: DeviceState) -> bool:
        device_state.remove(entry.board)
        return False
