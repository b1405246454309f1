"""The paths a real Pi takes: a venv built on the board from pushed wheels, and the older
tflite_runtime on images that never got LiteRT. Slow (they install wheels from PyPI)."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from kit.deploy import RemoteLayout, RemotePython, bench_pi, deploy_lab
from kit.deploy.wheelhouse import wheel_cache

from sshd_server import local_litert_output

SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.mark.slow
def test_offline_deploy_builds_board_venv_from_pushed_wheels(sshd, mlperf_models, remote_root, clean_env, kit_home):
    """--offline: the laptop downloads wheels for the board's machine + Python, pushes them, pip installs with --no-index."""
    if not Path(SYSTEM_PYTHON).exists():
        pytest.skip("no system python3")
    model = mlperf_models["kws_ref_model"]
    layout = RemoteLayout(remote_root)
    first = deploy_lab("raspberry-pi-5", "kws", sshd.target(), model=model, layout=layout, python=RemotePython(SYSTEM_PYTHON), offline=True)
    assert first.installed and first.smoke["runtime"] == "ai_edge_litert"
    assert first.smoke["output"] == local_litert_output(model).tolist()
    version = subprocess.run([SYSTEM_PYTHON, "-c", "import sys; print('cp%d%d' % sys.version_info[:2])"], capture_output=True, text=True).stdout.strip()
    pushed = sorted(path.name for path in (Path(remote_root) / "wheels").glob("*.whl"))
    assert pushed == sorted(path.name for path in wheel_cache("x86_64", version).glob("*.whl"))
    assert any(name.startswith("ai_edge_litert-") for name in pushed)
    assert (Path(remote_root) / "venv" / "bin" / "python").exists()
    again = deploy_lab("raspberry-pi-5", "kws", sshd.target(), model=model, layout=layout, python=RemotePython(SYSTEM_PYTHON), offline=True)
    assert not again.installed  # the venv already imports LiteRT: nothing reinstalled
    result = bench_pi("raspberry-pi-5", sshd.target(), runs=3, warmup=1)
    assert result.runtime == "ai_edge_litert" and result.stats.count == 3


@pytest.fixture(scope="session")
def tflite_runtime_python(tmp_path_factory) -> str:
    """A venv like an older lab image: tflite-runtime 2.14 with numpy 1.x, no LiteRT."""
    venv = tmp_path_factory.mktemp("tflite-runtime-venv")
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", "tflite-runtime==2.14.0", "numpy<2"], check=True)
    return str(venv / "bin" / "python")


@pytest.mark.slow
def test_board_with_only_tflite_runtime_uses_it_and_says_so(sshd, mlperf_models, remote_root, clean_env, tflite_runtime_python):
    model = mlperf_models["kws_ref_model"]
    result = deploy_lab("raspberry-pi-4", "kws", sshd.target(), model=model, layout=RemoteLayout(remote_root),
                        python=RemotePython(tflite_runtime_python, use_venv=False))
    assert result.smoke["runtime"] == "tflite_runtime" and result.smoke["runtime_version"] == "2.14.0"
    assert result.smoke["output"] == local_litert_output(model).tolist()


PI_USER = "kitpitest"


@pytest.fixture
def pi_login(sshd) -> Iterator[str]:
    """A real login on the "Pi" whose home folder is a fresh temp folder: the default remote
    layout (`kit/` relative to the home folder) lands there, as on a real board. (Outside
    pytest's tmp tree, whose folders only root may enter.)"""
    if os.geteuid() != 0:
        pytest.skip("needs root to create the test login")
    base = Path(tempfile.mkdtemp(prefix="kit-pi-login-"))
    base.chmod(0o755)
    home = base / "home"
    try:
        pwd.getpwnam(PI_USER)
        subprocess.run(["usermod", "-d", str(home), PI_USER], check=True)
    except KeyError:
        subprocess.run(["useradd", "-M", "-d", str(home), "-s", "/bin/sh", PI_USER], check=True)
    subprocess.run(["usermod", "-p", "*", PI_USER], check=True)  # no password, but not locked (sshd refuses "!")
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "authorized_keys").write_text(Path(f"{sshd.client_key}.pub").read_text())
    entry = pwd.getpwnam(PI_USER)
    for path in (home, home / ".ssh", home / ".ssh" / "authorized_keys"):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    yield str(home)
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
def test_cli_deploy_with_default_options_then_bench(sshd, pi_login, clean_env):
    """`kit deploy raspberry-pi-5 kws --host USER@HOST` exactly as the README says: the default
    layout under the login's home, a venv built there with LiteRT from the package index,
    the smoke inference, then `kit bench` through the same venv."""
    from click.testing import CliRunner

    from kit.cli.deploy import deploy_command
    from kit.cli.device import bench_command

    ssh = [arg if arg != "root@127.0.0.1" else f"{PI_USER}@127.0.0.1" for arg in sshd.cli_args()]
    runner = CliRunner()
    deployed = runner.invoke(deploy_command, ["raspberry-pi-5", "kws", *ssh, "--json"])
    assert deployed.exit_code == 0, deployed.output
    record = json.loads(deployed.output)
    assert record["installed"] and record["smoke"]["runtime"] == "ai_edge_litert"
    assert record["remote_dir"] == "kit/kws"
    assert (Path(pi_login) / "kit" / "venv" / "bin" / "python").exists()
    assert (Path(pi_login) / "kit" / "kws" / "model.tflite").is_file()
    benched = runner.invoke(bench_command, ["raspberry-pi-5", *ssh, "--runs", "3", "--warmup", "1", "--json", "--no-plot"])
    assert benched.exit_code == 0, benched.output
    assert json.loads(benched.output)["latency_us"]["count"] == 3
