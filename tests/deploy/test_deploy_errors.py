"""Every failure a student can hit with a Pi, provoked for real against the loopback sshd."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from kit.cli import main
from kit.deploy import RemoteLayout, RemotePython, bench_pi, deploy_lab
from kit.deploy.ssh import RemoteDiskFullError, SshError, push_files
from kit.errors import DeviceError, KitError

from sshd_server import free_port, keygen, start_sshd


def deploy_kws(target, mlperf_models, remote_root, python: RemotePython):
    return deploy_lab("raspberry-pi-5", "kws", target, model=mlperf_models["kws_ref_model"], layout=RemoteLayout(remote_root), python=python)


@pytest.fixture
def pi_python(laptop_python) -> RemotePython:
    return RemotePython(laptop_python, use_venv=False)


def test_unreachable_port_says_cannot_reach(sshd, mlperf_models, remote_root, pi_python, clean_env):
    with pytest.raises(SshError, match="cannot reach root@127.0.0.1 port [0-9]+: connection refused") as caught:
        deploy_kws(sshd.target(port=free_port()), mlperf_models, remote_root, pi_python)
    assert "Enable SSH" in caught.value.hint


def test_unknown_host_name_says_cannot_resolve(sshd, mlperf_models, remote_root, pi_python, clean_env):
    with pytest.raises(SshError, match="cannot resolve the host name 'no-such-pi.invalid'"):
        deploy_kws(sshd.target(host="pi@no-such-pi.invalid"), mlperf_models, remote_root, pi_python)


def test_unauthorised_key_is_refused_without_password_prompt(sshd, mlperf_models, remote_root, pi_python, clean_env, tmp_path):
    stranger = keygen(tmp_path / "stranger")
    with pytest.raises(SshError, match="refused our key") as caught:
        deploy_kws(sshd.target(identity=stranger), mlperf_models, remote_root, pi_python)
    assert "ssh-copy-id" in caught.value.hint
    assert not Path(remote_root).exists()


def test_unknown_host_key_explains_first_contact_then_accept_new_trusts_it(sshd, mlperf_models, remote_root, pi_python, clean_env, tmp_path):
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    with pytest.raises(SshError, match="not in your known hosts") as caught:
        deploy_kws(sshd.target(known_hosts=known_hosts), mlperf_models, remote_root, pi_python)
    assert "ssh-keyscan" in caught.value.hint and "--accept-new-host-key" in caught.value.hint
    assert known_hosts.read_text() == ""
    result = deploy_kws(sshd.target(known_hosts=known_hosts, accept_new_host_key=True), mlperf_models, remote_root, pi_python)
    assert result.smoke["runtime"] == "ai_edge_litert"
    assert f"[127.0.0.1]:{sshd.port}" in known_hosts.read_text()


def test_changed_host_key_is_refused_even_with_accept_new(sshd, mlperf_models, remote_root, pi_python, clean_env, tmp_path):
    impostor = keygen(tmp_path / "impostor")
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{sshd.port} {' '.join(Path(f'{impostor}.pub').read_text().split()[:2])}\n")
    with pytest.raises(SshError, match="has CHANGED") as caught:
        deploy_kws(sshd.target(known_hosts=known_hosts, accept_new_host_key=True), mlperf_models, remote_root, pi_python)
    assert "ssh-keygen -f" in caught.value.hint


def test_missing_python_on_board(sshd, mlperf_models, remote_root, clean_env):
    with pytest.raises(DeviceError, match="no Python 3 interpreter '/opt/none/python3'") as caught:
        deploy_kws(sshd.target(), mlperf_models, remote_root, RemotePython("/opt/none/python3"))
    assert "apt-get install -y python3 python3-venv" in caught.value.hint


def test_python_without_venv_module(sshd, mlperf_models, remote_root, clean_env, tmp_path):
    """A Debian-style python3 without python3-venv: ensurepip cannot be imported."""
    shadow = tmp_path / "shadow"
    (shadow / "ensurepip").mkdir(parents=True)
    (shadow / "ensurepip" / "__init__.py").write_text("raise ImportError('ensurepip is not available (python3-venv missing)')\n")
    wrapper = tmp_path / "python3-no-venv"
    wrapper.write_text(f"#!/bin/sh\nPYTHONPATH={shadow} exec /usr/bin/python3 \"$@\"\n")
    wrapper.chmod(0o755)
    with pytest.raises(DeviceError, match="cannot create virtual environments") as caught:
        deploy_kws(sshd.target(), mlperf_models, remote_root, RemotePython(str(wrapper)))
    assert "python3-venv" in caught.value.hint


def test_runner_without_any_runtime_says_so(sshd, mlperf_models, remote_root, clean_env):
    """Debian's python3 has neither numpy nor LiteRT: the runner reports it, kit says how to fix it."""
    with pytest.raises(DeviceError, match="numpy is not installed") as caught:
        deploy_kws(sshd.target(), mlperf_models, remote_root, RemotePython("/usr/bin/python3", use_venv=False))
    assert "kit deploy" in caught.value.hint


def test_32_bit_os_is_refused(tmp_path, mlperf_models, remote_root, pi_python, clean_env):
    """An sshd whose sessions see a `uname` reporting armv7l, like 32-bit Raspberry Pi OS."""
    fake_bin = tmp_path / "fakebin"
    fake_bin.mkdir()
    (fake_bin / "uname").write_text('#!/bin/sh\nif [ "$1" = "-m" ]; then echo armv7l; else exec /bin/uname "$@"; fi\n')
    (fake_bin / "uname").chmod(0o755)
    server = start_sshd(tmp_path / "sshd32", f'ForceCommand PATH={fake_bin}:$PATH; eval "$SSH_ORIGINAL_COMMAND"\n')
    try:
        with pytest.raises(DeviceError, match=r"32-bit operating system \(armv7l\)") as caught:
            deploy_kws(server.target(), mlperf_models, remote_root, pi_python)
        assert "64-bit Raspberry Pi OS" in caught.value.hint
        assert not (Path(remote_root) / "kws").exists()
    finally:
        server.stop()


@pytest.fixture
def tiny_disk(tmp_path):
    """A 512 KiB tmpfs (needs mount rights: the tests run as root)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount_point)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=False)


def test_disk_full_is_found_before_copying(sshd, mlperf_models, pi_python, tiny_disk, clean_env):
    with pytest.raises(RemoteDiskFullError, match="not enough disk space") as caught:
        deploy_kws(sshd.target(), mlperf_models, str(tiny_disk / "kit"), pi_python)
    assert "df -h" in caught.value.hint
    assert not (tiny_disk / "kit" / "kws").exists()


def test_disk_full_while_copying_is_named(sshd, tiny_disk, clean_env):
    with pytest.raises(RemoteDiskFullError, match="disk of root@127.0.0.1 is full"):
        push_files(sshd.target(), str(tiny_disk / "kit"), {"big.bin": bytes(700 * 1024)})


def test_remote_paths_are_never_shell_code(sshd, mlperf_models, pi_python, clean_env, tmp_path):
    marker = tmp_path / "injected"
    root = str(tmp_path / f"pi home; touch {marker}; $(touch {marker})")
    result = deploy_kws(sshd.target(), mlperf_models, root, pi_python)
    assert result.smoke["runtime"] == "ai_edge_litert"
    assert (Path(root) / "kws" / "model.tflite").is_file()
    assert not marker.exists()


def test_bench_of_a_lab_never_deployed(sshd, remote_root, pi_python, clean_env):
    with pytest.raises(KitError, match="lab kws is not deployed") as caught:
        bench_pi("raspberry-pi-5", sshd.target(), lab_name="kws", runs=3, layout=RemoteLayout(remote_root), python=pi_python)
    assert "kit deploy raspberry-pi-5 kws" in caught.value.hint


def test_cli_prints_error_and_fix_without_traceback(sshd, remote_root, clean_env):
    runner = CliRunner()
    result = runner.invoke(main, ["deploy", "raspberry-pi-5", "kws", "--host", "root@127.0.0.1", "--ssh-port", str(free_port()),
                                  "--identity", str(sshd.client_key), "--known-hosts", str(sshd.known_hosts), "--remote-dir", remote_root])
    assert result.exit_code == 2
    assert "error:" in result.output and "fix:" in result.output and "Traceback" not in result.output


def test_mcu_board_and_bad_host_are_refused_locally():
    from kit.deploy import SshTarget

    with pytest.raises(KitError, match="not a Linux board"):
        deploy_lab("nicla-vision", "kws", SshTarget("pi@raspberrypi.local"))
    with pytest.raises(KitError, match="not a valid USER@HOST"):
        SshTarget("-oProxyCommand=touch /tmp/x")
    with pytest.raises(KitError, match="not a valid USER@HOST"):
        SshTarget("pi@host;reboot")


def test_offline_deploy_without_a_python_tag_names_the_python_and_host():
    from kit.deploy import remote
    from kit.deploy.deploy import local_wheels
    from kit.errors import DeviceError

    info = remote.RemoteInfo(machine="aarch64", python="/usr/bin/python3", python_version=None, python_tag=None,
                             has_venv=True, has_pip=True, free_bytes=None)
    with pytest.raises(DeviceError, match="/usr/bin/python3 on pi@raspberrypi") as caught:
        local_wheels(info, None, offline=True, log=print, host="pi@raspberrypi")
    assert "--remote-python" in caught.value.hint


def test_streamed_command_with_a_flood_of_stderr_does_not_hang(monkeypatch):
    """More than a pipe's worth (64 KB) of stderr before any stdout: drained on the side."""
    import sys

    from kit.deploy import ssh
    from kit.errors import DeviceError

    script = ("import sys\nfor i in range(4000): sys.stderr.write(f'warning {i:05d} ' + 'x' * 40 + '\\n')\n"
              "sys.stderr.flush(); print('line one'); print('line two'); sys.exit(3)")
    monkeypatch.setattr(ssh.SshTarget, "command", lambda self, remote: [sys.executable, "-c", script])
    lines: list[str] = []
    with pytest.raises(DeviceError) as caught:
        for line in ssh.stream_lines(ssh.SshTarget("pi@raspberrypi"), "ignored"):
            lines.append(line)
    assert lines == ["line one", "line two"]
    assert "warning 03999" in str(caught.value) and "warning 00000" not in str(caught.value)


HOSTILE_RUNNERS = {
    # name: (the "runner" the board runs instead of kit's, what the error must say)
    "silent": ("import time; print('{\"type\": \"start\", \"runtime\": \"x\"}', flush=True); time.sleep(60)", "printed nothing for 4 s"),
    "noise_forever": ("import time\nprint('{\"type\": \"start\", \"runtime\": \"x\"}', flush=True)\nwhile True:\n    print('noise', flush=True); time.sleep(0.05)",
                      "still running after 8 s"),
    "bad_index": ("print('{\"type\": \"start\"}'); print('{\"type\": \"inference\", \"index\": \"zero\", \"latency_us\": 5}')", "index 'zero'"),
    "nan_latency": ("print('{\"type\": \"start\"}'); print('{\"type\": \"inference\", \"index\": 0, \"latency_us\": 3}');"
                    "print('{\"type\": \"inference\", \"index\": 1, \"latency_us\": NaN}')", "impossible latency nan"),
    "huge_index": ("print('{\"type\": \"start\"}'); print('{\"type\": \"inference\", \"index\": 10' + '0' * 400 + ', \"latency_us\": 1}')", "expected 0..2"),
    "negative_latency": ("print('{\"type\": \"start\"}'); print('{\"type\": \"inference\", \"index\": 0, \"latency_us\": -4}')", "impossible latency -4"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_RUNNERS))
def test_a_hostile_board_ends_the_bench_with_a_clear_error_and_keeps_what_arrived(sshd, mlperf_models, remote_root, clean_env,
                                                                                  laptop_python, tmp_path, monkeypatch, name):
    """A board whose runner hangs, floods noise, or sends impossible numbers: the bench stops
    within its deadlines with a DeviceError naming the problem; measurements that arrived
    before are on disk."""
    import json

    from kit.deploy import bench as pi_bench

    deploy_kws(sshd.target(), mlperf_models, remote_root, RemotePython(laptop_python, use_venv=False))
    script, expected = HOSTILE_RUNNERS[name]
    fake = tmp_path / "hostile.py"
    fake.write_text(script + "\n")
    wrapper = tmp_path / "hostile-python"
    wrapper.write_text(f"#!/bin/sh\nexec {laptop_python} {fake}\n")  # ignores the runner and its arguments
    wrapper.chmod(0o755)
    monkeypatch.setattr(pi_bench, "LINE_SILENCE_S", 4.0)  # ssh and Python start within it, even on a busy machine
    monkeypatch.setattr(pi_bench, "DEADLINE_BASE_S", 8.0)
    monkeypatch.setattr(pi_bench, "DEADLINE_PER_RUN_S", 0.0)
    with pytest.raises(DeviceError) as caught:
        bench_pi("raspberry-pi-5", sshd.target(), lab_name="kws", runs=3, warmup=0, layout=RemoteLayout(remote_root),
                 python=RemotePython(str(wrapper), use_venv=False), results_directory=tmp_path / "results")
    assert expected in str(caught.value), str(caught.value)
    stored = [json.loads(line) for path in (tmp_path / "results").glob("*.jsonl") for line in path.read_text().splitlines()]
    assert stored[-1]["type"] == "end" and stored[-1]["status"] == "interrupted"
    runs = [(record["index"], record["latency_us"]) for record in stored if record.get("type") == "run"]
    assert runs == ([(0, 3.0)] if name == "nan_latency" else [])
    assert "kept in" in str(caught.value)
