"""`kit invoke` on emulated boards: the same raw-output interface as the host board.

EmulatedTarget.invoke calls this. A board already running this model (same sha256, started
by `kit flash`) is reused; otherwise the firmware is built, booted for this command only,
and stopped at the end.
"""

from __future__ import annotations

import numpy as np

from typing import TYPE_CHECKING

from kit.errors import DeviceError, KitError
from kit.link import open_link, spawn
from kit.protocol import DeviceClient
from kit.runtime_host.compiled import CompiledModel
from kit.targets import state as device_state

if TYPE_CHECKING:
    from kit.targets.base import BoardTarget

_DTYPES = {"int8": np.int8, "uint8": np.uint8}


def _dtype(name: str) -> np.dtype:
    if name not in _DTYPES:
        raise KitError(f"kit invoke on emulated boards handles int8/uint8 tensors, not {name}",
                       hint="quantize the model to full int8 (kit train does)")
    return np.dtype(_DTYPES[name])


def _batch(compiled: CompiledModel, inputs: np.ndarray) -> np.ndarray:
    inputs = np.asarray(inputs)
    dtype = _dtype(compiled.input_dtype)
    per_sample = int(np.prod(compiled.input_shape))
    if inputs.dtype != dtype:
        raise KitError(f"input has dtype {inputs.dtype}, the model expects {dtype}",
                       hint=f"quantize the input to {dtype} with the model's input scale and zero point")
    if inputs.size == 0 or inputs.size % per_sample:
        raise KitError(
            f"input has shape {inputs.shape}, the model expects {tuple(compiled.input_shape)} per input",
            hint="pass one input or a batch of them along the first axis",
        )
    return np.ascontiguousarray(inputs.reshape(-1, per_sample))


def _output_shape(compiled: CompiledModel) -> tuple[int, ...]:
    shape = tuple(compiled.output_shape)
    return shape[1:] if shape and shape[0] == 1 else shape


def run_on_client(client: DeviceClient, compiled: CompiledModel, batch: np.ndarray) -> np.ndarray:
    """Each input through a connected board; outputs stacked in the model's output shape."""
    if client.info is None or client.info.sha256 != compiled.sha256:
        got = client.info.sha256 if client.info else "(no kit-info)"
        raise DeviceError(f"the board runs model {got}, expected {compiled.sha256}",
                          hint="flash the model again (`kit flash BOARD LAB --model M --force`)")
    out_dtype = _dtype(compiled.output_dtype)
    outputs = []
    for sample in batch:
        client.load(sample.tobytes())
        outputs.append(np.frombuffer(client.kit_infer(1).output, dtype=out_dtype))
    return np.stack(outputs).reshape((len(outputs), *_output_shape(compiled)))


def invoke_emulated(target: "BoardTarget", compiled: CompiledModel, inputs: np.ndarray) -> np.ndarray:
    """Reuse the board `kit flash` left running with this model, else boot the firmware for
    this command only, its console on pipes (a running board of another model is untouched)."""
    from kit.targets.emulated import build_firmware
    from kit.upload import qemu

    batch = _batch(compiled, inputs)
    running = device_state.load_running(target.run_on.name)
    if running is not None and running.sha256 == compiled.sha256:
        with open_link(running.port) as link:
            return run_on_client(DeviceClient.connect(link), compiled, batch)
    firmware = build_firmware(target, compiled.directory)
    link = spawn(qemu.qemu_command(target.run_on, firmware, "stdio"), description=f"{target.run_on.name} (QEMU)")
    try:
        client = DeviceClient.connect(link)
        outputs = run_on_client(client, compiled, batch)
        client.exit(0)
        return outputs
    finally:
        link.close()
