"""Emulated boards: kit builds the firmware with its own PlatformIO platform and boots it in
QEMU in the background (console on a TCP port) until `kit stop`. A real board's twin runs
here too, with the real board's limits (`kit flash nicla-vision kws --emulate`)."""

from __future__ import annotations

import os
from pathlib import Path
import numpy as np

from kit.compile.compiled import CompiledModel
from kit.errors import DeviceError, KitError
from kit.protocol import DeviceClient
from kit.procs import pid_alive
from kit.targets import state as device_state
from kit.targets.base import BoardTarget, FlashRequest, Log, Uploaded, say
from kit.targets.session import handshake, input_folder
from kit.targets.state import DeviceState

# kit-load lines in flight to an emulator (QEMU's serial socket applies back-pressure).
EMULATOR_LOAD_WINDOW = 16
# An emulator answers in well under a second on an idle machine; a loaded one (a CI runner,
# a laptop compiling) can take many times that, and it is not a powered-off board.
EMULATOR_HANDSHAKE_TIMEOUT_S = 30.0


class EmulatedTarget(BoardTarget):
    kind = "emulated"
    upload_methods = ("qemu",)
    emulated = True

    def not_running(self) -> DeviceError:
        twin = self.run_on.name != self.reference.name or self.requested.name != self.run_on.name
        return DeviceError(f"{self.name} is not running",
                           hint=f"start it first: `kit flash {self.name} LAB{' --emulate' if twin else ''}`")

    # --- flash ---------------------------------------------------------------------------

    def before_build(self, request: FlashRequest) -> None:
        refuse_if_in_use(self.run_on.name)  # another command measures that emulator

    def build(self, compiled: CompiledModel, model_path: Path, request: FlashRequest) -> Path:
        return build_firmware(self, compiled, force=request.force, log=request.log)

    def upload(self, artifact: Path, compiled: CompiledModel, request: FlashRequest) -> Uploaded:
        from kit.upload import qemu

        replace_running_emulator(self.run_on.name, request.log)
        running = qemu.start(self.run_on.name, artifact)
        say(request.log, f"upload: {self.run_on.name} booted in QEMU (pid {running.pid}) on {running.port}")
        return Uploaded(port=running.port, firmware=artifact, pid=running.pid, tcp_port=running.tcp_port,
                        log_path=running.log_path)

    def verify(self, entry: DeviceState) -> dict[str, str]:
        device_state.save(entry)  # recorded first: a failed handshake still finds it to stop it
        try:
            return emulator_handshake(entry, EMULATOR_HANDSHAKE_TIMEOUT_S)
        except BaseException:
            self.stop(entry)
            raise

    # --- connect, stop, invoke -------------------------------------------------------------

    def prepare_client(self, client: DeviceClient, entry: DeviceState | None) -> None:
        client.load_window = EMULATOR_LOAD_WINDOW
        if entry is not None and entry.pid is not None:  # an emulator kit started here
            client.host_file_dir = input_folder(self.run_on.name)

    def stop(self, entry: DeviceState) -> bool:
        from kit.upload import qemu

        device_state.remove(entry.board)
        if entry.pid is None or not pid_alive(entry.pid):
            return False
        qemu.terminate(entry.pid)
        return True

    def refuse(self, action: str) -> KitError | None:
        if action == "invoke":
            return None
        if action == "project":
            return KitError(f"{self.name} is an emulated board: kit builds and boots it itself",
                            hint=f"use `kit flash {self.name} LAB`; `kit project` writes projects for real boards")
        return super().refuse(action)

    def invoke(self, compiled: CompiledModel, inputs: np.ndarray) -> np.ndarray:
        from kit.targets.invoke import invoke_emulated

        return invoke_emulated(self, compiled, inputs)


def build_firmware(target: BoardTarget, compiled: CompiledModel | Path, force: bool = False, log: Log = None) -> Path:
    """Build the PlatformIO project for the board that runs, with the reference board's limits."""
    from kit import build as kit_build

    say(log, f"build: firmware for {target.label}")
    result = kit_build.build(target.run_on.name, compiled, limits_board=target.reference.name, force=force)
    return Path(result.firmware)


def running_emulator(board: str) -> DeviceState | None:
    """The live emulator kit started for `board` (stale entries are dropped)."""
    entry = device_state.load_running(board)
    return entry if entry is not None and entry.pid is not None else None


def refuse_if_in_use(board: str) -> None:
    """An emulator another process is connected to (a `kit validate` or `kit bench` running,
    a terminal) must not be replaced under it: say who, and how to go on."""
    from kit.link.tcp_clients import tcp_clients

    running = running_emulator(board)
    if running is None or running.tcp_port is None:
        return
    clients = tcp_clients(running.tcp_port, ignore_pids=(os.getpid(),))
    if clients:
        who = "; ".join(client.describe() for client in clients)
        raise DeviceError(
            f"{board} is in use: {who} is connected to it (pid {running.pid}, {running.port})",
            hint=f"wait until that command ends, or end it first; `kit stop {board}` stops the emulator",
        )


def replace_running_emulator(board: str, log: Log) -> None:
    """Stop the emulator of an earlier `kit flash` on this board, and say so."""
    from kit.upload import qemu

    running = running_emulator(board)
    if running is None:
        device_state.remove(board)
        return
    refuse_if_in_use(board)  # a command may have connected while this one was building
    what = f"lab {running.lab}, model {running.sha256[:12]}" if running.lab else f"model {running.sha256[:12]}"
    say(log, f"replacing the running {board} emulator (pid {running.pid}: {what})")
    device_state.remove(board)
    qemu.terminate(running.pid)  # type: ignore[arg-type]


def emulator_handshake(entry: DeviceState, timeout: float = EMULATOR_HANDSHAKE_TIMEOUT_S) -> dict[str, str]:
    """The handshake with an emulator kit just booted; a timeout says what it means here
    (the emulator died, or this computer is too busy), not "check the board is powered"."""
    from kit.link.base import LinkTimeout

    assert entry.pid is not None
    try:
        return handshake(entry.port, entry.sha256, line_timeout=timeout)
    except DeviceError as error:
        if pid_alive(entry.pid) and not isinstance(error, LinkTimeout):
            raise
        if not pid_alive(entry.pid):
            raise DeviceError(f"the {entry.board} emulator (pid {entry.pid}) exited before answering on {entry.port}",
                              hint=f"see {entry.log_path or 'the emulator log'}, then `kit flash` again") from None
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        raise DeviceError(
            f"the {entry.board} emulator (pid {entry.pid}) is running but did not answer within {timeout:g} s "
            f"(this computer's load average is {load:.1f} on {os.cpu_count()} cores): {error.message}",
            hint="this computer is probably too busy: close other heavy programs and run `kit flash` again",
        ) from None
