"""Every real-board HAL file built with the HOST compilers (-Wall -Wextra -Werror; C as C99,
C++ as C++11) inside a whole generated project, against the stand-ins in stubs/ (Arduino,
mbed/CMSIS, ESP-IDF, TFLM: clearly stand-ins, no real board or core exists here), and run
as a native program that speaks the protocol on stdin/stdout. The stand-in cycle counters
only count once the HAL enabled them the way the hardware requires."""

from __future__ import annotations

import ctypes
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest

from kit import catalog
from kit.link.stream_link import StreamLink
from kit.protocol import DeviceClient
from kit.protocol.mlperf import ProtocolError

from realboard_helpers import REAL_BOARDS
from realboard_helpers import STUBS, build_native, checksum_model

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300), pytest.mark.usefixtures("host_compilers")]

HAL_ROOT = Path(__file__).resolve().parents[2] / "firmware" / "hal"


class NativeBoard:
    """A natively built firmware on pipes; its stderr (the stand-in LED log) goes to a file."""

    def __init__(self, binary: Path) -> None:
        self.stderr_path = binary.with_suffix(".stderr")
        self.stderr = self.stderr_path.open("wb")
        self.process = subprocess.Popen([str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.stderr)
        assert self.process.stdout is not None and self.process.stdin is not None
        self.link = StreamLink(self.process.stdout, self.process.stdin, str(binary), on_close=self._stop)
        self.client = DeviceClient.connect(self.link, line_timeout=10, boot_timeout=10)

    def _stop(self) -> None:
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.stderr.close()

    def close(self) -> None:
        self.link.close()

    def led_log(self) -> list[str]:
        return [line for line in self.stderr_path.read_text().splitlines() if line.startswith("led=")]


def _input(size: int, seed: int = 3) -> bytes:
    return bytes(random.Random(seed).randrange(256) for _ in range(size))


@pytest.fixture(scope="module")
def kws_reference(kws_model: Path):
    """TFLM's output for one random kws input (the project's definition of bit-exact)."""
    from kit.tflm import run_tflm

    data = _input(490)
    batch = np.frombuffer(data, dtype=np.int8).reshape(1, 49, 10, 1)
    return data, np.asarray(run_tflm(kws_model, batch)).astype(np.int8).tobytes()


@pytest.mark.parametrize("board", REAL_BOARDS)
def test_kit_engine_firmware_runs_bit_exact_on_the_stand_in(projects, board: str, tmp_path: Path, kws_reference) -> None:
    binary = build_native(projects[(board, "kit")].project_dir, board, tmp_path / "build")
    device = NativeBoard(binary)
    try:
        info = device.client.info
        assert info is not None
        assert info.board == board
        entry = catalog.get_board(board)
        assert info.clock_hz == entry.clock_hz  # the board file's clock, as the core reports it
        assert info.timer_hz == entry.clock_hz  # the cycle counter was enabled and is what ticks
        assert info.sha256 == projects[(board, "kit")].sha256
        assert info.fields["build"] == projects[(board, "kit")].build_id
        data, expected = kws_reference
        device.client.load(data)
        reply = device.client.kit_infer(2)
        assert reply.output == expected
        assert all(ticks > 0 for ticks in reply.ticks)
        assert len(device.client.layers()) == 13
    finally:
        device.close()
    leds = device.led_log()
    lit = "led=0" if entry.firmware.led.active_low else "led=1"  # the board file's LED polarity
    assert leds[0].startswith(lit)  # lit while waiting for the host at boot
    assert sum(line.startswith(lit) for line in leds) >= 4  # and once per command since


@pytest.mark.parametrize("board", ["nicla-vision", "xiao-esp32s3"])
def test_tflm_glue_runs_the_harness_unchanged(projects, board: str, tmp_path: Path) -> None:
    """The TFLM glue on the stand-in interpreter: input and output tensors in the harness's
    arena, one op hook per TFLM node event, the model's identity and TFLM's used arena."""
    project = projects[(board, "tflm")]
    binary = build_native(project.project_dir, board, tmp_path / "build",
                          ("-DKIT_STUB_INPUT_BYTES=490u", "-DKIT_STUB_OUTPUT_BYTES=12u", "-DKIT_STUB_NODES=13u"))
    device = NativeBoard(binary)
    try:
        info = device.client.info
        assert info is not None and info.sha256 == project.sha256 and info.model == "kws01"
        data = _input(490, seed=9)
        device.client.load(data)
        reply = device.client.kit_infer(1)
        assert reply.output == checksum_model(data, 12)
        layers = device.client.layers()
        assert [layer.op for layer in layers][:2] == ["CONV_2D", "DEPTHWISE_CONV_2D"] and len(layers) == 13
        assert device.client.memory().arena == 490 + 12  # TFLM's arena_used_bytes after allocation
    finally:
        device.close()


def test_tflm_glue_refuses_tensors_that_do_not_match_the_model(projects, tmp_path: Path) -> None:
    project = projects[("nano33-ble-sense", "tflm")]
    binary = build_native(project.project_dir, "nano33-ble-sense", tmp_path / "build",
                          ("-DKIT_STUB_INPUT_BYTES=490u", "-DKIT_STUB_OUTPUT_BYTES=10u", "-DKIT_STUB_NODES=13u"))
    device = NativeBoard(binary)
    try:
        device.client.load(_input(490))
        with pytest.raises(ProtocolError, match=r"invoke failed: -20"):
            device.client.command("kit-infer 1")
    finally:
        device.close()


def test_dead_cycle_counter_falls_back_to_microseconds(projects, tmp_path: Path) -> None:
    binary = build_native(projects[("nano33-ble-sense", "kit")].project_dir, "nano33-ble-sense", tmp_path / "b",
                          ("-DKIT_STUB_DWT_DEAD",))
    device = NativeBoard(binary)
    try:
        assert device.client.info is not None and device.client.info.timer_hz == 1_000_000
    finally:
        device.close()


@pytest.mark.parametrize("flags", [["-DKIT_STUB_IDF_MAJOR=4"], ["-DKIT_STUB_IDF_MAJOR=5"]])
def test_esp32_hal_compiles_for_both_idf_generations(flags: list[str], tmp_path: Path) -> None:
    """Arduino-ESP32 2.x (ESP-IDF 4: xthal_get_ccount) and 3.x (ESP-IDF 5: esp_cpu_get_cycle_count)."""
    source = HAL_ROOT / "arduino-esp32" / "kit_hal_arduino_esp32.cpp"
    subprocess.run(["g++", "-std=c++11", "-Wall", "-Wextra", "-Werror", *flags, f"-I{STUBS}", f"-I{HAL_ROOT}",
                    f"-I{HAL_ROOT / 'arduino'}", "-c", str(source), "-o", str(tmp_path / "hal.o")], check=True)


@pytest.fixture(scope="module")
def cycle64(tmp_path_factory: pytest.TempPathFactory):
    library = tmp_path_factory.mktemp("cycle64") / "libcycle64.so"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                    str(HAL_ROOT / "arduino" / "kit_cycle64.c"), "-o", str(library)], check=True)
    lib = ctypes.CDLL(str(library))
    lib.kit_cycle64_update.restype = ctypes.c_uint64
    lib.kit_cycle64_update.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32]
    lib.kit_cycle64_init.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    return lib


@pytest.mark.parametrize("mhz", [64, 240, 480])
def test_cycle64_recovers_every_missed_wrap(cycle64, mhz: int) -> None:
    """Readings seconds to minutes apart (many 32-bit wraps at 480 MHz between two readings),
    with a microsecond clock that is off by up to 2 us: the 64-bit count is exact."""
    state = ctypes.create_string_buffer(64)
    cycle64.kit_cycle64_init(state, mhz)
    rng = random.Random(mhz)
    true_cycles = rng.randrange(1 << 32)
    base = true_cycles
    assert cycle64.kit_cycle64_update(state, true_cycles & 0xFFFFFFFF, (true_cycles // mhz) & 0xFFFFFFFF) == base
    for _ in range(300):
        true_cycles += rng.choice([rng.randrange(1, 1000), rng.randrange(1 << 32), rng.randrange(600 * mhz * 10**6)])
        micros = (true_cycles // mhz + rng.randint(-2, 2)) & 0xFFFFFFFF
        got = cycle64.kit_cycle64_update(state, true_cycles & 0xFFFFFFFF, micros)
        assert got == true_cycles
