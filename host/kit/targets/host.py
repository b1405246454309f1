"""This computer as a board: kit's runtime compiled natively, for `kit invoke` only."""

from __future__ import annotations

import numpy as np

from kit.compile.compiled import CompiledModel
from kit.errors import DeviceError, KitError
from kit.targets.base import BoardTarget

RUN_ON_HOST = "run a model on it with `kit invoke host --model LAB --input in.npy --output out.npy`"


class HostTarget(BoardTarget):
    kind = "host"
    upload_methods = ("native",)

    def refuse(self, action: str) -> KitError | None:
        if action == "invoke":
            return None
        if action == "measure":
            return DeviceError(f"{self.name} is this computer, not a board with firmware to bench or validate",
                               hint=f"{RUN_ON_HOST}, or bench an emulated board: `kit flash emu-cortex-m4 LAB`, "
                                    "then `kit bench emu-cortex-m4`")
        if action in ("flash", "project", "emulate"):
            return KitError(f"{self.name} is this computer: it needs no flashing", hint=RUN_ON_HOST)
        return super().refuse(action)

    def invoke(self, compiled: CompiledModel, inputs: np.ndarray) -> np.ndarray:
        from kit.runtime_host.runner import invoke

        return invoke(compiled, inputs)
