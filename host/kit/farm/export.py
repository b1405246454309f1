"""`kit farm export`: offer this machine's boards to a labgrid coordinator.

Real boards: every serial port `kit ports` recognises becomes a labgrid `USBSerialPort`
matched by its udev properties (the USB serial number, else the physical USB path), so it is
found again after replugging; labgrid's exporter serves it with ser2net. Emulated twins: kit
builds the lab's firmware once per board and boots one QEMU per place (not through the
one-emulator-per-board state store, so a machine can run several twins of one board); each
console is a `NetworkSerialPort` on loopback. Then kit creates one place per board on the
coordinator, tagged with the catalog board name, and keeps the exporter running until it is
stopped, when it also stops its twins.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from kit.catalog import get_board
from kit.errors import KitError
from kit.farm.coordinator import KIT_TAG, FarmClient, FarmError, check_listen, have_ser2net, labgrid_tool

Log = Callable[[str], None] | None
EXPORTER_READY_TIMEOUT_S = 30.0
SERIAL_SPEED = 115200


@dataclass
class Export:
    """One board offered as one place."""

    place: str
    group: str              # the exporter's resource group (a safe name; the place name is free text)
    board: str              # the catalog board whose numbers apply (the place's `board` tag)
    resource: dict[str, Any]
    runs_on: str = ""       # an emulated twin's board
    pid: int | None = None  # a twin's QEMU process
    sha256: str = ""
    lab: str = ""

    @property
    def cls(self) -> str:
        return next(iter(self.resource))


@dataclass
class Exporter:
    name: str
    coordinator: str
    config_path: Path
    exports: list[Export]
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    twins: list[Any] = field(default_factory=list)


def _say(log: Log, message: str) -> None:
    if log is not None:
        log(message)


def safe_group(text: str) -> str:
    """A resource-group name labgrid's match patterns can hold (no '/', no spaces)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "board"


# ----------------------------------------------------------------------------- real boards

def udev_match(device: str, serial_number: str | None) -> dict[str, str]:
    """The udev properties that find this port again after replugging."""
    if serial_number:
        return {"ID_SERIAL_SHORT": serial_number}
    try:
        import pyudev

        properties = pyudev.Devices.from_device_file(pyudev.Context(), device).properties
        if properties.get("ID_PATH"):
            return {"ID_PATH": properties["ID_PATH"]}
    except (ImportError, OSError, ValueError):
        pass
    return {"DEVNAME": device}


def usb_exports(host: str, ports: list[Any] | None = None) -> list[Export]:
    """One export per recognised board port (`kit ports`), in application mode."""
    from kit.link.ports import list_ports

    exports: list[Export] = []
    for port in (list_ports() if ports is None else ports):
        match = next((m for m in port.matches if m.mode != "bootloader" and not m.shared), None)
        if match is None:
            continue
        group = safe_group(f"{match.board}-{len([e for e in exports if e.board == match.board]) + 1}")
        resource = {"USBSerialPort": {"match": udev_match(port.device, port.serial_number), "speed": SERIAL_SPEED}}
        exports.append(Export(place=f"{host}-{group}", group=group, board=match.board, resource=resource))
    return exports


# ----------------------------------------------------------------------------- twins

def parse_twins(specs: list[str], host: str) -> list[tuple[str, str]]:
    """BOARD or BOARD=PLACE (the place name is free text) -> (board, place)."""
    chosen: list[tuple[str, str]] = []
    for spec in specs:
        for item in [spec] if "=" in spec else spec.split(","):
            board, _, place = item.partition("=")
            get_board(board.strip())  # an unknown board is named before anything starts
            count = sum(1 for b, _ in chosen if b == board.strip()) + 1
            chosen.append((board.strip(), place or f"{host}-{safe_group(board.strip())}-{count}"))
    return chosen


@contextmanager
def build_lock() -> Iterator[None]:
    """Several exporters on one machine share $KIT_HOME's caches: one compiles and builds at a
    time (the caches are written by rename, and two processes filling one entry collide)."""
    import fcntl

    from kit.paths import home_dir

    folder = home_dir() / "farm"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "build.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def start_twins(chosen: list[tuple[str, str]], lab: str, log: Log = None) -> tuple[list[Export], list[Any]]:
    """Build each board's firmware for `lab` once, boot one QEMU per place, check its model."""
    from kit.targets import FlashRequest, check_fit, fit_for_engine, handshake, open_target
    from kit.train.reference import choose_model
    from kit.upload import qemu

    exports: list[Export] = []
    running: list[Any] = []
    built: dict[str, tuple[Path, str]] = {}
    try:
        for index, (board, place) in enumerate(chosen, 1):
            target = open_target(board, emulate=not open_target(board).emulated)
            if board not in built:
                request = FlashRequest(lab=lab, log=log)
                with build_lock():
                    model_path = choose_model(lab, None, log)
                    compiled = target.compile(model_path, request)
                    check_fit(fit_for_engine(target.reference, target.label, compiled, "kit"))
                    built[board] = (Path(target.build(compiled, model_path, request)), compiled.sha256)
            firmware, sha256 = built[board]
            twin = qemu.start(target.run_on.name, firmware)
            running.append(twin)
            handshake(twin.port, sha256, line_timeout=30.0)
            _say(log, f"twin {place!r}: {target.label} in QEMU (pid {twin.pid}) on {twin.port}")
            group = safe_group(f"twin{index}-{board}")
            resource = {"NetworkSerialPort": {"host": "127.0.0.1", "port": twin.tcp_port, "speed": SERIAL_SPEED,
                                              "protocol": "raw"}}
            exports.append(Export(place=place, group=group, board=target.reference.name, resource=resource,
                                  runs_on=target.run_on.name, pid=twin.pid, sha256=sha256, lab=lab))
    except BaseException:
        for twin in running:
            twin.stop()
        raise
    return exports, running


# ----------------------------------------------------------------------------- exporter

def exporter_config(exports: list[Export]) -> str:
    """labgrid's exporter YAML (JSON is YAML: every name quoted, nothing interpreted)."""
    return json.dumps({export.group: export.resource for export in exports}, indent=2) + "\n"


def write_config(name: str, exports: list[Export]) -> Path:
    from kit.paths import home_dir

    folder = home_dir() / "farm"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"exporter-{safe_group(name)}.yaml"
    path.write_text(exporter_config(exports), encoding="utf-8")
    return path


def place_tags(export: Export) -> dict[str, str]:
    tags = {KIT_TAG: "1", "board": export.board}
    if export.runs_on:
        tags["runs_on"] = export.runs_on
    if export.lab:
        tags["lab"] = export.lab
    return tags


def start_exporter(name: str, coordinator: str, exports: list[Export], hostname: str, log: Log = None) -> Exporter:
    """labgrid-exporter for `exports`, then one place per export on the coordinator."""
    check_listen(coordinator)
    if not exports:
        raise KitError("nothing to export: no board recognised on a serial port and no --emulate given",
                       hint="plug a board in (`kit ports` lists it) or pass --emulate BOARD")
    if any(e.cls == "USBSerialPort" for e in exports) and not have_ser2net():
        raise FarmError("ser2net is not installed: labgrid's exporter serves real boards' serial ports with it",
                        hint="sudo apt-get install -y --no-install-recommends ser2net")
    config = write_config(name, exports)
    log_path = config.with_suffix(".log")
    with log_path.open("wb") as out:
        process = subprocess.Popen([*labgrid_tool("labgrid-exporter"), "--coordinator", coordinator, "--name", name,
                                    "--hostname", hostname, str(config)], stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    exporter = Exporter(name=name, coordinator=coordinator, config_path=config, exports=exports, process=process,
                        log_path=log_path)
    try:
        with FarmClient(coordinator) as client:
            _wait_for_resources(client, exporter)
            for export in exports:
                client.ensure_place(export.place, f"{name}/{export.group}/{export.cls}", place_tags(export))
                _say(log, f"place {export.place!r}: {export.board} ({name}/{export.group}/{export.cls})")
    except BaseException:
        stop_exporter(exporter)
        raise
    return exporter


def _wait_for_resources(client: FarmClient, exporter: Exporter) -> None:
    assert exporter.process is not None
    deadline = time.monotonic() + EXPORTER_READY_TIMEOUT_S
    wanted = {export.group for export in exporter.exports}
    while time.monotonic() < deadline:
        if exporter.process.poll() is not None:
            raise FarmError(f"labgrid-exporter exited (code {exporter.process.returncode}): "
                            f"{_tail(exporter.log_path)}", hint=f"see {exporter.log_path}")
        seen = {r.group for r in client.resources() if r.exporter == exporter.name}
        if wanted <= seen:
            return
        time.sleep(0.2)
    raise FarmError(f"the exporter's resources did not reach the coordinator within {EXPORTER_READY_TIMEOUT_S:g} s",
                    hint=f"see {exporter.log_path}; is another exporter named {exporter.name!r} running?")


def _tail(path: Path | None) -> str:
    if path is None or not path.is_file():
        return ""
    return " ".join(path.read_text(errors="replace").strip().splitlines()[-3:])[-400:]


def stop_exporter(exporter: Exporter) -> None:
    """End labgrid-exporter (its resources leave the coordinator) and the twins it offered."""
    from kit.upload import qemu

    if exporter.process is not None and exporter.process.poll() is None:
        exporter.process.send_signal(signal.SIGTERM)
        try:
            exporter.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            exporter.process.kill()
            exporter.process.wait()
    for export in exporter.exports:
        if export.pid is not None:
            qemu.terminate(export.pid)


def serve(exporter: Exporter) -> int:
    """Until the exporter ends or this process is told to stop (SIGTERM/SIGINT); its exit code."""
    assert exporter.process is not None
    try:
        return exporter.process.wait()
    finally:
        stop_exporter(exporter)


def default_name() -> str:
    return socket.gethostname()
