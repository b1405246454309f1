"""`kit flash BOARD LAB`: model -> compiled C -> fit check -> firmware -> upload -> handshake.

Each step is another stage's public function (kit.train, kit.compile, kit.build,
kit.upload.qemu); this module only orders them, checks what passes between them, and
records which board runs which model (kit.device.state) for bench, validate and stop.
An emulated board keeps running in the background after `kit flash` until `kit stop`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from kit.catalog import get_lab
from kit.compile.compiled import CompiledModel
from kit.device import state as device_state
from kit.device.state import DeviceState, pid_alive
from kit.device.target import Fit, Target, check_fit, model_file, resolve_target
from kit.errors import DeviceError, KitError

Log = Callable[[str], None] | None

# RAM the harness itself needs besides the arena and the input buffer (stack, line buffer,
# per-op table, C library state), used for the fit check before the linker gives exact sizes.
HARNESS_RAM_BYTES = 16 * 1024


@dataclass
class FlashResult:
    target: Target
    lab: str
    model_path: Path
    sha256: str
    port: str
    pid: int | None
    firmware: Path
    fit: Fit
    info: dict[str, str]


def _say(log: Log, message: str) -> None:
    if log is not None:
        log(message)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def choose_model(lab: str | None, model: Path | str | None, log: Log = None) -> Path:
    """--model, else the lab's committed reference model, else the cached/trained one."""
    if lab is not None:
        get_lab(lab)
    if model is not None:
        return model_file(model)
    if lab is None:
        raise KitError("no model to flash: neither a lab nor --model was given",
                       hint="name a lab (`kit labs` lists them) or give --model FILE.tflite")
    from kit.train.reference import reference_card

    found = reference_card(lab)
    if found is not None:
        _say(log, f"model: reference model {found[1]}")
        return found[1]
    from kit.train import train_lab

    _say(log, f"model: no reference model for {lab}; training it (cached after the first time)")
    return Path(train_lab(lab, progress=log is not None).tflite_path)


def fit_before_build(target: Target, converted: CompiledModel) -> Fit:
    """Weights must fit flash; arena + input + harness must fit RAM, on the REFERENCE board."""
    limits = target.reference.memory_limits()
    input_bytes = _input_bytes(converted)
    return Fit(
        flash_needed=int(converted.weight_bytes),
        ram_needed=int(converted.arena_bytes_kit) + input_bytes + HARNESS_RAM_BYTES,
        flash_limit=limits.flash_bytes,
        ram_limit=limits.ram_bytes,
        board=target.label,
        detail=f"weights {converted.weight_bytes:,} B; arena {converted.arena_bytes_kit:,} B + input "
        f"{input_bytes:,} B + harness ~{HARNESS_RAM_BYTES // 1024} KB",
    )


def _input_bytes(converted: CompiledModel) -> int:
    """The input buffer, from the compiled model's metadata (no parse, no plan on a cache hit)."""
    return converted.input.nbytes if converted.input is not None else 0


def handshake(port: str, expected_sha256: str, line_timeout: float = 10.0) -> dict[str, str]:
    """Connect and check that the board runs the model it was given (kit-info sha256)."""
    from kit.link import open_link
    from kit.protocol import DeviceClient

    with open_link(port) as link:
        client = DeviceClient.connect(link, line_timeout=line_timeout, boot_timeout=line_timeout)
        if client.info is None:
            raise DeviceError(
                f"the board on {port} answers MLPerf Tiny commands but not kit-info: it is not running kit firmware",
                hint="flash it again with `kit flash BOARD LAB --force`",
            )
        if client.info.sha256 != expected_sha256:
            raise DeviceError(
                f"handshake failed: the board runs a model with sha256 {client.info.sha256 or '(none)'}, "
                f"expected {expected_sha256}",
                hint="rebuild and flash again with `kit flash BOARD LAB --force`",
            )
        return dict(client.info.fields)


# An emulator answers in well under a second on an idle machine; a loaded one (a CI runner,
# a laptop compiling) can take many times that, and it is not a powered-off board.
EMULATOR_HANDSHAKE_TIMEOUT_S = 30.0


def emulator_handshake(board: str, port: str, pid: int, expected_sha256: str,
                       timeout: float = EMULATOR_HANDSHAKE_TIMEOUT_S) -> dict[str, str]:
    """The handshake with an emulator kit just booted; a timeout says what it means here
    (the emulator died, or this computer is too busy), not "check the board is powered"."""
    from kit.link.base import LinkTimeout

    try:
        return handshake(port, expected_sha256, line_timeout=timeout)
    except DeviceError as error:
        if pid_alive(pid) and not isinstance(error, LinkTimeout):
            raise
        if not pid_alive(pid):
            from kit.upload import qemu

            log = getattr(qemu.get_running(board), "log_path", None) or "the emulator log"
            raise DeviceError(f"the {board} emulator (pid {pid}) exited before answering on {port}",
                              hint=f"see {log}, then `kit flash` again") from None
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        raise DeviceError(
            f"the {board} emulator (pid {pid}) is running but did not answer within {timeout:g} s "
            f"(this computer's load average is {load:.1f} on {os.cpu_count()} cores): {error.message}",
            hint="this computer is probably too busy: close other heavy programs and run `kit flash` again",
        ) from None


def flash(
    board: str,
    lab: str | None,
    emulate: bool = False,
    model: Path | str | None = None,
    force: bool = False,
    log: Log = None,
    port: str | None = None,
    engine: str = "kit",
    model_id: str | None = None,
) -> FlashResult:
    """The whole `kit flash` pipeline; returns where the board runs and what it runs.
    A real board is dispatched by its upload method: PlatformIO boards go to kit.upload.pio
    (`port`: its serial port, else detected by USB id; `engine`: kit or tflm)."""
    target = resolve_target(board, emulate)
    if lab is not None:
        get_lab(lab)  # an unknown lab is reported before any port is probed or anything is built
    if not target.emulated:
        # Real boards: PlatformIO upload (kit.upload.pio); a board without PlatformIO support
        # gets an error naming its own tool (kit.build.realboard.real_board).
        from kit.upload.pio import flash_real_board

        return flash_real_board(target, lab, model=model, port=port, force=force, engine=engine, log=log,
                                model_id=model_id)
    refuse_if_in_use(target.run_on.name)  # before any build: another command measures that emulator
    model_path = choose_model(lab, model, log)
    from kit.catalog.mlperf import model_id_for
    from kit.compile import convert

    converted = convert(model_path, model_id=model_id_for(model_path, lab, model is None, model_id))
    fit = fit_before_build(target, converted)
    _say(log, f"fit: needs {fit.flash_needed:,} B flash / {fit.ram_needed:,} B RAM, "
              f"{target.reference.name} has {fit.flash_limit:,} B / {fit.ram_limit:,} B")
    check_fit(fit)
    firmware = build_firmware(target, converted, force=force, log=log)
    replace_running_emulator(target.run_on.name, log)
    port, pid = start_emulator(target, firmware, log=log)
    entry = DeviceState(
        board=target.run_on.name, reference_board=target.reference.name, port=port, lab=lab or "",
        model_path=str(Path(model_path).resolve()), sha256=converted.sha256, firmware=str(firmware), pid=pid,
    )
    device_state.save(entry)
    try:
        info = emulator_handshake(target.run_on.name, port, pid, converted.sha256)
    except BaseException:
        stop(target.run_on.name)
        raise
    _say(log, f"handshake: {info.get('board')} runs {info.get('model')} sha256 {converted.sha256[:12]}")
    return FlashResult(target=target, lab=lab, model_path=Path(model_path), sha256=converted.sha256, port=port,
                       pid=pid, firmware=firmware, fit=fit, info=info)


# --- the emulator already running ------------------------------------------------------------


def _running_emulator(board: str) -> Any:
    from kit.upload import qemu

    running = qemu.get_running(board)
    return running if running is not None and running.is_alive() else None


def refuse_if_in_use(board: str) -> None:
    """An emulator another process is connected to (a `kit validate` or `kit bench` running,
    a terminal) must not be replaced under it: say who, and how to go on."""
    from kit.link.tcp_clients import tcp_clients

    running = _running_emulator(board)
    if running is None:
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
    running = _running_emulator(board)
    if running is not None:
        refuse_if_in_use(board)  # a command may have connected while this one was building
        entry = device_state.load(board)
        what = f"lab {entry.lab}, model {entry.sha256[:12]}" if entry is not None and entry.lab else \
            f"model {entry.sha256[:12]}" if entry is not None else "an earlier firmware"
        _say(log, f"replacing the running {board} emulator (pid {running.pid}: {what})")
    stop(board)


# --- the seams to kit.build and kit.upload.qemu ----------------------------------------------


def build_firmware(target: Target, converted: CompiledModel | Path, force: bool = False, log: Log = None) -> Path:
    """Build the PlatformIO project for the board that runs, with the reference board's limits."""
    from kit import build as kit_build

    _say(log, f"build: firmware for {target.label}")
    result = kit_build.build(target.run_on.name, converted, limits_board=target.reference.name, force=force)
    return Path(getattr(result, "firmware", result))


def start_emulator(target: Target, firmware: Path, log: Log = None) -> tuple[str, int]:
    """Boot the firmware in QEMU in the background; (socket URL, pid)."""
    from kit.upload import qemu

    running = qemu.start(target.run_on.name, firmware)
    _say(log, f"upload: {target.run_on.name} booted in QEMU (pid {running.pid}) on {running.port}")
    return running.port, running.pid


def stop(board: str | None) -> list[str]:
    """Stop one board kit started (or all when `board` is None); returns the names stopped.

    A real board's name stops its running twin (`kit stop nicla-vision` after
    `kit flash nicla-vision kws --emulate`)."""
    from kit.upload import qemu

    if board is None:
        names = {entry.board for entry in device_state.all_states()} | {e.board for e in qemu.list_running()}
    else:
        names = {board} | {e.board for e in device_state.all_states() if e.reference_board == board}
    stopped = []
    for name in sorted(names):
        entry = device_state.load(name)
        was_running = _stop_emulator(name)
        if entry is not None:
            device_state.remove(name)
            if not was_running and entry.pid is not None and pid_alive(entry.pid):
                qemu.terminate(entry.pid)  # an emulator qemu's own records did not know
                was_running = True
        if was_running:
            stopped.append(name)
    return stopped


def _stop_emulator(name: str) -> bool:
    from kit.catalog import get_board
    from kit.upload import qemu

    if get_board(name).kind != "emulated":
        return False
    return qemu.stop(name)
