"""The Raspberry Pi camera in the student's loop, against the real sshd on 127.0.0.1 (the "Pi" is
this machine). The camera is a stand-in behind Picamera2's interface (tests/deploy/fake_picamera2:
its frames come in B, G, R order like Picamera2's RGB888); no real Pi camera ran here.
`kit capture` writes the frames as PNGs; `kit run` gives, frame by frame, the int8 output the
laptop's kit.features + LiteRT give for the same frame."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from kit.bench.results import read_records
from kit.catalog import get_lab
from kit.cli import main
from kit.deploy import RemoteLayout, RemotePython, deploy_lab
from kit.device.pi_camera import capture_pi, run_pi
from kit.errors import DeviceError
from kit.features import native
from kit.features.config import image_config, lab_config
from kit.paths import MODELS_DIR

FAKE_CAMERA = Path(__file__).with_name("fake_picamera2")
DEPLOY_DIR = Path(__file__).resolve().parents[2] / "host" / "kit" / "deploy"
FRAME = (320, 240)


def camera_frames(count: int, seed: int = 5) -> np.ndarray:
    """RGB frames: a lab test image blown up into the centre over a noisy background."""
    from kit.data import load_raw

    images = load_raw("image-classification", seed=0, size="tiny").x[:count]
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (count, FRAME[1], FRAME[0], 3), dtype=np.uint8)
    picked = (np.arange(240) * 96) // 240
    frames[:, :, 40:280] = images[:, picked][:, :, picked]
    return frames


def camera_python(folder: Path, frames: np.ndarray | None, none: bool = False) -> str:
    """The "Pi"'s Python: this test run's, with the stand-in Picamera2 importable (or not)."""
    folder.mkdir(parents=True, exist_ok=True)
    environment = ""
    if frames is not None:
        np.save(folder / "frames.npy", frames)
        environment = f"PYTHONPATH={FAKE_CAMERA} KIT_FAKE_CAMERA_FRAMES={folder / 'frames.npy'} "
    if none:
        environment += "KIT_FAKE_CAMERA_NONE=1 "
    wrapper = folder / "python"
    wrapper.write_text(f"#!/bin/sh\n{environment}exec {sys.executable} \"$@\"\n")
    wrapper.chmod(0o755)
    return str(wrapper)


def host_outputs(lab_name: str, frames: np.ndarray) -> np.ndarray:
    """What the laptop computes for the same frames: kit.features (kit_features.c) + LiteRT."""
    from ai_edge_litert.interpreter import Interpreter

    lab = get_lab(lab_name)
    interpreter = Interpreter(model_path=str(MODELS_DIR / lab_name / "model.tflite"))
    interpreter.allocate_tensors()
    detail, output = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    scale, zero_point = detail["quantization"]
    config = lab_config(lab.features.model_dump(), lab.dataset.model_dump(), tuple(lab.io.input_shape[1:]),
                        frame=(FRAME[1], FRAME[0], 3)).quantized(scale, zero_point)
    inputs = native.features_int8(config, frames).reshape(len(frames), *detail["shape"][1:])
    results = []
    for one in inputs:
        interpreter.set_tensor(detail["index"], one[None])
        interpreter.invoke()
        results.append(interpreter.get_tensor(output["index"]).reshape(-1).copy())
    return np.array(results)


def test_capture_writes_the_cameras_frames_as_pngs(sshd, remote_root, clean_env, tmp_path):
    frames = camera_frames(3)
    python = RemotePython(camera_python(tmp_path / "pi", frames), use_venv=False)
    out = tmp_path / "my-fruit"
    (out / "apple").mkdir(parents=True)
    (out / "apple" / "apple-1.png").write_bytes(b"an earlier capture")
    summary = capture_pi("raspberry-pi-5", sshd.target(), "apple", out, 3, frame=FRAME,
                         layout=RemoteLayout(remote_root), python=python)
    assert [p.name for p in summary.files] == ["apple-2.png", "apple-3.png", "apple-4.png"]  # never overwrites
    for path, frame in zip(summary.files, frames):
        assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), frame)  # R, G, B again
    assert (out / "apple" / "apple-1.png").read_bytes() == b"an earlier capture"


@pytest.mark.slow
def test_run_on_the_camera_equals_the_laptops_pipeline(sshd, remote_root, clean_env, tmp_path):
    frames = camera_frames(4)
    python = RemotePython(camera_python(tmp_path / "pi", frames), use_venv=False)
    deploy_lab("raspberry-pi-5", "image-classification", sshd.target(), layout=RemoteLayout(remote_root), python=python)
    summary = run_pi("raspberry-pi-5", sshd.target(), get_lab("image-classification"), 4, frame=FRAME,
                     results_dir=tmp_path / "runs")
    expected = host_outputs("image-classification", frames)
    assert summary.status == "complete"
    assert np.array_equal(np.array([r["output"] for r in summary.records]), expected)
    labels = get_lab("image-classification").labels
    assert [r["label_name"] for r in summary.records] == [labels[int(np.argmax(row))] for row in expected]
    records = list(read_records(summary.results_path))
    assert [r["index"] for r in records if r["type"] == "live"] == [0, 1, 2, 3]
    assert all(r["inference_ms"] > 0 for r in records if r["type"] == "live")
    assert records[-1]["status"] == "complete"

    # the same through `kit run PI LAB --host ...`
    result = CliRunner().invoke(main, ["run", "raspberry-pi-5", "image-classification", *sshd.cli_args(), "--frames", "2",
                                       "--results-dir", str(tmp_path / "cli-runs")])
    assert result.exit_code == 0, result.output
    assert "2 frames (complete)" in result.output and "inference" in result.output


def test_a_pi_without_picamera2_or_without_a_camera_gets_the_fix(sshd, remote_root, clean_env, tmp_path):
    without = RemotePython(camera_python(tmp_path / "plain", None), use_venv=False)
    with pytest.raises(DeviceError) as missing:
        capture_pi("raspberry-pi-5", sshd.target(), "apple", tmp_path / "out", 2, layout=RemoteLayout(remote_root), python=without)
    assert "picamera2 does not import" in missing.value.message and "python3-picamera2" in missing.value.hint
    assert "--system-site-packages" in missing.value.hint
    no_camera = RemotePython(camera_python(tmp_path / "none", camera_frames(1), none=True), use_venv=False)
    with pytest.raises(DeviceError) as absent:
        capture_pi("raspberry-pi-5", sshd.target(), "apple", tmp_path / "out", 2, layout=RemoteLayout(remote_root), python=no_camera)
    assert "the camera did not start" in absent.value.message and "rpicam-hello --list-cameras" in absent.value.hint


def test_cli_capture_on_a_pi_forwards_the_ssh_options(sshd, remote_root, clean_env, tmp_path):
    python = camera_python(tmp_path / "pi", camera_frames(2))
    result = CliRunner().invoke(main, ["capture", "raspberry-pi-5", "--sensor", "camera", "--label", "banana", "--count", "2",
                                       "--out", str(tmp_path / "data"), *sshd.cli_args(), "--remote-dir", remote_root,
                                       "--remote-python", python, "--no-venv"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "data" / "banana").iterdir()) == ["banana-1.png", "banana-2.png"]
    refused = CliRunner().invoke(main, ["capture", "raspberry-pi-5", "--sensor", "mic", "--label", "x", *sshd.cli_args()])
    assert refused.exit_code != 0 and "records its camera only" in " ".join(refused.output.split())
    mcu = CliRunner().invoke(main, ["capture", "emu-cortex-m4", "--sensor", "mic", "--label", "x", "--host", "pi@x"])
    assert mcu.exit_code != 0 and "SSH options are only for Raspberry Pi boards" in " ".join(mcu.output.split())


def test_the_pis_pixels_are_kit_features_pixels():
    """pi_camera.model_pixels + the laptop's table equal kit_features.c on frames wider, taller and
    gray, the cases of its centred crop and gray formula."""
    sys.path.insert(0, str(DEPLOY_DIR))
    try:
        import pi_camera
    finally:
        sys.path.remove(str(DEPLOY_DIR))
    from kit.device.pi_camera import pixel_table

    rng = np.random.default_rng(3)
    table = np.frombuffer(pixel_table(get_lab("image-classification"), 0.0039215, -128), np.int8)
    for (height, width), model in (((240, 320), (96, 96, 3)), ((480, 270), (96, 96, 1)), ((100, 100), (48, 64, 1))):
        frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        got = table[pi_camera.model_pixels(frame, *model)]
        config = image_config((height, width, 3), model, "unit").quantized(0.0039215, -128)
        expected = native.features_int8(config, frame[None]).reshape(model)
        assert np.array_equal(got, expected), (height, width, model)
    assert json.dumps(table.tolist())  # 256 plain ints


@pytest.mark.slow
def test_run_the_detection_lab_on_the_camera(sshd, remote_root, clean_env, tmp_path):
    """The object-detection lab (a gray 96x96 model: the Pi takes the gray formula's path) on the
    camera: each frame's grid equals the laptop's, and its objects are decode_grid's."""
    from kit.data import load_raw
    from kit.train.detection import decode_grid

    scenes = load_raw("object-detection", seed=0, size="tiny").x[:4, :, :, 0]
    frames = np.zeros((4, FRAME[1], FRAME[0], 3), np.uint8)
    picked = (np.arange(240) * 96) // 240
    frames[:, :, 40:280] = np.repeat(scenes[:, picked][:, :, picked][..., None], 3, axis=-1)
    python = RemotePython(camera_python(tmp_path / "pi", frames), use_venv=False)
    deploy_lab("raspberry-pi-5", "object-detection", sshd.target(), layout=RemoteLayout(remote_root), python=python)
    lab = get_lab("object-detection")
    summary = run_pi("raspberry-pi-5", sshd.target(), lab, 4, frame=FRAME, results_dir=tmp_path / "runs")
    expected = host_outputs("object-detection", frames)
    assert np.array_equal(np.array([r["output"] for r in summary.records]), expected)
    card = json.loads((MODELS_DIR / "object-detection" / "card.json").read_text())
    total = 0
    for record, grid in zip(summary.records, expected):
        scores = (grid.reshape(12, 12, 3).astype(np.float32) - card["output"]["zero_point"]) * card["output"]["scale"]
        want = decode_grid(scores, lab.detection.score_threshold)
        assert [(o["label"], o["row"], o["col"]) for o in record["objects"]] == [(w.label, w.row, w.col) for w in want]
        total += len(want)
    assert total > 0
