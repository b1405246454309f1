"""`kit validate grove-vision-ai-v2 LAB` and `kit run` against the board peer
(tests/device/sscma_peer.py; no board here): the peer classifies its raw camera frames with a
real int8 model under TFLM (as SSCMA's IMCLS algorithm does) and sends each frame as base64
JPEG; kit decodes the same frames, scores them with TFLM and reports agreement and score
differences, every frame on disk as it arrives. A frame that is not a JPEG is a clear
error with the frames compared so far kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kit.bench.results import read_records
from kit.device.flow import validate_lab
from kit.device.sscma_validate import imcls_input, sscma_scores
from kit.errors import DeviceError
from tests.device.sscma_peer import SscmaBehaviour, imcls_input as peer_input, serve_pty

GROVE = "grove-vision-ai-v2"
LAB = "visual-wake-words"
MODEL = Path(__file__).resolve().parents[2] / "models" / LAB / "model.tflite"


def camera_frames(count: int, seed: int = 3) -> list[np.ndarray]:
    """Camera-like 240x240 frames: a gradient background with a few bright blobs."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:240, 0:240]
    frames = []
    for _ in range(count):
        frame = np.stack([(xx * rng.uniform(0.2, 1.0)) % 256, (yy * rng.uniform(0.2, 1.0)) % 256,
                          np.full_like(xx, rng.integers(0, 255))], axis=-1).astype(np.float64)
        for _ in range(3):
            cy, cx, r = rng.integers(30, 210, 2).tolist() + [int(rng.integers(15, 60))]
            frame[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.integers(0, 255, 3)
        frames.append(frame.clip(0, 255).astype(np.uint8))
    return frames


@pytest.fixture
def grove():
    stops = []

    def start(**behaviour):
        path, board, stop = serve_pty(SscmaBehaviour(model=MODEL, frames=camera_frames(6), **behaviour))
        board.info = f"kit {LAB} 0123456789abcdef"
        stops.append(stop)
        return path, board

    yield start
    for stop in stops:
        stop.set()


def test_kit_and_the_peer_preprocess_alike_but_independently():
    frame = camera_frames(1)[0]
    assert np.array_equal(imcls_input(frame, 96, 96, 3), peer_input(frame, 96, 96, 3))
    assert imcls_input(frame, 96, 96, 1).shape == (1, 96, 96, 1)
    assert sscma_scores(np.array([-128, 127, 0]), 1 / 256, -128).tolist() == [0, 99, 50]


def test_validate_compares_the_boards_answers_on_its_own_frames(grove, tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_HOME", str(tmp_path))
    path, board = grove()
    report = validate_lab(GROVE, LAB, limit=6, port=path)
    assert report.frames == 6 and report.protocol == "sscma"
    assert any(c.endswith("INVOKE=6,0,0") for c in board.commands)  # frames with the results
    assert report.agreement >= 0.5 and report.max_abs_score_diff <= 30  # JPEG: close, not exact
    records = list(read_records(report.results_file))
    frames = [r for r in records if r["type"] == "frame"]
    assert len(frames) == 6 and all(Path(r["frame"]).read_bytes()[:3] == b"\xff\xd8\xff" for r in frames)
    assert all(r["board_classes"] and r["board_top"] == r["board_classes"][0][1] for r in frames)
    assert records[-1]["type"] == "end" and records[-1]["status"] == "complete"
    assert "(1/255, -128)" in report.preprocessing_note and "not bit-exact" in report.note


def test_a_frame_that_is_not_a_jpeg_is_a_clear_error(grove, tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_HOME", str(tmp_path))
    path, _ = grove(image_format="PNG")
    with pytest.raises(DeviceError, match=r"frame 0 from the board is not a JPEG \(it starts with 89504e47"):
        validate_lab(GROVE, LAB, limit=3, port=path)


def test_validate_refuses_a_board_running_another_model(grove, tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_HOME", str(tmp_path))
    path, board = grove()
    board.info = "SenseCraft person detection"
    with pytest.raises(DeviceError, match="does not run a visual-wake-words model kit flashed") as caught:
        validate_lab(GROVE, LAB, limit=3, port=path)
    assert "kit flash grove-vision-ai-v2 visual-wake-words" in caught.value.hint


def test_run_streams_one_record_per_invoke_event(grove, tmp_path, monkeypatch):
    from kit.catalog import get_lab
    from kit.device.sscma_live import run_sscma_live
    from kit.targets import connect

    monkeypatch.setenv("KIT_HOME", str(tmp_path))
    path, board = grove(perf=(7, 30, 2))
    seen = []
    with connect(GROVE, port=path) as session:
        summary = run_sscma_live(session, get_lab(LAB), None, seen.append, max_events=12)
    assert len(summary.records) == 12 == len(seen) and summary.status == "ended"
    assert [r.index for r in seen] == list(range(12)) and {r.feature_ticks for r in seen} == {7}
    assert all(c.endswith(",0,1") for c in board.commands if "INVOKE" in c)  # results only, no frames
    records = [r for r in read_records(summary.results_path) if r["type"] == "live"]
    assert len(records) == 12 and all(r["label_name"] in ("no_person", "person") for r in records)
    assert all(abs(sum(r["scores"]) - 1) < 0.05 for r in records)  # the board's two softmax scores


def test_run_cli_on_a_grove_that_stops_answering(grove, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from kit.cli import main

    from kit.targets.sscma import SscmaTarget

    monkeypatch.setenv("KIT_HOME", str(tmp_path))
    monkeypatch.setattr(SscmaTarget, "run_timeout", 1.0)
    path, board = grove(silent_after_events=25)
    result = CliRunner().invoke(main, ["run", GROVE, LAB, "--port", path, "--seconds", "30", "--plain"])
    # the peer goes silent after 25 events: a clear error, the 25 records kept on disk
    assert result.exit_code != 0 and "stopped answering" in result.output, result.output
    files = list((tmp_path / "results").glob("run-*.jsonl"))
    assert len(files) == 1 and len([r for r in read_records(files[0]) if r["type"] == "live"]) == 25
