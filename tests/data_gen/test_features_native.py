"""The C feature pipelines (firmware/features/kit_features.c through kit.features.native):
still the lab's pipelines (close to the numpy formulas they replace), the int8 rounding, the
host library's cache and its missing-compiler error, and kit_lab.h compiling to the same C."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess

import numpy as np
import pytest

from kit.build.lab import lab_files
from kit.errors import ToolMissingError
from kit.features import (audio_to_pcm16, extract, extract_int8, imu_spectral, lab_config, mfcc, native,
                          scale_pixels, vibration_spectrum)
from kit.features.mfcc import MfccConfig
from kit.paths import FIRMWARE_DIR, MODELS_DIR
from kit.train.quantize import quantize_features

reference_mfcc = importlib.import_module("kit.features.mfcc")
reference_imu = importlib.import_module("kit.features.imu")
reference_image = importlib.import_module("kit.features.image")


def speech_like(rng: np.random.Generator, count: int) -> np.ndarray:
    """Tones that glide, over noise, at several loudnesses: float audio in [-1, 1]."""
    t = np.arange(16000) / 16000
    clips = []
    for _ in range(count):
        f0 = rng.uniform(120, 2500)
        tone = np.sin(2 * np.pi * (f0 + 400 * t) * t) * np.exp(-((t - rng.uniform(0.2, 0.8)) ** 2) / 0.02)
        clips.append(rng.uniform(0.05, 0.9) * tone + rng.uniform(0.001, 0.05) * rng.standard_normal(16000))
    return np.clip(np.stack(clips), -1, 1).astype(np.float32)


def test_c_mfcc_is_the_numpy_mfcc_of_the_same_pcm():
    config = MfccConfig()
    audio = speech_like(np.random.default_rng(1), 8)
    pcm_as_float = audio_to_pcm16(audio).astype(np.float32) / 32768
    c, reference = mfcc(audio, config), reference_mfcc.mfcc(pcm_as_float, config)
    assert c.shape == reference.shape == (8, 49, 10)
    assert np.abs(c - reference).max() < 1e-3 * max(1.0, float(np.abs(reference).max()))


def test_c_imu_features_are_the_numpy_ones():
    rng = np.random.default_rng(2)
    t = np.arange(100) / 50
    motion = (0.3 * np.sin(2 * np.pi * rng.uniform(0.5, 8, (6, 1, 3)) * t[None, :, None])
              + 0.05 * rng.standard_normal((6, 100, 3)) + np.array([0, 0, 1.0])).astype(np.float32)
    c, reference = imu_spectral(motion), reference_imu.imu_spectral(motion)
    assert c.shape == reference.shape == (6, 57)
    assert np.abs(c - reference).max() < 1e-3
    vibration = (rng.standard_normal((6, 256, 3)) * 0.2).astype(np.float32)
    c, reference = vibration_spectrum(vibration), reference_imu.vibration_spectrum(vibration)
    assert np.abs(c - reference).max() < 1e-3


def test_c_pixels_equal_the_numpy_scaling_exactly():
    images = np.random.default_rng(3).integers(0, 256, (4, 96, 96, 3), dtype=np.uint8)
    for scale in ("unit", "signed", "raw"):
        assert np.array_equal(scale_pixels(images, scale), reference_image.scale_pixels(images, scale))


def test_camera_frames_are_cropped_resized_and_turned_gray():
    frame = np.zeros((1, 120, 160, 3), np.uint8)
    frame[0, :, 20:140] = [255, 0, 0]                       # the centred 120x120 square is red
    config = lab_config({"type": "image", "scale": "raw"}, {}, (60, 60, 1), frame=(120, 160, 3))
    gray = native.features_float(config, frame).reshape(60, 60)
    assert np.all(gray == (77 * 255 + 128) >> 8)             # red in gray, the black sides cropped away


def test_int8_input_is_the_float_features_quantized_half_to_even():
    audio = speech_like(np.random.default_rng(4), 3)
    features = {"type": "mfcc"}
    dataset = {"sample_rate_hz": 16000}
    floats = extract(features, dataset, audio)
    q = extract_int8(features, dataset, audio, 0.4485, 61)
    assert q.dtype == np.int8 and q.shape == floats.shape
    assert np.array_equal(q, quantize_features(floats, 0.4485, 61))
    config = lab_config({"type": "image"}, {}, (1, 1, 1)).quantized(1.0, 0)
    halves = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 126.5, 127.5, 1000.0, -1000.0], np.float32)
    assert native.quantize(config, halves).tolist() == [0, 2, 2, 0, -2, 126, 127, 127, -128]


def test_the_host_library_is_built_once_per_source(monkeypatch, tmp_path):
    first = native.build_library()
    assert first == native.build_library() and first.is_file()
    copy = tmp_path / "features"
    shutil.copytree(FIRMWARE_DIR / "features", copy)
    (copy / "kit_features.c").write_text((copy / "kit_features.c").read_text() + "\n/* edited */\n")
    monkeypatch.setattr(native, "FEATURES_DIR", copy)
    edited = native.build_library()
    assert edited != first and edited.is_file()


def test_no_gcc_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("KIT_HOME", str(tmp_path))  # an empty cache: the library must be built
    with pytest.raises(ToolMissingError) as error:
        native.build_library(gcc="kit-no-such-gcc")
    assert "gcc is not installed" in error.value.message and "apt-get install" in error.value.hint


def test_kit_lab_header_compiles_and_computes_what_the_host_does(tmp_path):
    """kit_lab.h's struct, built by gcc with the features C, gives the host's int8 input."""
    header = lab_files(MODELS_DIR / "motion" / "card.json")["kit_lab.h"]
    (tmp_path / "kit_lab.h").write_text(header)
    card = json.loads((MODELS_DIR / "motion" / "card.json").read_text())
    window = np.random.default_rng(5).standard_normal((100, 3)).astype(np.float32)
    (tmp_path / "window.bin").write_bytes(window.tobytes())
    (tmp_path / "main.c").write_text("""
#include <stdio.h>
#include "kit_lab.h"
int main(int argc, char **argv) {
    static unsigned char raw[KIT_LAB_RAW_BYTES];
    int8_t out[KIT_LAB_INPUT_VALUES];
    FILE *f = fopen(argv[1], "rb");
    if (argc != 2 || !f || fread(raw, 1, sizeof raw, f) != sizeof raw) return 2;
    if (kit_features_int8(&kit_lab_features, raw, out, KIT_LAB_INPUT_VALUES) != (int32_t)KIT_LAB_INPUT_VALUES) return 3;
    fwrite(out, 1, sizeof out, stdout);
    return 0;
}
""")
    binary = tmp_path / "lab"
    features = FIRMWARE_DIR / "features"
    subprocess.run(["gcc", "-std=c99", "-O2", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror", f"-I{features}",
                    f"-I{tmp_path}", str(tmp_path / "main.c"), str(features / "kit_features.c"), "-o", str(binary)],
                   check=True)
    device = subprocess.run([str(binary), str(tmp_path / "window.bin")], capture_output=True, check=True).stdout
    host = extract_int8({"type": "imu-spectral", "fft_length": 32, "bands": 16}, {}, window[None],
                        card["input"]["scale"], card["input"]["zero_point"])
    assert np.frombuffer(device, np.int8).tolist() == host.reshape(-1).tolist()
