"""Every lab's reference model (models/<lab>/model.tflite, made by `kit train`) runs
bit-exactly on kit's runtime, through the same entry point as `kit invoke host LAB`."""

from __future__ import annotations

import numpy as np
import pytest

from kit import paths
from kit.catalog import list_labs
from kit.runtime_host.dispatch import resolve_model
from kit.targets import invoke_on_board
from kit.tflm import TflmInterpreter
from tests.runtime.conftest import random_inputs

SAMPLES = 100
# The Pi labs' 160/224 px MobileNetV2s cost 10-20x the MCU labs' models per inference: fewer
# random inputs keep the check within seconds (each still runs every op of the graph).
SAMPLES_OVER_96_PX = 8
LABS = [lab.name for lab in list_labs()]


@pytest.mark.slow
@pytest.mark.parametrize("lab", LABS)
def test_lab_reference_model_matches_tflm(lab):
    if not (paths.MODELS_DIR / lab / "model.tflite").is_file():
        pytest.skip(f"models/{lab}/model.tflite not committed yet (kit train {lab} makes it)")
    path, _ = resolve_model(lab)
    reference = TflmInterpreter(path)
    big = int(np.prod(reference.input.shape[1:])) > 96 * 96 * 3
    inputs = random_inputs(reference.input.shape, SAMPLES_OVER_96_PX if big else SAMPLES, seed=7)
    expected = reference.run(inputs)
    actual = invoke_on_board("host", lab, inputs)
    assert np.array_equal(actual, expected), f"{lab}: kit and TFLM outputs differ"
