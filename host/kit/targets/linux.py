"""Linux boards (Raspberry Pi class) over SSH: `kit deploy` copies the model and a runner,
`kit bench` measures it there with LiteRT. Nothing is flashed and there is no serial port."""

from __future__ import annotations

from kit.errors import DeviceError, KitError
from kit.targets.base import BoardTarget


class LinuxTarget(BoardTarget):
    kind = "linux"
    upload_methods = ("ssh",)
    benched_over_ssh = True

    def refuse(self, action: str) -> KitError | None:
        deploy = f"`kit deploy {self.name} LAB --host USER@HOST`"
        if action == "deploy":
            return None
        if action == "measure":
            return DeviceError(f"{self.name} is a Linux board: it is measured over SSH, not a serial port",
                               hint=f"`kit bench-pi {self.name} --host USER@HOST` (after {deploy})")
        if action in ("flash", "emulate"):
            return KitError(f"{self.name} is a Linux board: it runs models with LiteRT, not flashed firmware",
                            hint=f"use {deploy}")
        if action == "project":
            return KitError(f"{self.name} runs models with LiteRT, not as firmware built by PlatformIO",
                            hint=f"use {deploy}")
        return super().refuse(action)
