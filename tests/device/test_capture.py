"""`kit capture` on real QEMU twins: the virtual sensors replay a recording paced in virtual
time, kit-capture streams it as CRC-checked binary frames, and the host writes the class-folder
files `kit train --source` reads: sample-exact, complete files only, and clear errors."""

from __future__ import annotations

import errno
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kit.data.user import read_csv_signal
from kit.device.capture import CaptureStopped, atomic_write, capture
from kit.device.recordings import SensorShape, read_wav
from kit.errors import KitError
from kit.protocol.mlperf import ProtocolError
from kit.targets import connect, flash, stop

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(samples.astype("<i2").tobytes())
    return path


@pytest.fixture(scope="module")
def twins(mlperf_models):
    """The M4, M55 and rv32 twins running a small model (capture does not need the model)."""
    for board in ("emu-cortex-m4", "emu-cortex-m55", "emu-rv32"):
        flash(board, None, model=mlperf_models["ad01_int8"])
    yield
    stop(None)


@pytest.mark.parametrize("board", ["emu-cortex-m4", "emu-cortex-m55", "emu-rv32"])
def test_ten_seconds_of_16khz_audio_arrive_sample_exact(twins, board, tmp_path):
    audio = np.random.default_rng(1).integers(-32768, 32768, size=160_000).astype(np.int16)
    source = write_wav(tmp_path / "speech.wav", audio)
    with connect(board) as session:
        summary = capture(session, "microphone", "yes", tmp_path / "out", 160_000,
                          SensorShape("microphone", 16000), source=source)
    assert summary.dropped == 0 and summary.lost_frames == 0 and summary.crc_failures == 0
    assert summary.samples == 160_000 and 9_990_000 <= summary.elapsed_us <= 10_100_000  # virtual time
    files = sorted((tmp_path / "out" / "yes").glob("*.wav"), key=lambda p: int(p.stem.split("-")[1]))
    assert [p.name for p in files] == [f"yes-{n}.wav" for n in range(1, 11)]
    clips = [read_wav(p) for p in files]
    assert all(rate == 16000 for _, rate in clips)
    assert np.array_equal(np.concatenate([samples for samples, _ in clips]), audio)


def test_imu_at_200hz_becomes_csv_with_time_and_axes(twins, tmp_path):
    signal = np.random.default_rng(2).normal(size=(1000, 3)).astype(np.float32)
    source = tmp_path / "moves.csv"
    source.write_text("time,ax,ay,az\n" + "".join(f"{i / 200},{a!r},{b!r},{c!r}\n" for i, (a, b, c) in
                                                     enumerate(signal.tolist())))
    with connect("emu-rv32") as session:
        summary = capture(session, "imu", "lift", tmp_path / "out", 1000, SensorShape("imu", 200, 3),
                          source=source, clip_samples=400, axes=["ax", "ay", "az"])
    assert summary.dropped == 0 and summary.samples == 1000
    files = [tmp_path / "out" / "lift" / f"lift-{n}.csv" for n in (1, 2, 3)]
    assert files[0].read_text().splitlines()[0] == "time,ax,ay,az"
    got = np.concatenate([read_csv_signal(p, ["ax", "ay", "az"]) for p in files])
    assert np.array_equal(got, signal)  # float32 values round-trip exactly


def test_camera_frames_become_pngs(twins, tmp_path):
    rng = np.random.default_rng(3)
    images = tmp_path / "frames"
    images.mkdir()
    frames = [rng.integers(0, 256, size=(32, 48, 3), dtype=np.uint8) for _ in range(3)]
    for index, frame in enumerate(frames):
        Image.fromarray(frame, "RGB").save(images / f"f{index}.png")
    with connect("emu-rv32") as session:
        summary = capture(session, "camera", "person", tmp_path / "out", 3,
                          SensorShape("camera", 5, 3, width=48, height=32), source=images)
    assert summary.samples == 3 and summary.dropped == 0
    for index, frame in enumerate(frames):
        assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "person" / f"person-{index + 1}.png")), frame)


def test_an_interrupted_capture_keeps_its_complete_files(twins, tmp_path):
    audio = np.arange(80_000, dtype=np.int16)
    source = write_wav(tmp_path / "long.wav", audio)

    def interrupt(done: int, total: int, preview: str | None) -> None:
        assert preview is not None and "dBFS" in preview
        if done >= 40_000:  # 2.5 clips of 16,000 samples
            raise KeyboardInterrupt

    with connect("emu-rv32") as session:
        with pytest.raises(CaptureStopped) as stopped:
            capture(session, "microphone", "no", tmp_path / "out", 80_000, SensorShape("microphone", 16000),
                    source=source, on_progress=interrupt)
        assert "interrupted after" in stopped.value.message and "2 complete file(s)" in stopped.value.message
        assert session.client.command("name").lines  # the board is back at its prompt
    kept = sorted(p.name for p in (tmp_path / "out" / "no").iterdir())
    assert kept == ["no-1.wav", "no-2.wav"]  # no partial file, no temp file
    assert np.array_equal(read_wav(tmp_path / "out" / "no" / "no-2.wav")[0], audio[16_000:32_000])


def test_a_full_disk_stops_with_the_complete_files_kept(twins, tmp_path):
    source = write_wav(tmp_path / "a.wav", np.zeros(64_000, np.int16))
    written = {"bytes": 0}

    def filling_disk(path: Path, data: bytes) -> None:
        if written["bytes"] + len(data) > 70_000:  # room for two 32 KB clips
            raise OSError(errno.ENOSPC, "No space left on device")
        written["bytes"] += len(data)
        atomic_write(path, data)

    with connect("emu-cortex-m4") as session:
        with pytest.raises(CaptureStopped) as stopped:
            capture(session, "microphone", "up", tmp_path / "out", 64_000, SensorShape("microphone", 16000),
                    source=source, write_file=filling_disk)
        assert session.client.command("name").lines
    assert "disk is full" in stopped.value.message and "2 complete file(s)" in stopped.value.message
    assert sorted(p.name for p in (tmp_path / "out" / "up").iterdir()) == ["up-1.wav", "up-2.wav"]


def test_a_link_too_slow_for_the_rate_names_the_rate_reached(twins, tmp_path):
    """A 6-axis IMU at 1 MHz makes 24 MB/s: more than the twin's CRC + UART loop sends, so the
    driver buffer overflows as a real board's would."""
    values = np.zeros((50_000, 6), np.float32)
    source = tmp_path / "fast.csv"
    source.write_text("ax,ay,az,gx,gy,gz\n" + "0,0,0,0,0,0\n" * len(values))
    with connect("emu-rv32") as session:
        with pytest.raises(CaptureStopped) as stopped:
            capture(session, "imu", "x", tmp_path / "out", 50_000, SensorShape("imu", 1_000_000, 6), source=source)
        assert session.client.command("name").lines
    message = stopped.value.message
    assert "too slow for the imu at 1000000 samples/s" in message and "dropped" in message
    reached = int(message.split("carried about ")[1].split(" ")[0].replace(",", ""))
    assert 0 < reached < 1_000_000


def test_a_sensor_the_board_lacks_is_named_with_the_ones_it_has(mlperf_models, tmp_path):
    Image.new("L", (96, 96)).save(tmp_path / "frame.png")
    try:
        flash("nano33-ble-sense", None, emulate=True, model=mlperf_models["ad01_int8"])
        with connect("nano33-ble-sense") as session:
            with pytest.raises(ProtocolError) as refused:
                capture(session, "camera", "cat", tmp_path / "out", 1, SensorShape("camera", 5, 1, 96, 96),
                        source=tmp_path)
            assert "has no camera; its sensors: microphone, imu" in refused.value.message
            with pytest.raises(KitError, match="needs a recording"):
                capture(session, "microphone", "yes", tmp_path / "out", 10, SensorShape("microphone", 16000))
    finally:
        stop("nano33-ble-sense")


def test_the_cli_captures_a_motion_recording_in_the_labs_format(twins, tmp_path):
    """`kit capture BOARD --sensor imu --lab motion`: the lab's 50 Hz and axes, a preview, and a
    file `kit train motion --source DIR` reads (time column + ax, ay, az)."""
    from click.testing import CliRunner

    from kit.cli import main

    signal = np.random.default_rng(5).normal(size=(300, 3)).astype(np.float32)
    source = tmp_path / "walk.csv"
    source.write_text("ax,ay,az\n" + "".join(",".join(repr(float(v)) for v in row) + "\n" for row in signal))
    result = CliRunner().invoke(main, ["capture", "emu-rv32", "--sensor", "imu", "--label", "terrestrial", "--lab",
                                       "motion", "--seconds", "4", "--source", str(source), "--out",
                                       str(tmp_path / "mine"), "--preview"])
    assert result.exit_code == 0, result.output
    assert "200 samples at 50 samples/s, 0 dropped, 0 frames lost" in result.output
    written = tmp_path / "mine" / "terrestrial" / "terrestrial-1.csv"
    assert written.read_text().splitlines()[0] == "time,ax,ay,az"
    assert written.read_text().splitlines()[2].startswith("0.020000,")
    assert np.array_equal(read_csv_signal(written, ["ax", "ay", "az"]), signal[:200])
    again = CliRunner().invoke(main, ["capture", "emu-rv32", "--sensor", "camera", "--label", "x", "--count", "1"])
    assert again.exit_code != 0 and "needs a recording" in again.output
