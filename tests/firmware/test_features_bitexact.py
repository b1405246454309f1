"""The twins compute the lab's int8 model input bit for bit like the host.

For every lab and twin: firmware built with the lab's kit_lab.h (the committed reference
model's card names the lab), 50 raw test windows from the lab's own generator written to files
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

TWINS = ["emu-cortex-m4", "emu-cortex-m7", "emu-cortex-m55", "emu-rv32"]
LABS = ["kws", "motion", "anomaly", "image-classification", "visual-wake-words"]
SAMPLES = 50
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


@pytest.mark.parametrize("lab", LABS)
@pytest.mark.parametrize("twin", TWINS)
def test_device_features_equal_the_hosts(twin, lab, lab_windows, tmp_path):
    windows = lab_windows[lab]
    assert windows.shape[0] == SAMPLES
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
