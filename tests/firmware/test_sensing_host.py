"""kit-capture and kit-run in the native harness (host HAL, virtual sensors on its own files)
and the host's frame reader against a damaged stream: framing, refusals, lost-frame counting."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from firmware_helpers import compile_host_harness

from kit.link import spawn
from kit.protocol.mlperf import ProtocolError, is_ready
from kit.protocol.sensing import FRAME_HEADER, FRAME_MAGIC, FrameReader, parse_capture_end, stream_capture


@pytest.fixture(scope="module")
def sensing_binary(tmp_path_factory) -> Path:
    """The harness with a virtual microphone and IMU, no camera (a board like the Nano 33 BLE Sense)."""
    return compile_host_harness(tmp_path_factory.mktemp("sensing") / "harness",
                                defines=("-DKIT_HAVE_MICROPHONE", "-DKIT_HAVE_IMU"))


@pytest.fixture
def link(sensing_binary):
    connection = spawn([str(sensing_binary)])
    while not is_ready(connection.read_line(10)):  # the boot banner
        pass
    yield connection
    connection.close()


def reply(link, command: str) -> list[str]:
    link.write(command + "%")
    lines = []
    while not is_ready(line := link.read_line(10)):
        lines.append(line)
    return lines


def test_capture_streams_whole_samples_in_numbered_crc_checked_frames(link, tmp_path):
    samples = np.arange(-500, 500, dtype=np.int16)
    path = tmp_path / "mic.raw"
    path.write_bytes(samples.tobytes())
    frames, formats = [], []
    result = stream_capture(link, f"kit-capture mic 1000 {path} rate=8000", formats.append, frames.append, 10, 60)
    assert formats[0].sensor == "microphone" and formats[0].rate_hz == 8000 and formats[0].sample_bytes == 2
    assert [f.sequence for f in frames] == [0, 1, 2, 3]  # 512-byte payloads: 256 samples each, then the rest
    assert [f.offset for f in frames] == [0, 512, 1024, 1536] and [len(f.payload) for f in frames] == [512, 512, 512, 464]
    assert b"".join(f.payload for f in frames) == samples.tobytes()
    assert result.end is not None and (result.end.samples, result.end.frames, result.end.status) == (1000, 4, "done")
    assert result.end.dropped == 0 and all(f.dropped == 0 for f in frames)


def test_capture_counts_and_sends_exactly_count_samples(link, tmp_path):
    data = np.random.default_rng(0).normal(size=(300, 3)).astype(np.float32)
    path = tmp_path / "imu.raw"
    path.write_bytes(data.tobytes())
    frames = []
    result = stream_capture(link, f"kit-capture imu 250 {path}", lambda fmt: None, frames.append, 10, 60)
    got = np.frombuffer(b"".join(f.payload for f in frames), np.float32).reshape(-1, 3)
    assert np.array_equal(got, data[:250]) and all(len(f.payload) % 12 == 0 for f in frames)
    assert result.end.samples == 250 and result.end.dropped == 0 and result.end.frames == len(frames)
    assert result.stats.clean
    assert reply(link, "name") == ["m-name-dut-[kit-unknown]"]  # back to text after the frames


def test_a_recording_shorter_than_count_ends_the_capture(link, tmp_path):
    path = tmp_path / "short.raw"
    path.write_bytes(b"\1\0" * 100)
    frames = []
    result = stream_capture(link, f"kit-capture mic 1000 {path}", lambda fmt: None, frames.append, 10, 60)
    assert result.end.samples == 100 and result.end.status == "ended"


def test_refusals_name_the_problem(link, tmp_path):
    assert reply(link, "kit-capture camera 1 x") == [
        "e-[kit-capture: this board has no camera; its sensors: microphone, imu]"]
    assert reply(link, "kit-capture sonar 1")[0].startswith("e-[kit-capture: unknown sensor sonar")
    assert reply(link, "kit-capture mic 0 x") == ["e-[kit-capture: COUNT must be a number from 1]"]
    assert reply(link, "kit-capture mic 5 x speed=3")[0].startswith("e-[kit-capture: bad option speed=3")
    assert reply(link, f"kit-capture mic 5 {tmp_path / 'missing.raw'}") == [
        "e-[kit-capture: cannot start the sensor: cannot open the recording]"]
    assert reply(link, "kit-capture mic 5") == [
        "e-[kit-capture: cannot start the sensor: a virtual sensor needs a recording (source)]"]
    assert reply(link, "kit-run") == ["e-[kit-run: this firmware was built without a lab (kit flash BOARD LAB)]"]
    with pytest.raises(ProtocolError, match="has no camera"):
        stream_capture(link, "kit-capture camera 1 x", lambda fmt: None, lambda frame: None, 10, 60)


def frame(sequence: int, offset: int, payload: bytes, dropped: int = 0) -> bytes:
    header = FRAME_HEADER.pack(FRAME_MAGIC, 1, 0, sequence, offset, dropped, len(payload))
    return header + payload + struct.pack("<I", zlib.crc32(header[2:] + payload) & 0xFFFFFFFF)


def test_lost_and_corrupted_frames_are_counted_never_glued(tmp_path):
    """A stream with a corrupted frame (bad CRC), a missing frame and junk bytes between frames:
    the reader keeps only the good frames and counts what is missing."""
    chunks = [bytes([i]) * 8 for i in range(5)]
    corrupted = bytearray(frame(1, 8, chunks[1]))
    corrupted[20] ^= 0xFF
    stream = (b"m-kit-capture-[sensor=microphone,rate=16000,channels=1,width=0,height=0,sample_bytes=2,count=20]\r\n"
              + frame(0, 0, chunks[0]) + bytes(corrupted) + frame(2, 16, chunks[2]) + b"\x00\x13junk"
              + frame(4, 32, chunks[4])
              + b"m-kit-capture-end-[samples=20,dropped=0,frames=5,bytes=40,elapsed_us=1250,status=done]\r\n"
              + b"m-ready\r\n")
    path = tmp_path / "stream.bin"
    path.write_bytes(stream)
    link = spawn(["cat", str(path)])
    try:
        link.binary_after(lambda line: line.startswith("m-kit-capture-["))
        assert link.read_line(10).startswith("m-kit-capture-[")
        reader = FrameReader(link, 10)
        good = []
        while not isinstance(item := reader.next(), str):
            good.append(item)
        link.text_mode()
        assert parse_capture_end(item).frames == 5 and is_ready(link.read_line(10))
    finally:
        link.close()
    assert [f.sequence for f in good] == [0, 2, 4] and [f.payload for f in good] == [chunks[0], chunks[2], chunks[4]]
    stats = reader.stats
    assert stats.crc_failures == 1 and stats.lost_frames == 2 and stats.missing_bytes == 16
    assert stats.junk_bytes == 6 and not stats.clean


COMPILERS = {
    "gcc": ([], "host/kit_hal_host.c"),
    "arm-none-eabi-gcc": (["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
                          "qemu-mps2/kit_hal_mps2.c"),
    "riscv64-unknown-elf-gcc": (["--specs=picolibc.specs", "-march=rv32imc", "-misa-spec=2.2", "-mabi=ilp32"],
                                "qemu-riscv-virt/kit_hal_riscv_virt.c"),
}
SENSOR_SETS = [(), ("-DKIT_HAVE_MICROPHONE",), ("-DKIT_HAVE_MICROPHONE", "-DKIT_HAVE_IMU", "-DKIT_HAVE_CAMERA")]


@pytest.mark.parametrize("sensors", SENSOR_SETS, ids=["none", "mic", "all"])
@pytest.mark.parametrize("compiler", list(COMPILERS))
def test_sensing_and_virtual_sensors_compile_warning_free(compiler, sensors, tmp_path):
    """kit_sensing.c and the HAL's virtual sensors for every set of sensors a board file can give
    (with none, kit_sensing.c calls no sensor function: a HAL without sensors still links)."""
    import subprocess

    from kit.paths import FIRMWARE_DIR

    flags, hal = COMPILERS[compiler]
    for source in (FIRMWARE_DIR / "harness" / "kit_sensing.c", FIRMWARE_DIR / "hal" / hal):
        subprocess.run([compiler, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", *flags, *sensors,
                        f"-I{FIRMWARE_DIR.parent / 'tests' / 'firmware' / 'testmodel'}", f"-I{FIRMWARE_DIR / 'harness'}",
                        f"-I{FIRMWARE_DIR / 'hal'}", "-c", str(source), "-o", str(tmp_path / "out.o")], check=True)
    if not sensors:
        symbols = subprocess.run(["nm", "-u", str(tmp_path / "out.o")], capture_output=True, text=True).stdout
        subprocess.run([compiler, *flags, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror",
                        f"-I{FIRMWARE_DIR.parent / 'tests' / 'firmware' / 'testmodel'}", f"-I{FIRMWARE_DIR / 'harness'}",
                        f"-I{FIRMWARE_DIR / 'hal'}", "-c", str(FIRMWARE_DIR / "harness" / "kit_sensing.c"), "-o",
                        str(tmp_path / "sensing.o")], check=True)
        undefined = subprocess.run(["nm", "-u", str(tmp_path / "sensing.o")], capture_output=True, text=True).stdout
        assert "kit_hal_sensor_start" not in undefined and "kit_hal_sensor_read" not in undefined, symbols


@pytest.mark.parametrize("lab", ["anomaly", "kws", "motion", "object-detection"])
@pytest.mark.parametrize("compiler", list(COMPILERS))
def test_kit_run_compiles_warning_free_for_a_classifier_and_an_anomaly_lab(compiler, lab, tmp_path):
    """kit-run's four paths (averaged label scores; an autoencoder's reconstruction error against
    the card's threshold; a classifier with the card's K-means anomaly score after it; a
    detector's grid decoded by kit_detect.c, built in beside kit_lab.h) with the kit_lab.h a
    flash writes."""
    import subprocess

    from kit import build as kit_build
    from kit.compile import convert
    from kit.paths import MODELS_DIR

    compiled = convert(MODELS_DIR / lab / "model.tflite").require_kit()
    project = kit_build.write_project("emu-cortex-m4", compiled, tmp_path / "p", card_path=MODELS_DIR / lab / "card.json")
    header = (project / "src" / "model" / "kit_lab.h").read_text()
    assert f"#define KIT_LAB_ANOMALY {int(lab == 'anomaly')}" in header
    assert f"#define KIT_LAB_KMEANS {int(lab == 'motion')}" in header
    assert f"#define KIT_LAB_DETECTION {int(lab == 'object-detection')}" in header
    assert (project / "src" / "model" / "kit_detect.c").is_file() == (lab == "object-detection")
    src = project / "src"
    includes = [f"-I{src / part}" for part in ("model", "harness", "hal", "features", "runtime/include", "runtime/src")]
    flags, _hal = COMPILERS[compiler]
    sources = [src / "harness" / "kit_sensing.c", *([src / "model" / "kit_detect.c"] if lab == "object-detection" else [])]
    for source in sources:
        subprocess.run([compiler, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", *flags,
                        "-DKIT_HAVE_LAB", "-DKIT_HAVE_MICROPHONE", "-DKIT_HAVE_IMU", "-DKIT_HAVE_CAMERA", *includes, "-c",
                        str(source), "-o", str(tmp_path / f"{source.stem}.o")], check=True)
