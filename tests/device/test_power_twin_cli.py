"""`kit bench emu-cortex-m4 --meter modelled` on the real QEMU twin: the meter path from the
CLI, energy equal to the board file's power x the instruction-counted time, samples and a
current-trace plot on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kit.bench.results import read_records
from kit.bench.samples import read_samples
from kit.catalog import get_board
from kit.cli import main
from kit.targets import stop

pytestmark = pytest.mark.slow
BOARD = "emu-cortex-m4"


def kit(*args: str):
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def running_twin():
    code, _, err = kit("flash", BOARD, "kws")
    assert code == 0, err
    yield
    stop(BOARD)


def test_modelled_meter_through_the_cli(running_twin):
    code, out, err = kit("bench", BOARD, "--runs", "3", "--warmup", "1", "--meter", "modelled", "--json")
    assert code == 0, err
    report = json.loads(out)
    energy, board = report["energy"], get_board(BOARD)
    assert energy["label"] == "modelled" and energy["meter"] == "modelled" and energy["sync"] == "trigger"
    # as without a meter: the catalog active power x the (QEMU-counted) time per inference
    assert energy["uj_per_inference"] == pytest.approx(board.active_power_mw * report["latency_us"]["mean"] / 1000,
                                                       rel=1e-9)
    assert energy["idle_power_mw"] == pytest.approx(board.idle_power_mw, rel=1e-9)
    assert len(energy["per_inference_uj"]) == 3
    samples = list(read_samples(Path(energy["samples_file"])))
    assert len(samples) == energy["samples"] > 3
    records = list(read_records(Path(report["results_file"])))
    assert sum(r["type"] == "energy" for r in records) == 3 and records[-1]["status"] == "complete"
    assert Path(report["power_plot"]).is_file() and report["power_plot"].endswith(".power.png")

    code, out, _ = kit("bench", BOARD, "--runs", "2", "--warmup", "0", "--json", "--no-plot")
    plain = json.loads(out)["energy"]
    assert code == 0 and plain["label"] == "modelled" and "meter" not in plain  # today's path, unchanged
