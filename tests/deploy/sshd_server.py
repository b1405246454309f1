"""A real OpenSSH server on 127.0.0.1 playing the Raspberry Pi (helpers for tests/deploy).

Debian's /usr/sbin/sshd runs in the foreground (`-D -e`) with its own config, host key and
one authorized client key, all in a temp folder. The "Pi" is this machine: the runner runs
under the laptop's own .venv python (which has the x86_64 LiteRT wheel) with `--no-venv`.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kit.deploy import SshTarget

SSHD = Path("/usr/sbin/sshd")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kit-test", "-f", str(path)], check=True)
    return path


@dataclass
class SshServer:
    """One running sshd and everything a client needs to reach it."""

    folder: Path
    port: int
    client_key: Path
    known_hosts: Path
    ssh_config: Path
    process: subprocess.Popen | None = None
    log: list[str] = field(default_factory=list)

    def target(self, **overrides) -> SshTarget:
        settings = dict(host="root@127.0.0.1", port=self.port, identity=self.client_key, known_hosts=self.known_hosts, ssh_config=self.ssh_config)
        settings.update(overrides)
        return SshTarget(**settings)

    def cli_args(self) -> list[str]:
        return ["--host", "root@127.0.0.1", "--ssh-port", str(self.port), "--identity", str(self.client_key),
                "--known-hosts", str(self.known_hosts), "--ssh-config", str(self.ssh_config)]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_sshd(folder: Path, extra_config: str = "") -> SshServer:
    """Start sshd on a free loopback port and wait until it accepts connections."""
    if not SSHD.exists() or shutil.which("ssh") is None:
        pytest.skip("openssh-server / openssh-client not installed (deps/apt-packages.txt)")
    folder.mkdir(parents=True, exist_ok=True)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder (the service normally creates it)
    host_key = keygen(folder / "host_key")
    client_key = keygen(folder / "client_key")
    (folder / "authorized_keys").write_text(Path(f"{client_key}.pub").read_text())
    port = free_port()
    config = folder / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nAuthorizedKeysFile {folder / 'authorized_keys'} .ssh/authorized_keys\n"
        f"PidFile {folder / 'sshd.pid'}\nUsePAM no\nStrictModes no\nPermitRootLogin yes\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nLogLevel ERROR\n" + extra_config
    )
    known_hosts = folder / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {Path(f'{host_key}.pub').read_text().split(' kit-test')[0]}\n")
    ssh_config = folder / "ssh_config"
    ssh_config.write_text("Host *\n  ServerAliveInterval 5\n")
    process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = SshServer(folder=folder, port=port, client_key=client_key, known_hosts=known_hosts, ssh_config=ssh_config, process=process)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited: {process.stderr.read().decode(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError("sshd did not start listening")


def local_litert_output(model: Path):
    """The same model on the runner's fixed input, run here with LiteRT: what the board must print."""
    from ai_edge_litert.interpreter import Interpreter

    from kit.deploy.pi_runner import sample_input

    interpreter = Interpreter(model_path=str(model), num_threads=1)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], sample_input(tuple(detail["shape"]), detail["dtype"]))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).reshape(-1)
