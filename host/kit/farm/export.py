"""`kit farm export`: offer this machine's boards to a labgrid coordinator.

Real boards: every serial port `kit ports` recognises becomes a labgrid `USBSerialPort`
matched by its udev properties (the USB serial number, else the physical USB path), so it is
found again after replugging; labgrid's exporter serves it with ser2net. Emulated twins: kit
builds the lab's firmware once per board and boots one QEMU per place (not through the
one-emulator-per-board state store, so a machine can run several twins of one board); each
console is a `NetworkSerialPort` on loopback. Then kit creates one place per board on the
coordinator, tagged with the catalog board name, and keeps the exporter running until it is
stopped, when it also stops its twins.

Nothing outlives it: labgrid-exporter and every QEMU are started with PR_SET_PDEATHSIG (the
kernel ends them if this process dies, even by SIGKILL), and their pids are kept in a pidfile
that the next start with the same name reaps. A local control socket (only this user may open
it) lets `kit farm reflash`, run over SSH by a bench client, restart a twin on new firmware.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from kit.catalog import get_board
from kit.errors import KitError
from kit.procs import die_with_parent, pid_alive
from kit.farm.coordinator import KIT_TAG, FarmClient, FarmError, check_listen, have_ser2net, labgrid_tool

Log = Callable[[str], None] | None
EXPORTER_READY_TIMEOUT_S = 30.0
SERIAL_SPEED = 115200
HANDSHAKE_TIMEOUT_S = 30.0
CONTROL_TIMEOUT_S = 60.0
MAX_REQUEST_BYTES = 64 * 1024


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

    @property
    def published_cls(self) -> str:
        """The class the coordinator lists: labgrid's exporter serves a USBSerialPort with
        ser2net and publishes it as a NetworkSerialPort (what a place must match)."""
        return "NetworkSerialPort" if self.cls == "USBSerialPort" else self.cls


@dataclass
class Exporter:
    name: str
    coordinator: str
    config_path: Path
    exports: list[Export]
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    twins: list[Any] = field(default_factory=list)
    control: "TwinControl | None" = None
    hostname: str = ""


def _say(log: Log, message: str) -> None:
    if log is not None:
        log(message)


def farm_dir() -> Path:
    from kit.paths import home_dir

    folder = home_dir() / "farm"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def twin_log_path(exporter: str, group: str) -> Path:
    """One QEMU log per twin (two twins of one board on one machine must not share a file)."""
    from kit.upload import qemu

    return qemu.log_path_for(f"farm-{safe_group(exporter)}-{group}")


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
    """Several exporters (and a bench's threads) on one machine share $KIT_HOME's caches: one
    compiles and builds at a time (the caches are written by rename, and two processes filling
    one entry collide). flock locks each open file, so threads of one process exclude too."""
    import fcntl

    with (farm_dir() / "build.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def twin_target(board: str) -> Any:
    """The target that runs `board` on its emulated twin (an emulated board runs as itself)."""
    from kit.targets import open_target

    return open_target(board, emulate=not open_target(board).emulated)


def build_twin_firmware(board: str, lab: str, log: Log = None) -> tuple[Path, str]:
    """(firmware ELF, model sha256) of `lab`'s model for `board`'s twin, checked to fit the
    real board's limits (cached by kit's build cache)."""
    from kit.targets import FlashRequest, check_fit, fit_for_engine
    from kit.train.reference import choose_model

    target = twin_target(board)
    request = FlashRequest(lab=lab, log=log)
    with build_lock():
        model_path = choose_model(lab, None, log)
        compiled = target.compile(model_path, request)
        check_fit(fit_for_engine(target.reference, target.label, compiled, "kit"))
        return Path(target.build(compiled, model_path, request)), compiled.sha256


def start_twins(chosen: list[tuple[str, str]], lab: str, log: Log = None,
                exporter: str = "") -> tuple[list[Export], list[Any]]:
    """Build each board's firmware for `lab` once, boot one QEMU per place (each with its own
    log, ended by the kernel if this process dies), check its model."""
    from kit.targets import handshake
    from kit.upload import qemu

    exports: list[Export] = []
    running: list[Any] = []
    built: dict[str, tuple[Path, str]] = {}
    try:
        for index, (board, place) in enumerate(chosen, 1):
            target = twin_target(board)
            if board not in built:
                built[board] = build_twin_firmware(board, lab, log)
            firmware, sha256 = built[board]
            group = safe_group(f"twin{index}-{board}")
            twin = qemu.start(target.run_on.name, firmware, log_path=twin_log_path(exporter, group), with_parent=True)
            running.append(twin)
            if exporter:
                record_pids(exporter, [t.pid for t in running])
            handshake(twin.port, sha256, line_timeout=HANDSHAKE_TIMEOUT_S)
            _say(log, f"twin {place!r}: {target.label} in QEMU (pid {twin.pid}) on {twin.port}")
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
    path = farm_dir() / f"exporter-{safe_group(name)}.yaml"
    path.write_text(exporter_config(exports), encoding="utf-8")
    return path


def kit_command() -> str:
    """How a client runs this machine's kit over SSH (its `ssh HOST -- ...` prefix): this
    Python, this kit package and this $KIT_HOME (where the control socket lives), since a
    non-interactive SSH login sets none of them."""
    import kit
    from kit.paths import home_dir

    package_root = Path(kit.__file__).resolve().parent.parent
    return shlex.join(["env", f"KIT_HOME={home_dir().resolve()}", f"PYTHONPATH={package_root}",
                       sys.executable, "-m", "kit"])


def place_tags(export: Export, ssh_host: str = "") -> dict[str, str]:
    """kit=1, board, runs_on (twins), lab; ssh_host and kit_cmd say how a client flashes the
    board through this machine (`ssh ssh_host -- kit_cmd farm reflash ...`)."""
    tags = {KIT_TAG: "1", "board": export.board}
    if export.runs_on:
        tags["runs_on"] = export.runs_on
    if export.lab:
        tags["lab"] = export.lab
    if ssh_host:
        tags["ssh_host"] = ssh_host
        tags["kit_cmd"] = kit_command()
    return tags


# ----------------------------------------------------------------------------- no orphans

def pid_file(name: str) -> Path:
    return farm_dir() / f"exporter-{safe_group(name)}.pids"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def record_pids(name: str, pids: list[int]) -> None:
    """Write what this exporter runs (pid and command line, so a reused pid is never killed)."""
    entries = [{"pid": pid, "cmdline": _cmdline(pid)} for pid in pids if pid_alive(pid)]
    path = pid_file(name)
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps({"owner": os.getpid(), "children": entries}), encoding="utf-8")
    scratch.replace(path)


def reap_stale(name: str, log: Log = None) -> list[int]:
    """End what a previous `kit farm export --name NAME` left running (it was killed before it
    could stop its children, on a system without PR_SET_PDEATHSIG); the pids it ended."""
    from kit.upload import qemu

    path = pid_file(name)
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if recorded.get("owner") not in (None, os.getpid()) and pid_alive(int(recorded["owner"])) \
            and "farm" in _cmdline(int(recorded["owner"])):
        raise FarmError(f"another `kit farm export --name {name}` runs (pid {recorded['owner']})",
                        hint="stop it first, or give this one another --name")
    ended = []
    for entry in recorded.get("children", []):
        pid = int(entry.get("pid", 0))
        if pid > 0 and pid_alive(pid) and entry.get("cmdline") and _cmdline(pid) == entry["cmdline"]:
            qemu.terminate(pid)
            ended.append(pid)
            _say(log, f"ended pid {pid} left running by an earlier exporter {name!r}")
    path.unlink(missing_ok=True)
    return ended


def _exporter_pids(exporter: Exporter) -> list[int]:
    pids = [exporter.process.pid] if exporter.process is not None else []
    return pids + [e.pid for e in exporter.exports if e.pid is not None]


# ----------------------------------------------------------------------------- reflashing twins

def control_path(name: str) -> Path:
    """The exporter's control socket, in a folder only this user can enter."""
    folder = farm_dir() / "control"
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder / f"{safe_group(name)}.sock"


def incoming_dir() -> Path:
    """Where `kit farm reflash` leaves firmware it received over SSH (named by its sha256)."""
    folder = farm_dir() / "incoming"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


class TwinControl:
    """Serves `kit farm reflash` on a Unix socket: one JSON request line (group, firmware
    path, model sha256), one JSON reply line. One long-lived thread restarts the twins, so
    the QEMUs it starts keep their parent-death signal for as long as the exporter lives."""

    def __init__(self, exporter: Exporter) -> None:
        self.exporter = exporter
        self.path = control_path(exporter.name)
        self.path.unlink(missing_ok=True)
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(self.path))
        os.chmod(self.path, 0o600)
        self.server.listen(8)
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="kit-farm-control", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.closed.set()
        try:
            self.server.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.server.close()
        self.thread.join(timeout=CONTROL_TIMEOUT_S)
        self.path.unlink(missing_ok=True)

    def _serve(self) -> None:
        while not self.closed.is_set():
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(CONTROL_TIMEOUT_S)
                try:
                    reply = self.handle(_read_line(connection))
                except KitError as error:
                    reply = {"ok": False, "error": error.message, "hint": error.hint or ""}
                except (OSError, ValueError) as error:
                    reply = {"ok": False, "error": f"bad request: {error}", "hint": ""}
                try:
                    connection.sendall(json.dumps(reply).encode() + b"\n")
                except OSError:
                    pass

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Restart the twin of `group` on `firmware` (same TCP port: the place's resource stays
        valid) and check by handshake that it runs the model with `model_sha256`."""
        from kit.targets import handshake
        from kit.upload import qemu

        group, sha256 = str(request.get("group", "")), str(request.get("model_sha256", ""))
        export = next((e for e in self.exporter.exports if e.group == group), None)
        if export is None or not export.runs_on:
            raise FarmError(f"exporter {self.exporter.name!r} has no twin in group {group!r}",
                            hint="real boards are flashed with `kit flash BOARD LAB --port PORT` on their host")
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise FarmError("model_sha256 must be 64 hex digits", hint="send the model's sha256")
        firmware = Path(str(request.get("firmware", ""))).resolve()
        if firmware.parent != incoming_dir().resolve() or not firmware.is_file():
            raise FarmError(f"no received firmware at {firmware}", hint="send it with `kit farm reflash` (stdin)")
        port = int(export.resource["NetworkSerialPort"]["port"])
        if export.pid is not None:
            qemu.terminate(export.pid)
            export.pid = None
        twin = qemu.start(export.runs_on, firmware, tcp_port=port, log_path=twin_log_path(self.exporter.name, group),
                          with_parent=True)
        export.pid = twin.pid
        record_pids(self.exporter.name, _exporter_pids(self.exporter))
        handshake(twin.port, sha256, line_timeout=HANDSHAKE_TIMEOUT_S)
        export.sha256, export.lab = sha256, str(request.get("lab", ""))
        return {"ok": True, "pid": twin.pid, "port": port}


def _read_line(connection: socket.socket) -> dict[str, Any]:
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_REQUEST_BYTES:
            raise ValueError("request too long")
    request = json.loads(data.decode())
    if not isinstance(request, dict):
        raise ValueError("a request is a JSON object")
    return request


def ask_exporter(name: str, request: dict[str, Any], timeout: float = CONTROL_TIMEOUT_S + 10) -> dict[str, Any]:
    """Send one request to the running exporter `name` on this machine; its reply."""
    path = control_path(name)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        try:
            connection.connect(str(path))
        except OSError as error:
            raise FarmError(f"no `kit farm export --name {name}` runs on this machine ({path}: {error.strerror})",
                            hint="start the exporter again; `kit farm list` shows which places answer") from None
        connection.sendall(json.dumps(request).encode() + b"\n")
        try:
            return _read_line(connection)
        except (OSError, ValueError) as error:
            raise FarmError(f"exporter {name!r} gave no reply: {error}", hint="see its log") from None


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def start_exporter(name: str, coordinator: str, exports: list[Export], hostname: str, log: Log = None) -> Exporter:
    """labgrid-exporter for `exports` (ended by the kernel if this process dies), the twins'
    control socket, then one place per export on the coordinator."""
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
                                   stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=die_with_parent())
    exporter = Exporter(name=name, coordinator=coordinator, config_path=config, exports=exports, process=process,
                        log_path=log_path, hostname=hostname)
    try:
        record_pids(name, _exporter_pids(exporter))
        if any(e.runs_on for e in exports):
            exporter.control = TwinControl(exporter)
        with FarmClient(coordinator) as client:
            _wait_for_resources(client, exporter)
            for export in exports:
                pattern = f"{name}/{export.group}/{export.published_cls}"
                client.ensure_place(export.place, pattern, place_tags(export, hostname))
                _say(log, f"place {export.place!r}: {export.board} ({pattern})")
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

    if exporter.control is not None:
        exporter.control.close()
        exporter.control = None
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
    pid_file(exporter.name).unlink(missing_ok=True)


def serve(exporter: Exporter) -> int:
    """Until the exporter ends or this process is told to stop (SIGTERM/SIGINT); its exit code."""
    assert exporter.process is not None
    try:
        return exporter.process.wait()
    finally:
        stop_exporter(exporter)


def default_name() -> str:
    return socket.gethostname()
