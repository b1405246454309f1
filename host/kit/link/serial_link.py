"""A Link over anything pyserial can open: `/dev/tty*`, ptys, `socket://`, `rfc2217://`."""

from __future__ import annotations

from typing import Any

import serial

from kit.errors import DeviceError
from kit.link import ports
from kit.link.base import Link, LinkClosed

DEFAULT_BAUD = 115200

try:  # a pty whose other end closed fails inside termios calls with termios.error
    import termios

    _PORT_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError, termios.error)
except ImportError:  # Windows
    _PORT_ERRORS = (serial.SerialException, OSError)


class SerialLink(Link):
    """A pyserial port opened with `serial_for_url`; local tty devices are locked exclusively."""

    def __init__(self, url: str, baudrate: int = DEFAULT_BAUD) -> None:
        super().__init__(description=url)
        self.url = url
        _run_port_checks(url)
        self._port = _open_port(url, baudrate)

    def _read_some(self, timeout: float) -> bytes:
        try:
            if self._port.timeout != timeout:
                self._port.timeout = timeout
            waiting = self._port.in_waiting
            return self._port.read(max(1, min(waiting, 4096)))
        except _PORT_ERRORS as error:
            raise _closed(self.url, error) from None

    def _write_all(self, data: bytes) -> None:
        try:
            self._port.write(data)
            self._port.flush()
        except _PORT_ERRORS as error:
            raise _closed(self.url, error) from None

    def _close_transport(self) -> None:
        try:
            self._port.close()
        except _PORT_ERRORS:
            pass


def _is_network_url(url: str) -> bool:
    return "://" in url and not url.startswith("file://")


def _open_port(url: str, baudrate: int) -> serial.SerialBase:
    options: dict[str, Any] = {"baudrate": baudrate, "timeout": 0.1, "write_timeout": 10}
    if not _is_network_url(url):
        options["exclusive"] = True
    if url.startswith("rfc2217://"):
        del options["write_timeout"]  # pyserial's rfc2217 client raises NotImplementedError on it
    try:
        return serial.serial_for_url(url, **options)
    except (serial.SerialException, OSError, ValueError) as error:
        raise open_error(url, error) from None


def open_error(url: str, error: BaseException) -> DeviceError:
    """Turn pyserial's open failure into a message that names the cause and its fix: a local
    port's errors are kit.link.ports' (permissions, the process holding it, missing port)."""
    if not _is_network_url(url):
        return ports.port_error(url, error)
    text = str(error)
    if "connection refused" in text.lower():
        return DeviceError(
            f"nothing is listening at {url} (connection refused)",
            hint="start the board first (`kit flash BOARD LAB`), or check the host and port",
        )
    return DeviceError(f"cannot open {url}: {text}", hint="check the host and port, and that the board is running")


def _closed(url: str, error: BaseException) -> LinkClosed:
    return LinkClosed(
        f"the connection to {url} was lost ({error})",
        hint="the board was reset, unplugged or the emulator stopped; flash or start it again",
    )


def _run_port_checks(url: str) -> None:
    """A local port's open checks (missing, permissions, held by another process) before
    opening it, so the error names the fix."""
    if not _is_network_url(url):
        ports.open_checks(url)
