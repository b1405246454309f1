"""The kws-yesno lab (the book's own KWS setup: 13 x 49 MFCC, a 1-D CNN) end to end: kit's
compiled model equals TFLM on the host on real features, then `kit flash emu-cortex-m4 kws-yesno`,
`kit bench` and `kit validate` on the twin, bit-exact with TFLM."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from kit.catalog import get_lab
from kit.cli import main
from kit.data import load_dataset
from kit.paths import MODELS_DIR
from kit.targets import invoke_on_board, stop
from kit.tflm import TflmInterpreter
from kit.train.quantize import quantize_features

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
BOARD = "emu-cortex-m4"


def kit(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_kws_yesno_compiles_bit_exact_and_validates_on_the_m4_twin():
    card = json.loads((MODELS_DIR / "kws-yesno" / "card.json").read_text())
    assert card["ops"] == ["CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D", "RESHAPE", "SOFTMAX"]
    assert card["input"]["shape"] == [1, 49, 13, 1] and card["labels"] == get_lab("kws-yesno").labels
    dataset = load_dataset(get_lab("kws-yesno"), size="tiny")
    reference = TflmInterpreter(MODELS_DIR / "kws-yesno" / "model.tflite")
    inputs = quantize_features(dataset.x_test[:40], reference.input.scale, reference.input.zero_point)
    assert np.array_equal(invoke_on_board("host", "kws-yesno", inputs), reference.run(inputs))
    try:
        code, out, err = kit("flash", BOARD, "kws-yesno")
        assert code == 0, err
        assert "handshake ok" in " ".join(out.split())
        code, out, err = kit("bench", BOARD, "--runs", "3", "--warmup", "1", "--json")
        assert code == 0, err
        bench = json.loads(out)
        assert bench["runs"] == 3 and bench["sha256"] == card["sha256"] and bench["instructions"]["min"] > 0
        assert [layer["op"] for layer in bench["layers"]] == [layer["op"] for layer in card["layers"]]
        code, out, err = kit("validate", BOARD, "kws-yesno", "--limit", "30", "--data-size", "tiny", "--json")
        assert code == 0, err
        report = json.loads(out)
        assert report["samples"] == 30 and report["bit_exact"] is True and report["first_mismatch"] is None
        assert report["accuracy"] >= 0.7  # held-out speakers of the tiny set; the card: 95% on the full one
    finally:
        stop(BOARD)
