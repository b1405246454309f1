"""Serial-port detection: which plugged-in port is which board, and why a port cannot be used.

`list_ports()` matches every port's USB VID:PID against the board catalog; `choose_port()`
picks the port of the board a command targets and refuses one that belongs to another
board; `open_checks()` explains permission problems (dialout group) and busy ports (naming
the process that holds the port). Port listing is injectable (`raw_ports=`), so all of it is
testable with hand-made USB descriptors and pseudo-terminals.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from serial.tools import list_ports as pyserial_list_ports
from serial.tools.list_ports_common import ListPortInfo

from kit.catalog import Board, get_board, list_boards
from kit.errors import DeviceError

DIALOUT_HINT = (
    "add yourself to the group that owns serial ports: `sudo usermod -aG dialout $USER` "
    "(`uucp` on Arch Linux), then log out and back in (or reboot) so the new group applies"
)


@dataclass(frozen=True)
class BoardMatch:
    """A catalog board whose USB id a port carries, and in which mode that id means."""

    board: str
    mode: str
    shared: bool = False
    note: str = ""


@dataclass(frozen=True)
class DetectedPort:
    """One serial port as the operating system reports it, plus the boards it looks like."""

    device: str
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    description: str = ""
    manufacturer: str | None = None
    matches: tuple[BoardMatch, ...] = field(default_factory=tuple)

    @property
    def usb_id(self) -> str:
        if self.vid is None or self.pid is None:
            return ""
        return f"{self.vid:04x}:{self.pid:04x}"

    @property
    def board(self) -> str | None:
        """The board this port most likely is (a specific id beats a shared one)."""
        ranked = sorted(self.matches, key=lambda match: match.shared)
        return ranked[0].board if ranked else None

    def match_for(self, board_name: str) -> BoardMatch | None:
        return next((match for match in self.matches if match.board == board_name), None)

    def looks_like(self) -> str:
        """Human description of what the port seems to be."""
        if not self.matches:
            return "an unknown device" if self.usb_id else "a port without USB ids"
        names = sorted({match.board for match in self.matches})
        generic = all(match.shared for match in self.matches)
        text = " or ".join(names)
        return f"possibly {text} (generic USB id shared by other devices)" if generic else text

    def to_dict(self) -> dict[str, object]:
        return {
            "device": self.device,
            "usb_id": self.usb_id or None,
            "vid": self.vid,
            "pid": self.pid,
            "serial_number": self.serial_number,
            "description": self.description,
            "manufacturer": self.manufacturer,
            "board": self.board,
            "matches": [match.__dict__ for match in self.matches],
        }


def _usb_boards(boards: Iterable[Board] | None) -> list[Board]:
    return [board for board in (list_boards() if boards is None else boards) if board.usb]


def identify(vid: int | None, pid: int | None, boards: Iterable[Board] | None = None) -> tuple[BoardMatch, ...]:
    """Every catalog board that uses this USB VID:PID, with the mode it indicates."""
    if vid is None or pid is None:
        return ()
    found = []
    for board in _usb_boards(boards):
        usb_id = board.usb_matches(vid, pid)
        if usb_id is not None:
            found.append(BoardMatch(board.name, usb_id.mode, usb_id.shared, usb_id.note))
    return tuple(found)


def list_ports(
    raw_ports: Iterable[ListPortInfo] | None = None, boards: Iterable[Board] | None = None
) -> list[DetectedPort]:
    """The serial ports present (or `raw_ports`, e.g. hand-made descriptors in tests), each
    with the catalog boards its USB id belongs to, sorted by device name."""
    board_list = _usb_boards(boards)
    raw = list(pyserial_list_ports.comports() if raw_ports is None else raw_ports)
    detected = [
        DetectedPort(
            device=info.device,
            vid=info.vid,
            pid=info.pid,
            serial_number=info.serial_number,
            description=info.description if info.description not in (None, "n/a") else "",
            manufacturer=info.manufacturer,
            matches=identify(info.vid, info.pid, board_list),
        )
        for info in raw
    ]
    return sorted(detected, key=lambda port: port.device)


# --------------------------------------------------------------------------- choosing


def choose_port(
    board: Board | str,
    port: str | None = None,
    force: bool = False,
    allow_bootloader: bool = False,
    raw_ports: Iterable[ListPortInfo] | None = None,
) -> str:
    """The port to talk to `board` on: `port` if given (checked not to be another board's,
    unless `force`), else the one port that carries the board's USB id in application mode.
    A board found only in its bootloader is explained, unless `allow_bootloader` (flashing)."""
    target = get_board(board) if isinstance(board, str) else board
    if port is not None and "://" in port:
        return port  # socket://, rfc2217://: not a local USB device, nothing to match
    if not target.usb:
        if port is not None:
            return port
        raise DeviceError(
            f"board '{target.name}' is not reached over a USB serial port (upload method: {target.upload.method})",
            hint="pass --port explicitly if you connected it through a USB-serial adapter",
        )
    ports = list_ports(raw_ports)
    if port is not None:
        return _check_given_port(target, port, ports, force, allow_bootloader)
    return _find_board_port(target, ports, allow_bootloader)


def _same_device(a: str, b: str) -> bool:
    return a == b or os.path.realpath(a) == os.path.realpath(b)


def _check_given_port(
    target: Board, port: str, ports: list[DetectedPort], force: bool, allow_bootloader: bool
) -> str:
    detected = next((item for item in ports if _same_device(item.device, port)), None)
    if detected is None:
        if not os.path.exists(port):
            raise DeviceError(f"serial port {port} does not exist", hint=_not_found_hint(target, ports))
        return port  # a pty or a port without USB ids: the user knows what it is
    own = detected.match_for(target.name)
    if own is None and detected.matches and not force:
        raise DeviceError(
            f"port {port} ({detected.usb_id}) looks like {detected.looks_like()}, not {target.name}",
            hint=f"plug in the {target.title} and pick its port (`kit ports`), "
            f"or add --force if this port really is the {target.name} (e.g. custom USB ids)",
        )
    if own is not None and own.mode == "bootloader" and not allow_bootloader:
        raise _bootloader_error(target, detected)
    return port


def _find_board_port(target: Board, ports: list[DetectedPort], allow_bootloader: bool) -> str:
    matched = [(item, match) for item in ports if (match := item.match_for(target.name)) is not None]
    running = [(item, match) for item, match in matched if match.mode == "app"]
    booting = [(item, match) for item, match in matched if match.mode == "bootloader"]
    usable = running + booting if allow_bootloader else running
    specific = [item for item, match in usable if not match.shared]
    pick_from = specific or [item for item, _ in usable]
    if len(pick_from) == 1:
        return pick_from[0].device
    if len(pick_from) > 1:
        listing = ", ".join(f"{item.device} ({item.usb_id})" for item in pick_from)
        raise DeviceError(
            f"several ports look like {target.name}: {listing}",
            hint="choose one with --port (unplug the others, or see `kit ports`)",
        )
    if booting:
        raise _bootloader_error(target, booting[0][0])
    raise DeviceError(f"no {target.name} found on any serial port", hint=_not_found_hint(target, ports))


def _bootloader_error(target: Board, detected: DetectedPort) -> DeviceError:
    return DeviceError(
        f"{target.name} on {detected.device} is in its bootloader ({detected.usb_id}), not running a program",
        hint=target.bootloader_hint or "press the reset button once to start the program, or flash it now",
    )


def _not_found_hint(target: Board, ports: list[DetectedPort]) -> str:
    expected = ", ".join(f"{usb_id.label} ({usb_id.mode})" for usb_id in target.usb)
    present = "; ".join(f"{item.device} = {item.looks_like()}" for item in ports) or "no serial ports at all"
    return (
        f"plug the {target.title} in with a DATA USB cable (charge-only cables show no port) and check "
        f"`kit ports`; it shows up as {expected}. Ports seen now: {present}. "
        + (target.bootloader_hint + ". " if target.bootloader_hint else "")
        + "On Linux, `dmesg -w` while plugging in shows whether the board enumerates."
    )


# --------------------------------------------------------------------------- open checks


@dataclass(frozen=True)
class PortHolder:
    """A process that has a serial port open."""

    pid: int
    name: str
    command: str

    def describe(self) -> str:
        mine = " - this process" if self.pid == os.getpid() else ""
        return f"{self.name} (pid {self.pid}{mine}: {self.command})"


def _proc_name(pid: int) -> tuple[str, str]:
    base = Path("/proc") / str(pid)
    try:
        name = (base / "comm").read_text().strip()
    except OSError:
        name = "?"
    try:
        command = (base / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        command = ""
    return name, command or name


def port_holders(path: str, ignore_pids: Iterable[int] = ()) -> list[PortHolder]:
    """Processes that have `path` open, found by scanning /proc/*/fd (the processes this
    user may inspect), with `fuser` as a fallback."""
    target = os.path.realpath(path)
    ignored = set(ignore_pids)
    pids = _scan_proc_fds(target)
    if not pids:
        pids = _fuser_pids(target)
    holders = []
    for pid in sorted(pids - ignored):
        name, command = _proc_name(pid)
        holders.append(PortHolder(pid, name, command))
    return holders


def _scan_proc_fds(target: str) -> set[int]:
    return pids_with_open(frozenset({target}))


def pids_with_open(targets: frozenset[str]) -> set[int]:
    """Processes (that this user may inspect) with an open file descriptor whose link is one
    of `targets` (a device path, or `socket:[INODE]`)."""
    found: set[int] = set()
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                try:
                    if os.readlink(fd) in targets:
                        found.add(int(entry.name))
                        break
                except OSError:
                    continue
        except OSError:
            continue
    return found


def _fuser_pids(target: str) -> set[int]:
    fuser = shutil.which("fuser")
    if fuser is None:
        return set()
    try:
        result = subprocess.run([fuser, target], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return set()
    return {int(token.rstrip("cefFrm")) for token in result.stdout.split() if token.rstrip("cefFrm").isdigit()}


def _device_group(path: str) -> str:
    try:
        import grp

        return grp.getgrgid(os.stat(path).st_gid).gr_name
    except (KeyError, OSError, ImportError):
        return "dialout"


def permission_error(path: str) -> DeviceError:
    """The error for a port this user may not open, with the group fix."""
    group = _device_group(path)
    hint = DIALOUT_HINT if group in ("dialout", "uucp", "root") else DIALOUT_HINT.replace("dialout $USER", f"{group} $USER")
    return DeviceError(f"permission denied opening {path} (the port belongs to group '{group}')", hint=hint)


def busy_error(path: str, holders: list[PortHolder]) -> DeviceError:
    """The error for a port another program holds, naming that program when known."""
    who = "; ".join(holder.describe() for holder in holders) if holders else "another program"
    kill = f" (or `kill {holders[0].pid}`)" if holders else ""
    return DeviceError(
        f"port {path} is already in use by {who}",
        hint="close that program (serial monitor, Arduino IDE, another `kit bench`)" + kill
        + ", or `kit stop` if kit started it",
    )


def port_error(path: str, error: BaseException, ignore_pids: Iterable[int] = ()) -> DeviceError:
    """Map an OS error from opening `path` to a DeviceError that says what to do."""
    code = getattr(error, "errno", None)
    text = str(error).lower()
    if isinstance(error, PermissionError) or code == errno.EACCES or "permission denied" in text:
        return permission_error(path)
    if code in (errno.EBUSY, errno.EAGAIN) or "busy" in text or "exclusively lock" in text:
        return busy_error(path, port_holders(path, ignore_pids))
    if isinstance(error, FileNotFoundError) or code == errno.ENOENT:
        return DeviceError(f"serial port {path} does not exist", hint="check the name with `kit ports` and that the board is plugged in")
    return DeviceError(f"cannot open {path}: {error}", hint="check the port name (`kit ports`) and the cable")


def open_checks(path: str, ignore_pids: Iterable[int] | None = None) -> None:
    """Raise a DeviceError with the fix if `path` cannot be used: missing, not permitted for
    this user, or held open by another process (two readers would steal each other's
    bytes). Processes in `ignore_pids` (default: this one) do not count as holders. Does not
    open the port, so it never toggles DTR/RTS (which resets some boards)."""
    if "://" in path:
        return
    ignored = {os.getpid()} if ignore_pids is None else set(ignore_pids)
    if not os.path.exists(path):
        raise DeviceError(f"serial port {path} does not exist", hint="check the name with `kit ports` and that the board is plugged in")
    if not os.access(path, os.R_OK | os.W_OK):
        raise permission_error(path)
    holders = port_holders(path, ignored)
    if holders:
        raise busy_error(path, holders)


__all__ = [
    "BoardMatch", "DetectedPort", "PortHolder", "busy_error", "choose_port", "identify",
    "list_ports", "open_checks", "permission_error", "port_error", "port_holders",
]
