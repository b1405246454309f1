"""The object-detection lab end to end on one QEMU twin: kit flash + bench + validate, the
board's output grids bit-exact with TFLM and decoded on the host into a centroid F1."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kit.cli import main
from kit.device.flow import validate_lab
from kit.targets import state as device_state
from kit.targets import stop

pytestmark = pytest.mark.slow
BOARD, LAB = "emu-cortex-m4", "object-detection"
CAMERA_BOARD = "emu-cortex-m7"  # a twin with a (virtual) camera


def kit(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True, scope="module")
def stop_at_the_end():
    yield
    stop(BOARD)
    stop(CAMERA_BOARD)


def test_detection_lab_flash_bench_validate_on_a_twin():
    code, out, err = kit("flash", BOARD, LAB)
    assert code == 0, err
    entry = device_state.load(BOARD)
    assert entry is not None and entry.is_alive() and entry.lab == LAB

    code, out, err = kit("bench", BOARD, "--runs", "2", "--warmup", "1", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["runs"] == 2 and report["sha256"] == entry.sha256
    # the residual ADDs run inside the CONV_2D before them (kit.compile.fuse): no ADD op is left
    assert {layer["op"] for layer in report["layers"]} >= {"CONV_2D", "DEPTHWISE_CONV_2D", "SOFTMAX"}

    result = validate_lab(BOARD, LAB, limit=8, size="tiny")
    assert result.samples == 8 and result.bit_exact, result.first_mismatch
    assert result.detection is not None and result.accuracy_kind == "centroid F1"
    assert 0.0 <= result.detection["f1"] <= 1.0 and result.accuracy == result.detection["f1"]
    assert {"precision", "recall", "f1_apple", "f1_banana"} <= set(result.detection)


def test_kit_run_decodes_objects_on_the_board_and_draws_them(tmp_path):
    """`kit run` on the twin: the board decodes its grid with kit_detect.c; every window's objects
    equal the host's decode_grid of TFLM's output for the same frame, and the frame is drawn."""
    import numpy as np
    from PIL import Image

    from kit.bench.results import read_records
    from kit.catalog import get_lab
    from kit.data import load_raw
    from kit.features import extract_int8
    from kit.paths import MODELS_DIR
    from kit.tflm import TflmInterpreter
    from kit.train.detection import decode_grid

    lab = get_lab(LAB)
    frames = load_raw(LAB, seed=0, size="tiny").x[:6]
    folder = tmp_path / "scenes"
    folder.mkdir()
    for index, frame in enumerate(frames):
        Image.fromarray(frame[..., 0]).save(folder / f"scene{index}.png")
    code, _, err = kit("flash", CAMERA_BOARD, LAB)
    assert code == 0, err
    code, out, err = kit("run", CAMERA_BOARD, "--source", str(folder), "--results-dir", str(tmp_path / "runs"), "--plain")
    assert code == 0, err + out
    records = [r for r in read_records(next((tmp_path / "runs").glob("run-*.jsonl"))) if r["type"] == "live"]
    assert len(records) == len(frames)

    card = json.loads((MODELS_DIR / LAB / "card.json").read_text())
    interpreter = TflmInterpreter(MODELS_DIR / LAB / "model.tflite")
    inputs = extract_int8(lab.features.model_dump(), lab.dataset.model_dump(), frames, card["input"]["scale"],
                          card["input"]["zero_point"]).reshape(len(frames), *interpreter.input.shape[1:])
    grids = interpreter.run(inputs)
    scale, zero_point = card["output"]["scale"], card["output"]["zero_point"]
    found_any = 0
    for record, grid in zip(records, grids):
        assert bytes.fromhex(record["output"]) == np.asarray(grid, np.int8).tobytes()  # bit-exact grid
        expected = decode_grid((np.asarray(grid, np.float32) - zero_point) * scale, lab.detection.score_threshold)
        got = record["objects"]
        assert record["object_count"] == len(expected) == len(got)
        for one, want in zip(got, expected):
            assert (one["label"], one["row"], one["col"]) == (want.label, pytest.approx(want.row, abs=1e-3),
                                                             pytest.approx(want.col, abs=1e-3))
            assert one["score"] == pytest.approx(want.score, abs=1e-3)
        found_any += len(got)
        drawn = Image.open(record["annotated"])
        assert drawn.size[0] >= 96 and (not got or np.asarray(drawn.convert("RGB"))[..., 0].max() == 255)
    assert found_any > 0  # the scenes hold apples and bananas: the board found some
    assert "object(s):" in out
