"""The id a board reports is the one the unmodified MLPerf Tiny runner needs (it picks its
test from `m-model-[...]` and stops on any other id): kws01/vww01/ic01/ad01/sww01 for a lab
with an MLPerf counterpart and for the MLPerf reference models (known by content), and
`--model-id` when the user names it. Checked on a real QEMU twin with the runner's own
anchored patterns."""

from __future__ import annotations

import re
import shutil
import time

import pytest
from click.testing import CliRunner

from kit.catalog.mlperf import checked_model_id, mlperf_id_of, model_id_for
from kit.cli import main
from kit.targets import state as device_state
from kit.targets import stop
from kit.errors import KitError
from kit.link import open_link

# The runner's patterns (mlcommons/tiny benchmark/runner), as PLATFORM-FACTS.md records them.
RUNNER_MODEL = re.compile(r"^m-(model|profile)-\[([^]]+)]$")
RUNNER_IDS = {"kws01", "vww01", "ic01", "ad01", "sww01"}


def test_reference_models_are_recognised_by_content(mlperf_models):
    expected = {"kws_ref_model": "kws01", "vww_96_int8": "vww01", "pretrainedResnet_quant": "ic01",
                "ad01_int8": "ad01", "str_ww_ref_model": "sww01"}
    assert {name: mlperf_id_of(path.read_bytes()) for name, path in mlperf_models.items()} == expected
    assert mlperf_id_of(mlperf_models["kws_ref_model"].read_bytes() + b"\0") is None


def test_a_lab_with_an_mlperf_counterpart_reports_its_id(tmp_path):
    from kit.train import reference_model

    assert model_id_for(reference_model("kws"), "kws", from_lab=True) == "kws01"
    assert model_id_for(reference_model("motion"), "motion", from_lab=True) == "motion"
    other = tmp_path / "mine.tflite"
    other.write_bytes(b"not an mlperf model")
    assert model_id_for(other, None, from_lab=False) is None
    assert model_id_for(other, None, from_lab=False, explicit="my-model.1") == "my-model.1"


@pytest.mark.parametrize("bad", ["", "two words", "kws]", "x" * 33, "café", "-lead", "pct%"])
def test_a_model_id_the_protocol_cannot_carry_is_refused(bad):
    with pytest.raises(KitError) as caught:
        checked_model_id(bad)
    assert "model id" in str(caught.value) and caught.value.hint


def _reply(port: str, command: str) -> list[str]:
    with open_link(port) as link:
        link.write(f"{command}%")
        lines = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            line = link.read_line(timeout=5).strip()
            lines.append(line)
            if line == "m-ready":
                return lines
    raise AssertionError(f"no m-ready after {command}: {lines}")


def _reported_id(board: str) -> str:
    entry = device_state.load(board)
    assert entry is not None
    matches = [RUNNER_MODEL.match(line) for line in _reply(entry.port, "profile")]
    found = {m.group(1): m.group(2) for m in matches if m}
    assert "model" in found, "no m-model-[...] line in the profile reply"
    return found["model"]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed")
def test_twin_reports_the_runner_ids(mlperf_models):
    runner = CliRunner()
    try:
        flashed = runner.invoke(main, ["flash", "emu-cortex-m4", "kws"])
        assert flashed.exit_code == 0, flashed.output
        assert "as kws01" in flashed.stdout
        assert _reported_id("emu-cortex-m4") in RUNNER_IDS
        assert _reported_id("emu-cortex-m4") == "kws01"
        # A reference model given as a file, with no lab: recognised by content
        flashed = runner.invoke(main, ["flash", "emu-cortex-m4", "--model", str(mlperf_models["ad01_int8"])])
        assert flashed.exit_code == 0, flashed.output
        assert _reported_id("emu-cortex-m4") == "ad01"
        # The user names the id
        flashed = runner.invoke(main, ["flash", "emu-cortex-m4", "--model", str(mlperf_models["ad01_int8"]),
                                       "--model-id", "my-ad"])
        assert flashed.exit_code == 0, flashed.output
        assert _reported_id("emu-cortex-m4") == "my-ad"
        refused = runner.invoke(main, ["flash", "emu-cortex-m4", "--model", str(mlperf_models["ad01_int8"]),
                                       "--model-id", "two words"])
        assert refused.exit_code == 2 and "model id" in refused.output and "Traceback" not in refused.output
    finally:
        stop(None)


def test_flash_without_lab_or_model_says_what_to_give():
    result = CliRunner().invoke(main, ["flash", "emu-cortex-m4"])
    assert result.exit_code == 2
    assert "--model" in result.output and "kit labs" in result.output
