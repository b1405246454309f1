"""Firmware builds for the emulated boards (PlatformIO with kit's local QEMU platform)."""

from kit.build.linker import MemoryLayout
from kit.build.project import (
    BuildResult,
    FirmwareSizes,
    build,
    build_firmware,
    model_dir_of,
    resolve_target,
    write_project,
)

__all__ = ["build", "model_dir_of", "BuildResult", "FirmwareSizes", "MemoryLayout", "build_firmware", "resolve_target", "write_project"]
