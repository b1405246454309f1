"""The firmware on the three emulated boards: built through PlatformIO, booted in QEMU, driven
over the TCP serial console (and one-shot over pipes): protocol, deterministic instruction
counts, clean exit, error paths, and a real MLPerf Tiny model bit-exact with TFLM."""

from __future__ import annotations

import base64
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import serial
from firmware_helpers import EMULATED_BOARDS, Console, checksum_model, match_one

from kit.build import build
from kit.build.offline import platformio_env
from kit.errors import DeviceError, ToolMissingError
from kit.catalog import get_board
from kit.upload import qemu

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

INPUT = bytes((i * 37 + 11) & 0xFF for i in range(64))
TIMER_HZ = {"emu-cortex-m4": 25_000_000, "emu-cortex-m7": 25_000_000, "emu-cortex-m55": 32_000_000, "emu-rv32": 1_000_000_000}


def load_commands(data: bytes) -> str:
    return "".join(f"kit-load {o} {base64.b64encode(data[o:o + 180]).decode()}%" for o in range(0, len(data), 180))


class SocketConsole(Console):
    """Console over QEMU's TCP serial via pyserial's socket:// URL (what kit.link uses)."""

    def __init__(self, url: str) -> None:
        self.port = serial.serial_for_url(url, timeout=0)
        fd = self.port._socket.fileno()  # noqa: SLF001 (select on the socket itself)
        super().__init__(fd, -1)

    def send(self, data: bytes | str) -> None:
        self.port.write(data.encode() if isinstance(data, str) else data)


def pio_executable() -> Path:
    return Path(sys.executable).with_name("pio")


def run_ticks(output: str) -> list[int]:
    return [int(t) for t in re.findall(r"^m-kit-run-\[\d+,(\d+)\]\r$", output, re.M)]


def lap_delta(output: str) -> int:
    start, end = (int(x) for x in re.findall(r"^m-lap-us-(\d+)\r$", output, re.M))
    return end - start


@pytest.mark.parametrize("board", EMULATED_BOARDS)
def test_board_boots_in_the_background_and_speaks_the_protocol(test_model_builds, board):
    firmware = test_model_builds[board].firmware
    running = qemu.start(board, firmware)
    try:
        assert running.port == f"socket://127.0.0.1:{running.tcp_port}"
        console = SocketConsole(running.port)
        assert console.reply()[-1] == "m-init-done"
        assert console.command("name") == [f"m-name-dut-[kit-{board}]"]
        info = dict(i.split("=", 1) for i in match_one(console.command("kit-info"), r"^m-kit-info-\[(.*)\]$").group(1).split(","))
        assert info["board"] == board and int(info["timer_hz"]) == TIMER_HZ[board]
        assert info["clock_hz"] == "1000000000" and info["build"] == test_model_builds[board].build_id
        assert info["kernels"] == get_board(board).firmware.kernels  # what runs is what the board file chose
        console.send(load_commands(INPUT))
        assert console.reply()[-1] == "m-load-done"
        lines = console.command("kit-infer 2")
        ticks = run_ticks("\r\n".join(lines) + "\r")
        assert len(ticks) == 2 and ticks[0] == ticks[1] > 0
        assert bytes.fromhex(match_one(lines, r"^m-kit-output-\[([0-9a-f]*)\]$").group(1)) == checksum_model(INPUT)
        layers = console.command("kit-layers")
        assert layers[-1] == "m-kit-layers-done-[3]" and int(layers[1].rstrip("]").split(",")[2]) > 0
        memory = match_one(console.command("kit-mem"), r"^m-kit-mem-\[arena=\d+,arena_capacity=\d+,"
                           r"stack_used=(\d+),stack_size=(\d+)\]$")
        assert 0 < int(memory.group(1)) < int(memory.group(2)) == 16 * 1024
        console.send("kit-exit 0%")
        assert console.read_line() == "m-kit-exit-[0]"
        console.port.close()
        deadline = time.monotonic() + 10
        while running.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
            qemu._reap(running.pid)  # noqa: SLF001 (our child: collect its exit status)
        assert not running.is_alive()
    finally:
        running.stop()


@pytest.mark.parametrize("board", EMULATED_BOARDS)
def test_two_boots_give_identical_instruction_counts(test_model_builds, board):
    commands = (load_commands(INPUT) + "kit-infer 3%kit-layers%infer 4 1%kit-exit 9%").encode()
    first = qemu.run_once(board, test_model_builds[board].firmware, commands)
    second = qemu.run_once(board, test_model_builds[board].firmware, commands)
    assert first.exit_code == second.exit_code == 9
    assert run_ticks(first.output) == run_ticks(second.output) and len(set(run_ticks(first.output))) == 1
    assert lap_delta(first.output) == lap_delta(second.output)
    layers = re.findall(r"^m-kit-layer-\[.*\]\r$", first.output, re.M)
    assert len(layers) == 3 and layers == re.findall(r"^m-kit-layer-\[.*\]\r$", second.output, re.M)
    assert "m-results-[" in first.output and not re.search(r"^e-\[", first.output, re.M)


def test_reconnecting_client_and_stop(test_model_builds):
    running = qemu.start("emu-rv32", test_model_builds["emu-rv32"].firmware)
    try:
        for _ in range(2):
            console = SocketConsole(running.port)
            time.sleep(0.2)
            console.send("name%")
            while console.read_line() != "m-name-dut-[kit-emu-rv32]":
                pass
            console.port.close()
    finally:
        running.stop()
    assert not running.is_alive()
    running.stop()  # stopping an ended emulator again is harmless


def test_a_port_already_in_use_is_reported(test_model_builds):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DeviceError, match=f"TCP port {port} on 127.0.0.1 is already in use"):
            qemu.start("emu-cortex-m4", test_model_builds["emu-cortex-m4"].firmware, tcp_port=port)


def test_missing_qemu_is_named_with_the_apt_fix(test_model_builds, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissingError, match="qemu-system-riscv32") as error:
        qemu.start("xiao-esp32s3", test_model_builds["emu-rv32"].firmware)
    assert "apt-get install -y --no-install-recommends qemu-system-misc" in error.value.hint


def test_a_silent_board_times_out_in_one_shot_mode(test_model_builds):
    with pytest.raises(DeviceError, match="did not exit within 2 s; last line: m-ready"):
        qemu.run_once("emu-cortex-m4", test_model_builds["emu-cortex-m4"].firmware, b"name%", timeout=2)


def test_platformio_upload_boots_qemu_and_returns_the_exit_code(test_model_builds):
    project = test_model_builds["emu-cortex-m7"].project_dir
    port = qemu.free_tcp_port()
    upload = subprocess.Popen([str(pio_executable()), "run", "-d", str(project), "-t", "upload",
                               "--upload-port", f"tcp:127.0.0.1:{port}"], env=platformio_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not qemu.port_in_use(port):
            assert upload.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        console = SocketConsole(qemu.link_url(port))
        assert console.reply()[-1] == "m-init-done"
        console.send("kit-exit 5%")
        assert console.read_line() == "m-kit-exit-[5]"
        output, _ = upload.communicate(timeout=60)
    finally:
        if upload.poll() is None:
            upload.kill()
    assert upload.returncode != 0 and "-icount shift=0" in output and "server=on,wait=on,nodelay=on" in output


@pytest.mark.parametrize("board", ["emu-cortex-m4", "emu-cortex-m7", "emu-rv32"])
def test_mlperf_kws_reference_model_is_bit_exact_with_tflm(board, mlperf_models):
    from kit.compile import convert
    from kit.tflm import run_tflm

    model = mlperf_models["kws_ref_model"]
    compiled = convert(model, model_id="kws01")
    firmware = build(board, compiled).firmware
    rng = np.random.default_rng(11)
    inputs = rng.integers(-128, 128, size=(2, *compiled.input_shape), dtype=np.int8)
    expected = run_tflm(model, inputs)
    commands = ""
    for sample in inputs:
        commands += load_commands(sample.tobytes()) + "kit-infer 1%"
    result = qemu.run_once(board, firmware, (commands + "profile%kit-exit 0%").encode())
    assert result.exit_code == 0, result.output[-500:]
    outputs = re.findall(r"^m-kit-output-\[([0-9a-f]*)\]\r$", result.output, re.M)
    got = np.array([np.frombuffer(bytes.fromhex(o), dtype=np.int8) for o in outputs])
    assert got.shape == (2, expected[0].size)
    np.testing.assert_array_equal(got, expected.reshape(2, -1))
    assert "m-model-[kws01]" in result.output


def test_timing_stays_consistent_across_systick_wraps(test_model_builds):
    """SysTick's 24-bit counter wraps every 2^24 ticks (0.67 s of virtual time): windows longer
    than that must still measure linearly, and the 64-bit tick count must keep growing."""
    commands = load_commands(INPUT) + "infer 200000 0%infer 400000 0%kit-ticks%kit-ticks%kit-exit 0%"
    result = qemu.run_once("emu-cortex-m4", test_model_builds["emu-cortex-m4"].firmware, commands.encode(),
                           timeout=240)
    laps = [int(x) for x in re.findall(r"^m-lap-us-(\d+)\r$", result.output, re.M)]
    short, long = laps[1] - laps[0], laps[3] - laps[2]
    assert long > (1 << 24) * 1e6 / 25e6  # the long window spans at least one wrap
    assert long == pytest.approx(2 * short, rel=1e-4)
    ticks = [int(t) for t in re.findall(r"^m-kit-ticks-\[(\d+),25000000\]\r$", result.output, re.M)]
    assert len(ticks) == 2 and (1 << 24) < ticks[0] < ticks[1]
    assert laps[2] >= laps[1]  # lap times since boot keep increasing across the wraps
