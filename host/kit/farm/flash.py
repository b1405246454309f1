"""Flashing a farm board where it is plugged in, the labgrid way: tools run on the exporter's
host over SSH (labgrid's drivers put a `ssh HOST --` prefix before the tool and copy images
there first; kit does the same with the system OpenSSH client, kit.deploy.ssh).

A twin: the firmware kit built here goes over SSH on the stdin of `kit farm reflash` on the
exporter host, which checks its sha256 and asks the running `kit farm export` (its control
socket) to restart that twin on it, on the same TCP port, and to handshake. A real board:
`kit flash BOARD LAB --port PATH` runs on its host against the device labgrid's exporter
publishes for it (`extra.path`), building there. Either way the bench then checks the model's
sha256 over the network serial port itself.

Every remote command is an argument list quoted with shlex; the host comes from the place's
`ssh_host` tag and must look like HOST or USER@HOST (kit.deploy.ssh.SshTarget refuses others).
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from kit.errors import KitError
from kit.farm.coordinator import FarmError, Place

MAX_FIRMWARE_BYTES = 64 * 1024 * 1024
SSH_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class SshOptions:
    """How the bench reaches exporter hosts (the rest comes from ~/.ssh/config)."""

    ssh_config: Path | None = None
    identity: Path | None = None
    known_hosts: Path | None = None
    accept_new_host_key: bool = False
    remote_kit: str | None = None


def ssh_target(place: Place, options: SshOptions) -> Any:
    from kit.deploy.ssh import SshTarget

    host = place.tags.get("ssh_host", "")
    if not host:
        raise FarmError(f"place {place.name!r} does not say how to reach its exporter's host (no ssh_host tag)",
                        hint="restart `kit farm export` there with this kit, or flash the board on its host "
                             "and bench with --flash never")
    return SshTarget(host, identity=options.identity, known_hosts=options.known_hosts, ssh_config=options.ssh_config,
                     accept_new_host_key=options.accept_new_host_key)


def remote_kit(place: Place, options: SshOptions) -> list[str]:
    """The words that run kit on the exporter host: --remote-kit, else the exporter's kit_cmd tag."""
    text = options.remote_kit or place.tags.get("kit_cmd") or "kit"
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise FarmError(f"cannot read the remote kit command {text!r}: {error}",
                        hint="pass --remote-kit 'PATH/TO/.venv/bin/kit'") from None
    if not words:
        raise FarmError("the remote kit command is empty", hint="pass --remote-kit 'PATH/TO/.venv/bin/kit'")
    return words


def twin_reflash_argv(kit: list[str], exporter: str, group: str, model_sha256: str, firmware_sha256: str,
                      lab: str) -> list[str]:
    return [*kit, "farm", "reflash", "--exporter", exporter, "--group", group, "--model-sha256", model_sha256,
            "--firmware-sha256", firmware_sha256, "--lab", lab]


def board_flash_argv(kit: list[str], board: str, lab: str, device: str) -> list[str]:
    return [*kit, "flash", board, lab, "--port", device]


def flash_place(place: Place, lab: str, model_sha256: str, firmware: Path | None, options: SshOptions) -> str:
    """Flash `place`'s board through its exporter host; returns what ran there (for the log).
    `firmware` is the twin ELF built here (None for a real board, which its host builds)."""
    from kit.deploy import ssh

    resource = place.serial
    if resource is None:
        raise FarmError(f"place {place.name!r} has no serial resource online (its exporter is gone?)",
                        hint="`kit farm list` shows which places answer")
    target = ssh_target(place, options)
    kit = remote_kit(place, options)
    if place.tags.get("runs_on"):
        if firmware is None:
            raise FarmError(f"no twin firmware was built for place {place.name!r}", hint="report this as a kit bug")
        data = firmware.read_bytes()
        argv = twin_reflash_argv(kit, resource.exporter, resource.group, model_sha256,
                                 hashlib.sha256(data).hexdigest(), lab)
    else:
        device = str((resource.params.get("extra") or {}).get("path") or "")
        if not device.startswith("/dev/"):
            raise FarmError(f"the exporter of place {place.name!r} does not publish the board's device path",
                            hint=f"flash it on {target.hostname}: `kit flash {place.board} {lab}`, then bench with "
                                 "--flash never")
        data = b""
        argv = board_flash_argv(kit, place.board, lab, device)
    remote = ssh.quote_command(argv)
    result = ssh.run(target, remote, stdin=data, timeout_s=SSH_TIMEOUT_S)
    if result.returncode != 0:
        ssh.raise_for_remote_failure(target, f"flashing place {place.name!r}", result.stderr.decode(errors="replace"))
    return remote


def reflash_here(exporter: str, group: str, model_sha256: str, firmware_sha256: str, lab: str,
                 stdin: IO[bytes]) -> int:
    """`kit farm reflash` on the exporter host: store the firmware read from `stdin` (checked
    against `firmware_sha256`), hand it to the running exporter; the restarted twin's pid."""
    from kit.farm.export import ask_exporter, incoming_dir

    if not re.fullmatch(r"[0-9a-f]{64}", firmware_sha256):
        raise KitError("--firmware-sha256 must be 64 lowercase hex digits", hint="pass the sha256 of the firmware")
    data = stdin.read(MAX_FIRMWARE_BYTES + 1)
    if len(data) > MAX_FIRMWARE_BYTES:
        raise KitError(f"the firmware on stdin is larger than {MAX_FIRMWARE_BYTES} bytes", hint="send a twin ELF")
    if hashlib.sha256(data).hexdigest() != firmware_sha256:
        raise KitError(f"the firmware arrived damaged or cut short ({len(data)} bytes, sha256 differs)",
                       hint="run the bench again; check the SSH connection")
    path = incoming_dir() / f"{firmware_sha256}.elf"
    scratch = path.with_suffix(".part")
    scratch.write_bytes(data)
    scratch.replace(path)
    reply = ask_exporter(exporter, {"group": group, "firmware": str(path), "model_sha256": model_sha256, "lab": lab})
    if not reply.get("ok"):
        raise FarmError(f"exporter {exporter!r} could not restart twin {group!r}: {reply.get('error')}",
                        hint=reply.get("hint") or "see the exporter's log")
    return int(reply["pid"])
