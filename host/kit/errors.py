"""One error type for everything a user can cause, so the CLI can print it without a traceback."""

from __future__ import annotations


class KitError(Exception):
    """A problem the user can fix: `message` says what is wrong, `hint` says what to do."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  fix: {self.hint}"


class CatalogError(KitError):
    """A board, lab or kit file is missing or malformed."""


class DataError(KitError):
    """A dataset cannot be generated or read."""


class ModelError(KitError):
    """A model file is malformed, unsupported or does not fit."""


class ToolMissingError(KitError):
    """An external program (compiler, QEMU, PlatformIO, ssh) is not installed."""


class DeviceError(KitError):
    """A board, serial port or remote host misbehaves or cannot be reached."""
