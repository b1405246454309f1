"""The twins compute the lab's int8 model input bit for bit like the host.

For every lab on the M4 (hard float) and the rv32 (soft float), and three labs each on the M7 and
the M55 (so every lab runs on three twins): firmware built with the lab's kit_lab.h (the committed
reference model's card names the lab), 50 raw test windows (20 on the soft-float rv32, where a
1 s MFCC costs 80 M instructions) from the lab's own generator written to files
the twin reads by semihosting (`kit-features PATH`), and the device's int8 input compared with
`kit.features.extract_int8` on the host, the same kit_features.c built by the host gcc.
Camera inputs (27 KB each) come back as a CRC-32 except for the first few, which come whole.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from kit import build as kit_build
from kit.catalog import get_lab
from kit.compile import convert
from kit.data import load_raw
from kit.features import extract_int8
from kit.link import open_link
from kit.paths import MODELS_DIR
from kit.protocol.client import DeviceClient
from kit.upload import qemu

pytestmark = pytest.mark.slow

LABS = ["kws", "motion", "anomaly", "image-classification", "visual-wake-words"]
TWIN_LABS = {
    "emu-cortex-m4": LABS,
    "emu-rv32": LABS,
    "emu-cortex-m7": ["kws", "anomaly", "image-classification"],
    "emu-cortex-m55": ["kws", "motion", "visual-wake-words"],
}
PAIRS = [(twin, lab) for twin, labs in TWIN_LABS.items() for lab in labs]
SAMPLES = 50
SAMPLES_ON = {"emu-rv32": 20}  # soft float: the same code paths, fewer windows
WHOLE_CAMERA_INPUTS = 3  # the rest of a camera lab's inputs are compared by CRC-32


def raw_test_windows(lab: str) -> tuple[np.ndarray, str]:
    """SAMPLES raw windows of the lab's test split (generated small: the pipeline, not the data,
    is under test) and the dtype the board's sensor delivers."""
    raw = load_raw(lab, seed=0, size="tiny")
    windows = raw.x[raw.split == "test"]
    if windows.shape[0] < SAMPLES:
        windows = np.concatenate([windows, raw.x[raw.split != "test"]])
    return windows[:SAMPLES], str(raw.x.dtype)


def sensor_bytes(lab: str, window: np.ndarray) -> bytes:
    """One window as the board's sensor delivers it: int16 PCM, float32 IMU samples, uint8 pixels."""
    kind = get_lab(lab).features.type
    if kind == "mfcc":
        from kit.features import audio_to_pcm16

        return audio_to_pcm16(window).tobytes()
    if kind == "image":
        return np.ascontiguousarray(window, np.uint8).tobytes()
    return np.ascontiguousarray(window, np.float32).tobytes()


@pytest.fixture(scope="module")
def lab_windows() -> dict[str, np.ndarray]:
    return {lab: raw_test_windows(lab)[0] for lab in LABS}


def host_inputs(lab: str, windows: np.ndarray) -> np.ndarray:
    card = json.loads((MODELS_DIR / lab / "card.json").read_text())
    spec = get_lab(lab)
    raw = windows.astype(np.float32) if spec.features.type != "image" else windows
    if spec.features.type in ("imu-spectral", "vibration-spectrum"):
        raw = np.ascontiguousarray(raw, np.float32)
    return extract_int8(spec.features.model_dump(), spec.dataset.model_dump(), raw, card["input"]["scale"],
                        card["input"]["zero_point"]).reshape(windows.shape[0], -1)


def boot(twin: str, lab: str):
    compiled = convert(MODELS_DIR / lab / "model.tflite")
    assert compiled.card_path is not None
    result = kit_build.build(twin, compiled)
    header = result.project_dir / "src" / "model" / "kit_lab.h"
    assert f'#define KIT_LAB_NAME "{lab}"' in header.read_text()
    running = qemu.start(twin, result.firmware)
    client = DeviceClient.connect(open_link(running.port))
    return running, client


def test_every_lab_runs_on_three_twins():
    assert all(sum(lab in labs for labs in TWIN_LABS.values()) >= 3 for lab in LABS)


@pytest.mark.parametrize(("twin", "lab"), PAIRS)
def test_device_features_equal_the_hosts(twin, lab, lab_windows, tmp_path):
    windows = lab_windows[lab][:SAMPLES_ON.get(twin, SAMPLES)]
    assert windows.shape[0] == SAMPLES_ON.get(twin, SAMPLES)
    expected = host_inputs(lab, windows)
    camera = get_lab(lab).features.type == "image"
    running, client = boot(twin, lab)
    try:
        ticks = []
        for index, window in enumerate(windows):
            path = tmp_path / f"w{index}.bin"
            path.write_bytes(sensor_bytes(lab, window))
            whole = not camera or index < WHOLE_CAMERA_INPUTS
            reply = client.kit_features(path, values=whole)
            assert reply.count == expected.shape[1]
            if whole:
                got = np.frombuffer(reply.values, np.int8)
                assert np.array_equal(got, expected[index]), (
                    f"{twin} {lab} window {index}: {int(np.sum(got != expected[index]))} of {got.size} values differ")
            else:
                assert reply.crc == zlib.crc32(expected[index].tobytes()) & 0xFFFFFFFF, f"{twin} {lab} window {index}"
            ticks.append(reply.ticks)
        assert min(ticks) > 0
    finally:
        client.link.close()
        qemu.terminate(running.pid)


def test_a_window_of_the_wrong_size_is_refused(tmp_path):
    running, client = boot("emu-cortex-m4", "motion")
    try:
        path = tmp_path / "short.bin"
        path.write_bytes(b"\0" * 12)
        with pytest.raises(Exception, match="file has 12 bytes"):
            client.kit_features(path)
        path = tmp_path / "missing.bin"
        with pytest.raises(Exception, match="cannot read the file"):
            client.kit_features(path)
    finally:
        client.link.close()
        qemu.terminate(running.pid)


def test_kit_lab_header_follows_the_lab_and_the_card(tmp_path):
    """The build hash changes when kit_lab.h's inputs do: the card's input quantisation."""
    card = json.loads((MODELS_DIR / "motion" / "card.json").read_text())
    first = tmp_path / "a" / "card.json"
    second = tmp_path / "b" / "card.json"
    for path, scale in ((first, card["input"]["scale"]), (second, card["input"]["scale"] * 2)):
        path.parent.mkdir()
        path.write_text(json.dumps({**card, "input": {**card["input"], "scale": scale}}))
    compiled = convert(MODELS_DIR / "motion" / "model.tflite")
    one = kit_build.write_project("emu-cortex-m4", compiled.require_kit(), tmp_path / "p1", card_path=first)
    two = kit_build.write_project("emu-cortex-m4", compiled.require_kit(), tmp_path / "p2", card_path=second)
    text_one = (one / "src" / "model" / "kit_lab.h").read_text()
    assert "KIT_FEATURE_IMU_SPECTRAL" in text_one and "-DKIT_HAVE_LAB" in (one / "platformio.ini").read_text()
    assert text_one != (two / "src" / "model" / "kit_lab.h").read_text()
    assert (one / "src" / "model" / "kit_build_info.h").read_text() != (two / "src" / "model" / "kit_build_info.h").read_text()


def test_a_real_board_project_gets_kit_lab_h_and_the_feature_c(tmp_path):
    from kit.build import realboard

    compiled = convert(MODELS_DIR / "kws" / "model.tflite")
    project = realboard.write_project("nicla-vision", compiled, tmp_path / "p")
    ini = (tmp_path / "p" / "platformio.ini").read_text()
    assert "-DKIT_HAVE_LAB" in ini and "-ffp-contract=off" in ini and "-Isrc/features" in ini
    assert '#define KIT_LAB_NAME "kws"' in (tmp_path / "p" / "src" / "model" / "kit_lab.h").read_text()
    assert "src/features/kit_features.c" in project.files


def test_the_native_harness_answers_kit_features_like_the_twins(tmp_path):
    """The host build of the harness (host HAL: files by fopen) speaks kit-features too."""
    import subprocess

    from firmware_helpers import TEST_MODEL, HostHarness

    from kit.build.lab import lab_files
    from kit.paths import FIRMWARE_DIR

    (tmp_path / "kit_lab.h").write_text(lab_files(MODELS_DIR / "anomaly" / "card.json")["kit_lab.h"])
    sources = [*sorted((FIRMWARE_DIR / "harness").glob("*.c")), FIRMWARE_DIR / "hal" / "host" / "kit_hal_host.c",
               FIRMWARE_DIR / "features" / "kit_features.c", *sorted(TEST_MODEL.glob("*.c"))]
    binary = tmp_path / "harness"
    subprocess.run(["gcc", "-std=c99", "-O2", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror", "-DKIT_HAVE_LAB",
                    f"-I{tmp_path}", f"-I{TEST_MODEL}", f"-I{FIRMWARE_DIR / 'harness'}", f"-I{FIRMWARE_DIR / 'hal'}",
                    f"-I{FIRMWARE_DIR / 'features'}", *map(str, sources), "-o", str(binary)], check=True)
    window = np.random.default_rng(7).standard_normal((1, 256, 3)).astype(np.float32)
    (tmp_path / "w.bin").write_bytes(window.tobytes())
    expected = host_inputs("anomaly", window)[0]
    harness = HostHarness(binary)
    try:
        lines = harness.command(f"kit-features {tmp_path / 'w.bin'}")
        data = bytes.fromhex("".join(line[len("m-kit-features-data-["):-1] for line in lines[1:]))
        assert lines[0].startswith("m-kit-features-[values=96,crc=") and len(lines) == 1 + 2
        assert np.array_equal(np.frombuffer(data, np.int8), expected)
        summary_only = harness.command(f"kit-features {tmp_path / 'w.bin'} crc")
        assert len(summary_only) == 1 and summary_only[0].split(",ticks=")[0] == lines[0].split(",ticks=")[0]
        assert harness.command("kit-features") == ["e-[kit-features: expected PATH [crc]]"]
    finally:
        harness.close()
