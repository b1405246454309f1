"""`kit run` on real QEMU twins fed a lab's recordings: the board slides its windows over the
virtual sensor, computes the features itself, runs the model and prints a record per window.
Every window's raw output must equal the host pipeline's (kit.features int8 input + the TFLM
interpreter), and every label the host's average of the same windows."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kit.bench.results import read_records
from kit.catalog import get_lab
from kit.cli import main as cli_main  # noqa: E402
from kit.data import load_raw
from kit.device.live import run_live
from kit.features import audio_to_pcm16, extract, extract_int8
from kit.paths import MODELS_DIR
from kit.targets import connect, flash, stop
from kit.tflm import TflmInterpreter
from kit.train.evaluate import reconstruction_errors

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def host_outputs(lab: str, windows: np.ndarray) -> np.ndarray:
    """The int8 model outputs the host computes for raw windows (int16 PCM or float32 IMU)."""
    spec, card = get_lab(lab), json.loads((MODELS_DIR / lab / "card.json").read_text())
    raw = windows.astype(np.float32) / 32768.0 if windows.dtype == np.int16 else windows.astype(np.float32)
    inputs = extract_int8(spec.features.model_dump(), spec.dataset.model_dump(), raw, card["input"]["scale"],
                          card["input"]["zero_point"])
    return TflmInterpreter(MODELS_DIR / lab / "model.tflite").run(inputs).reshape(len(windows), -1)


def averaged_labels(outputs: np.ndarray, average: int) -> list[int]:
    """The board's rule: argmax of the mean of the last `average` outputs (first of ties)."""
    sums = np.cumsum(outputs.astype(np.int64), axis=0)
    labels = []
    for index in range(len(outputs)):
        low = index - average
        window_sum = sums[index] - (sums[low] if low >= 0 else 0)
        labels.append(int(np.argmax(window_sum)))
    return labels


def test_kws_on_the_m4_twin_matches_the_host_window_by_window(tmp_path):
    clips = load_raw("kws", seed=0, size="tiny")
    audio = np.concatenate([audio_to_pcm16(clip) for clip in clips.x[clips.split == "test"][:4]])
    source = tmp_path / "stream.wav"
    with wave.open(str(source), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(audio.astype("<i2").tobytes())
    try:
        flash("emu-cortex-m4", "kws")
        with connect("emu-cortex-m4") as session:
            summary = run_live(session, get_lab("kws"), source=source, results_dir=tmp_path)

            def ctrl_c_at_the_third(record) -> None:
                if record.index == 2:
                    raise KeyboardInterrupt

            stopped = run_live(session, get_lab("kws"), source=source, results_dir=tmp_path / "stopped",
                               on_record=ctrl_c_at_the_third)
            assert session.client.command("name").lines == ["m-name-dut-[kit-emu-cortex-m4]"]  # kit-cancel took
    finally:
        stop("emu-cortex-m4")
    starts = range(0, len(audio) - 16000 + 1, 8000)  # 1 s windows, half a window apart
    expected = host_outputs("kws", np.stack([audio[s:s + 16000] for s in starts]))
    records = summary.records
    assert len(records) == len(starts) == 7 and summary.status == "ended"
    assert [r.end_sample for r in records] == [s + 16000 for s in starts]
    assert np.array_equal(np.array([np.frombuffer(r.output, np.int8) for r in records]), expected)
    assert [r.label for r in records] == averaged_labels(expected, 3)
    assert all(r.dropped == 0 and r.infer_ticks > 0 and r.feature_ticks > 0 for r in records)
    written = list(read_records(summary.results_path))
    assert written[0]["type"] == "header" and written[0]["lab"] == "kws" and written[-1]["status"] == "ended"
    assert [w["label"] for w in written if w["type"] == "live"] == [r.label for r in records]
    assert stopped.status == "cancelled" and len(stopped.records) == 3
    assert list(read_records(stopped.results_path))[-1]["status"] == "cancelled"


def test_motion_on_the_rv32_twin_from_a_folder_of_csvs_through_the_cli(tmp_path):
    spec = get_lab("motion")
    raw = load_raw("motion", seed=0, size="tiny")
    windows = raw.x[raw.split == "test"][:6].astype(np.float32)
    folder = tmp_path / "recordings"
    folder.mkdir()
    for index, window in enumerate(windows):  # one 2 s window per file, each fed in turn
        rows = "".join(",".join(repr(float(v)) for v in sample) + "\n" for sample in window)
        (folder / f"take-{index}.csv").write_text("ax,ay,az\n" + rows)
    try:
        flash("emu-rv32", "motion")
        result = CliRunner().invoke(cli_main, ["run", "emu-rv32", "motion", "--source", str(folder),
                                               "--results-dir", str(tmp_path / "results"), "--plain"])
    finally:
        stop("emu-rv32")
    assert result.exit_code == 0, result.output
    files = list((tmp_path / "results").glob("run-*.jsonl"))
    assert len(files) == 1
    live = [r for r in read_records(files[0]) if r["type"] == "live"]
    expected = host_outputs("motion", windows)
    assert [bytes.fromhex(r["output"]) for r in live] == [row.tobytes() for row in expected]
    assert [r["label_name"] for r in live] == [spec.labels[i] for i in averaged_labels(expected, 1)]
    assert [Path(r["source"]).name for r in live] == [f"take-{i}.csv" for i in range(6)]
    assert "windows" in result.output


def host_anomaly(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The anomaly lab on the host: (TFLM reconstructions, reconstruction errors, the card's
    int8 threshold); the error is the card's own (float features vs dequantised output)."""
    spec, card = get_lab("anomaly"), json.loads((MODELS_DIR / "anomaly" / "card.json").read_text())
    features = extract(spec.features.model_dump(), spec.dataset.model_dump(), windows).reshape(len(windows), -1)
    outputs = host_outputs("anomaly", windows)
    reconstruction = (outputs.astype(np.float64) - card["output"]["zero_point"]) * card["output"]["scale"]
    return outputs, reconstruction_errors(features, reconstruction), float(card["threshold_int8"])


def write_csvs(folder: Path, windows: np.ndarray, axes: list[str]) -> None:
    folder.mkdir()
    for index, window in enumerate(windows):  # one window per file, each fed in turn
        rows = "".join(",".join(repr(float(v)) for v in sample) + "\n" for sample in window)
        (folder / f"take-{index}.csv").write_text(",".join(axes) + "\n" + rows)


@pytest.mark.parametrize("board", ["emu-cortex-m4", "emu-cortex-m7"])
def test_anomaly_on_a_twin_reports_the_score_and_the_cards_decision(tmp_path, board):
    spec = get_lab("anomaly")
    raw = load_raw("anomaly", seed=0, size="tiny")
    test_x, test_y = raw.x[raw.split == "test"], raw.y[raw.split == "test"]
    windows = np.concatenate([test_x[test_y == 0][:3], test_x[test_y == 1][:3]]).astype(np.float32)
    write_csvs(tmp_path / "recordings", windows, [str(a) for a in spec.dataset.axes])
    try:
        flash(board, "anomaly")
        result = CliRunner().invoke(cli_main, ["run", board, "anomaly", "--source", str(tmp_path / "recordings"),
                                               "--results-dir", str(tmp_path / "results"), "--plain"])
    finally:
        stop(board)
    assert result.exit_code == 0, result.output
    records = list(read_records(next((tmp_path / "results").glob("run-*.jsonl"))))
    live = [r for r in records if r["type"] == "live"]
    outputs, errors, threshold = host_anomaly(windows)
    assert records[0]["task"] == "anomaly" and records[0]["threshold"] == threshold
    assert [bytes.fromhex(r["output"]) for r in live] == [row.tobytes() for row in outputs]  # 96 values each
    assert np.allclose([r["anomaly_score"] for r in live], errors, atol=2e-3, rtol=0)
    host_decisions = [int(e > threshold) for e in errors]
    assert [r["label"] for r in live] == host_decisions
    assert [r["label_name"] for r in live] == [spec.labels[d] for d in host_decisions]
    assert 0 in host_decisions and 1 in host_decisions  # both verdicts exercised
    assert f"threshold {threshold:.3f}" in result.output


@pytest.mark.parametrize(("lab", "board"), [("image-classification", "emu-cortex-m7"),
                                            ("visual-wake-words", "emu-rv32")])
def test_camera_labs_on_a_twin_from_pngs_match_the_host(tmp_path, lab, board):
    from PIL import Image

    spec = get_lab(lab)
    raw = load_raw(lab, seed=0, size="tiny")
    test_x, test_y = raw.x[raw.split == "test"], raw.y[raw.split == "test"]
    images = np.stack([test_x[test_y == label][0] for label in sorted(set(test_y.tolist()))[:3]]).astype(np.uint8)
    folder = tmp_path / "frames"
    folder.mkdir()
    for index, image in enumerate(images):
        Image.fromarray(image).save(folder / f"frame-{index}.png")
    try:
        flash(board, lab)
        with connect(board) as session:
            summary = run_live(session, spec, source=folder, results_dir=tmp_path)
    finally:
        stop(board)
    card = json.loads((MODELS_DIR / lab / "card.json").read_text())
    inputs = extract_int8(spec.features.model_dump(), spec.dataset.model_dump(), images, card["input"]["scale"],
                          card["input"]["zero_point"])
    expected = TflmInterpreter(MODELS_DIR / lab / "model.tflite").run(inputs).reshape(len(images), -1)
    assert summary.status == "ended" and len(summary.records) == len(images)
    assert [r.output for r in summary.records] == [row.tobytes() for row in expected]
    assert [r.label for r in summary.records] == averaged_labels(expected, 1)
    assert [Path(r.source).name for r in summary.records] == [f"frame-{i}.png" for i in range(len(images))]


@pytest.mark.parametrize("board", ["emu-cortex-m4", "emu-cortex-m7", "emu-rv32"])
def test_motion_kmeans_score_on_a_twin_agrees_with_the_host(tmp_path, board):
    """The board scores each window with the card's K-means right after the classifier. Host
    (kit.train.kmeans, float32 in the C's order, -ffp-contract=off builds) and board agree within
    the stated 1e-3 (the record carries 3 decimals); in fact to the printed digit on all twins."""
    from kit.features import extract
    from kit.train.kmeans import KMeans, kmeans_scores
    from kit.train.unseen_motion import unseen_windows

    spec = get_lab("motion")
    raw = load_raw("motion", seed=0, size="tiny")
    known = raw.x[raw.split == "test"][:3].astype(np.float32)
    unseen, kinds, _ = unseen_windows(spec.dataset.model_dump(), seed=5, per_kind=1)
    windows = np.concatenate([known, unseen])
    write_csvs(tmp_path / "recordings", windows, [str(a) for a in spec.dataset.axes])
    try:
        flash(board, "motion")
        result = CliRunner().invoke(cli_main, ["run", board, "motion", "--source", str(tmp_path / "recordings"),
                                               "--results-dir", str(tmp_path / "results"), "--plain"])
    finally:
        stop(board)
    assert result.exit_code == 0, result.output
    live = [r for r in read_records(next((tmp_path / "results").glob("run-*.jsonl"))) if r["type"] == "live"]
    card = json.loads((MODELS_DIR / "motion" / "card.json").read_text())
    model = KMeans.from_card(card["anomaly"])
    host = kmeans_scores(model, extract(spec.features.model_dump(), spec.dataset.model_dump(), windows))
    assert [bytes.fromhex(r["output"]) for r in live] == [row.tobytes() for row in host_outputs("motion", windows)]
    board_scores = np.array([r["kmeans_score"] for r in live])
    # the C prints (int64)(score * 1000.0f + 0.5f) thousandths: the host's score printed the same way
    printed = np.trunc((host * np.float32(1000.0) + np.float32(0.5)).astype(np.float32)).astype(np.int64)
    assert np.round(board_scores * 1000).astype(np.int64).tolist() == printed.tolist()
    assert np.allclose(board_scores, host, atol=1e-3, rtol=0)
    assert [r["anomalous"] for r in live] == [bool(s > model.threshold) for s in host]
    assert not any(r["anomalous"] for r in live[:3]) and sum(r["anomalous"] for r in live[3:]) >= 3
    assert "anomaly" in result.output
