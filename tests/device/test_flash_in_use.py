"""`kit flash` of a board whose emulator another command is using refuses and names it;
replacing an idle emulator of an earlier flash says so (on a real QEMU twin)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from kit.cli import main
from kit.targets import state as device_state
from kit.targets import stop
from kit.link.tcp_clients import tcp_clients
from kit.upload import qemu

pytestmark = pytest.mark.slow

BOARD = "emu-cortex-m4"

HOLDER = """
import socket, sys, time
connection = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print("connected", flush=True)
time.sleep(60)
"""


def test_flash_refuses_an_emulator_in_use_then_replaces_an_idle_one(mlperf_models):
    runner = CliRunner()
    try:
        first = runner.invoke(main, ["flash", BOARD, "--model", str(mlperf_models["ad01_int8"])])
        assert first.exit_code == 0, first.output
        running = device_state.load_running(BOARD)
        assert running is not None and running.tcp_port is not None
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(running.tcp_port)], stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "connected"
            deadline = time.monotonic() + 10
            while not tcp_clients(running.tcp_port) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert [client.pid for client in tcp_clients(running.tcp_port)] == [holder.pid]
            refused = runner.invoke(main, ["flash", BOARD, "kws"])
            assert refused.exit_code == 2 and "Traceback" not in refused.output
            assert f"{BOARD} is in use" in refused.output and f"pid {holder.pid}" in refused.output
            assert f"kit stop {BOARD}" in refused.output
            assert device_state.load_running(BOARD).pid == running.pid  # left running, untouched
        finally:
            holder.kill()
            holder.wait()
        replaced = runner.invoke(main, ["flash", BOARD, "kws"])
        assert replaced.exit_code == 0, replaced.output
        assert f"replacing the running {BOARD} emulator (pid {running.pid}" in replaced.stderr
        assert device_state.load(BOARD).lab == "kws"
    finally:
        stop(None)


def test_an_emulator_that_does_not_answer_is_not_called_a_powered_off_board(mlperf_models):
    """A busy computer (the emulator stopped by SIGSTOP stands in for it) gets an error that
    says the emulator runs but this computer is too busy; a dead one says it exited."""
    import os
    import signal

    from kit.targets.emulated import emulator_handshake
    from kit.errors import DeviceError

    runner = CliRunner()
    try:
        assert runner.invoke(main, ["flash", BOARD, "--model", str(mlperf_models["ad01_int8"])]).exit_code == 0
        entry = device_state.load(BOARD)
        os.kill(entry.pid, signal.SIGSTOP)
        try:
            with pytest.raises(DeviceError) as caught:
                emulator_handshake(entry, timeout=1.0)
        finally:
            os.kill(entry.pid, signal.SIGCONT)
        message = str(caught.value)
        assert "is running but did not answer within 1 s" in message and "load average" in message
        assert "powered" not in message and "too busy" in message
        qemu.terminate(entry.pid)
        with pytest.raises(DeviceError) as dead:
            emulator_handshake(entry, timeout=1.0)
        assert "exited before answering" in str(dead.value)
    finally:
        stop(None)
