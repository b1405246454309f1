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


def kit(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True, scope="module")
def stop_at_the_end():
    yield
    stop(BOARD)


def test_detection_lab_flash_bench_validate_on_a_twin():
    code, out, err = kit("flash", BOARD, LAB)
    assert code == 0, err
    entry = device_state.load(BOARD)
    assert entry is not None and entry.is_alive() and entry.lab == LAB

    code, out, err = kit("bench", BOARD, "--runs", "2", "--warmup", "1", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["runs"] == 2 and report["sha256"] == entry.sha256
    assert {layer["op"] for layer in report["layers"]} >= {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "SOFTMAX"}

    result = validate_lab(BOARD, LAB, limit=8, size="tiny")
    assert result.samples == 8 and result.bit_exact, result.first_mismatch
    assert result.detection is not None and result.accuracy_kind == "centroid F1"
    assert 0.0 <= result.detection["f1"] <= 1.0 and result.accuracy == result.detection["f1"]
    assert {"precision", "recall", "f1_apple", "f1_banana"} <= set(result.detection)
