"""The SSH transport to a Linux board, through the system OpenSSH client.

Why the system `ssh`: it already honours `~/.ssh/config`, agents, jump hosts and
known_hosts exactly as the student's own terminal does, and it never asks kit to handle a
password. Every call passes an argument LIST (no local shell); the remote command is one
string whose every piece went through `shlex.quote`. `BatchMode=yes` means key
authentication only: ssh fails instead of prompting, so no password can be typed into, or
logged by, kit. Host keys are always checked (`StrictHostKeyChecking=yes`) unless the user
explicitly asks to accept a NEW key (`accept-new`, which still refuses a CHANGED key).
"""

from __future__ import annotations

import io
import queue
import re
import shlex
import shutil
import subprocess
import tarfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator, Sequence

from kit.errors import DeviceError, KitError, ToolMissingError

# user@host, host, user@[v6::addr]; never a leading '-' (it would be read as an ssh option).
_HOST_PATTERN = re.compile(r"^(?:[A-Za-z0-9._][A-Za-z0-9._-]*@)?(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.%]+\])$")
# How tar, pip, mkdir and the shell say "disk full" (GNU tar reports a short write on ENOSPC).
_DISK_FULL_SIGNS = ("No space left on device", "Disk quota exceeded", "[Errno 28]")
_SHORT_WRITE = re.compile(r"Wrote only \d+ of \d+ bytes")
SSH_FAILED = 255  # ssh's own exit status for connection, host key and authentication failures
STDERR_TAIL_LINES = 200  # stderr lines kept for a failing streamed command's error message


class SshError(DeviceError):
    """The remote board cannot be reached, or refuses us, over SSH."""


class RemoteDiskFullError(DeviceError):
    """The remote file system has no room for the model, the runner or the venv."""


@dataclass(frozen=True)
class SshTarget:
    """Where and how to reach one board: everything that ends up on the ssh command line."""

    host: str
    port: int | None = None
    identity: Path | None = None
    known_hosts: Path | None = None
    ssh_config: Path | None = None
    accept_new_host_key: bool = False
    connect_timeout_s: int = 10

    def __post_init__(self) -> None:
        if not _HOST_PATTERN.match(self.host):
            raise KitError(
                f"--host {self.host!r} is not a valid USER@HOST or HOST",
                hint="write it like pi@raspberrypi.local or pi@192.168.1.42 (letters, digits, '.', '-', '_')",
            )
        if self.port is not None and not 0 < self.port < 65536:
            raise KitError(f"--ssh-port {self.port} is out of range", hint="use a TCP port between 1 and 65535 (SSH's default is 22)")
        for label, path in (("--identity", self.identity), ("--known-hosts", self.known_hosts), ("--ssh-config", self.ssh_config)):
            if path is not None and label != "--known-hosts" and not Path(path).is_file():
                raise KitError(f"{label} file {path} does not exist", hint=f"check the path given to {label}")

    @property
    def hostname(self) -> str:
        """The host part alone (for messages and ssh-keyscan)."""
        return self.host.rsplit("@", 1)[-1].strip("[]")

    def base_command(self) -> list[str]:
        """`ssh` plus the options every call uses; the destination comes after `--`."""
        ssh = shutil.which("ssh")
        if ssh is None:
            raise ToolMissingError(
                "the OpenSSH client `ssh` is not installed",
                hint="install it: sudo apt-get install openssh-client (macOS and Windows 10+ ship it)",
            )
        command = [ssh]
        if self.ssh_config is not None:
            command += ["-F", str(self.ssh_config)]
        command += [
            "-o", "BatchMode=yes",
            "-o", f"StrictHostKeyChecking={'accept-new' if self.accept_new_host_key else 'yes'}",
            "-o", f"ConnectTimeout={self.connect_timeout_s}",
            "-o", "LogLevel=ERROR",
        ]
        if self.known_hosts is not None:
            command += ["-o", f"UserKnownHostsFile={self.known_hosts}"]
        if self.identity is not None:
            command += ["-i", str(self.identity), "-o", "IdentitiesOnly=yes"]
        if self.port is not None:
            command += ["-p", str(self.port)]
        return command

    def command(self, remote: str) -> list[str]:
        """The full argument list running `remote` (a POSIX sh script, every piece quoted) on the board.

        Wrapped in `sh -c` so the script means the same whatever the login shell (bash, zsh, fish)."""
        return [*self.base_command(), "--", self.host, f"sh -c {shlex.quote(remote)}"]


def quote_command(argv: Sequence[str | Path]) -> str:
    """One remote shell command from an argument list, every argument quoted."""
    return shlex.join(str(arg) for arg in argv)


def run(target: SshTarget, remote: str, *, stdin: bytes | None = None, timeout_s: float = 600) -> subprocess.CompletedProcess[bytes]:
    """Run a remote command to completion; ssh-level failures become clear KitErrors."""
    try:
        result = subprocess.run(target.command(remote), input=stdin, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as error:
        raise SshError(
            f"the command on {target.host} did not finish within {timeout_s:.0f} s",
            hint="check that the board is still on the network and not overloaded, then try again",
        ) from error
    if result.returncode == SSH_FAILED:
        raise_for_ssh_failure(target, result.stderr.decode(errors="replace"))
    return result


# A streamed line longer than this is cut: a board printing without newlines cannot grow
# kit's memory without bound.
MAX_STREAM_LINE_BYTES = 64 * 1024
_END = object()


class StreamTimeout(DeviceError):
    """A streamed remote command went silent, or ran past its overall deadline."""


def stream_lines(target: SshTarget, remote: str, exit_errors: dict[int, KitError] | None = None, *,
                 silence_s: float = 120.0, deadline_s: float = 3600.0) -> Iterator[str]:
    """Yield the remote command's stdout line by line AS IT ARRIVES (used by the bench).

    Bounded in time: no line for `silence_s`, or `deadline_s` in all, ends the command with
    a StreamTimeout (the caller has already stored what arrived). After the lines it printed:
    an SshError for ssh failures, `exit_errors[status]` for the statuses the caller knows,
    else a DeviceError with the command's last stderr lines.
    """
    process = subprocess.Popen(target.command(remote), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    drain = threading.Thread(target=_drain_lines, args=(process.stderr, stderr_tail), daemon=True)
    drain.start()
    lines: queue.Queue[object] = queue.Queue(maxsize=1024)
    reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True)
    reader.start()
    end = time.monotonic() + deadline_s
    try:
        while True:
            wait = min(silence_s, end - time.monotonic())
            try:
                item = lines.get(timeout=max(wait, 0.0))
            except queue.Empty:
                raise _stream_timeout(target, silence_s, deadline_s, overall=time.monotonic() >= end) from None
            if item is _END:
                break
            yield str(item)
        returncode = process.wait(timeout=30)
        drain.join(timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = "\n".join(stderr_tail)
    if returncode == SSH_FAILED:
        raise_for_ssh_failure(target, stderr)
    if returncode != 0 and exit_errors and returncode in exit_errors:
        raise exit_errors[returncode]
    if returncode != 0:
        raise_for_remote_failure(target, "the runner", stderr)


def _stream_timeout(target: SshTarget, silence_s: float, deadline_s: float, overall: bool) -> StreamTimeout:
    if overall:
        return StreamTimeout(f"the command on {target.host} was still running after {deadline_s:.0f} s: stopped it",
                             hint="ask for fewer runs (--runs), or check what the board is doing")
    return StreamTimeout(f"the command on {target.host} printed nothing for {silence_s:.0f} s: stopped it",
                         hint="check the board (is it overheating or out of memory? `dmesg` on the board), then run again")


def _read_lines(stream: IO[bytes], lines: "queue.Queue[object]") -> None:
    """Lines of `stream` (each cut at MAX_STREAM_LINE_BYTES) into `lines`, then _END."""
    try:
        while True:
            raw = stream.readline(MAX_STREAM_LINE_BYTES)
            if not raw:
                break
            lines.put(raw.decode(errors="replace").rstrip("\r\n"))
    finally:
        lines.put(_END)


def _drain_lines(stream: IO[bytes], tail: deque[str]) -> None:
    """Read `stream` to its end, keeping its last lines in `tail` (a bounded deque), so a
    chatty stderr never fills its pipe and stalls the remote command."""
    for raw in stream:
        tail.append(raw.decode(errors="replace").rstrip("\r\n"))


def push_files(target: SshTarget, remote_dir: str, files: dict[str, bytes]) -> None:
    """Copy files into `remote_dir` (created if missing) in one connection, via a tar stream."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name.endswith(".py") else 0o644
            archive.addfile(info, io.BytesIO(data))
    remote = f"mkdir -p {shlex.quote(remote_dir)} && tar -x -m -C {shlex.quote(remote_dir)} -f -"
    result = run(target, remote, stdin=buffer.getvalue())
    if result.returncode != 0:
        raise_for_remote_failure(target, f"copying files to {remote_dir}", result.stderr.decode(errors="replace"))


def raise_for_remote_failure(target: SshTarget, what: str, stderr: str) -> None:
    """A command ran on the board but failed: map the causes a user can fix, else show its words."""
    if any(sign in stderr for sign in _DISK_FULL_SIGNS) or _SHORT_WRITE.search(stderr):
        raise RemoteDiskFullError(
            f"the disk of {target.host} is full ({what} failed: No space left on device)",
            hint="free some space on the board (e.g. `sudo apt-get clean`, delete old files; check with `df -h ~`) and run the command again",
        )
    tail = "\n".join(line for line in stderr.strip().splitlines()[-8:])
    raise DeviceError(
        f"{what} failed on {target.host}:\n{tail or '(no error output)'}",
        hint="read the remote error above; run the same step by hand over `ssh` to investigate",
    )


def raise_for_ssh_failure(target: SshTarget, stderr: str) -> None:
    """Turn ssh's own failure (exit status 255) into a message that says what to do."""
    host, where = target.hostname, target.host + (f" port {target.port}" if target.port else "")
    text = stderr.lower()
    known_hosts = str(target.known_hosts) if target.known_hosts else "~/.ssh/known_hosts"
    port_flag = f"-p {target.port} " if target.port else ""
    if "remote host identification has changed" in text or "host key for" in text and "has changed" in text:
        raise SshError(
            f"the host key of {where} has CHANGED since it was recorded in {known_hosts}; "
            "this happens after re-flashing the SD card, or when someone intercepts the connection",
            hint=(
                f"if you re-flashed the board, remove the old key with `ssh-keygen -f {known_hosts} -R {host}` "
                "(use \"[HOST]:PORT\" for a non-standard port) and connect again; otherwise do not connect"
            ),
        )
    if "host key verification failed" in text or "no " in text and "host key is known" in text:
        raise SshError(
            f"{where} is not in your known hosts ({known_hosts}) yet, so its identity cannot be checked (first contact)",
            hint=(
                f"print its key with `ssh-keyscan {port_flag}{host} | ssh-keygen -lf -`, compare the fingerprint with the one the "
                "board shows (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the board), then connect once with "
                f"`ssh {port_flag}{target.host}` and answer yes, or rerun kit with --accept-new-host-key to trust it on first use"
            ),
        )
    if "permission denied" in text or "too many authentication failures" in text:
        raise SshError(
            f"{where} refused our key (authentication failed; kit never uses passwords)",
            hint=(
                f"install your public key on the board with `ssh-copy-id {port_flag}{target.host}` "
                "(or pass the right key with --identity KEYFILE), then check that `ssh "
                f"{port_flag}{target.host} true` works without a password"
            ),
        )
    if "could not resolve hostname" in text or "name or service not known" in text or "temporary failure in name resolution" in text:
        raise SshError(
            f"cannot resolve the host name {host!r}",
            hint="check the spelling; for raspberrypi.local, mDNS must work on your network — otherwise use the board's IP address (shown by `hostname -I` on the board)",
        )
    unreachable = ("connection refused", "no route to host", "network is unreachable", "connection timed out", "operation timed out", "connection reset", "connection closed")
    if any(phrase in text for phrase in unreachable):
        reason = next(phrase for phrase in unreachable if phrase in text)
        raise SshError(
            f"cannot reach {where}: {reason}",
            hint=(
                "check that the board is powered, on the same network, and has SSH enabled "
                "(Raspberry Pi Imager: OS customisation > Services > Enable SSH, or `sudo raspi-config`), "
                "and that the address and --ssh-port are right"
            ),
        )
    raise SshError(
        f"ssh to {where} failed: {stderr.strip() or 'no message'}",
        hint=f"try `ssh {port_flag}{target.host} true` in a terminal to see the problem",
    )
