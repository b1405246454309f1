"""The INA219/INA226 firmware path on the twins: the firmware reads the VIRTUAL sensor the
QEMU HALs put on their I2C bus (firmware/hal/kit_virtual_ina.h, a known triangle current
profile), integrates each run's energy on the board, and the host checks it and compares it
with the profile's exact integral over the run's window: within 1 %."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kit.bench.results import read_records
from kit.bench.samples import read_samples
from kit.cli import main
from kit.device.meters.onboard import virtual_profile_uj
from kit.targets import stop

pytestmark = pytest.mark.slow


def kit(*args: str):
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


# emu-cortex-m4's board file names an INA219, emu-rv32's an INA219 on a 1 GHz timer,
# emu-cortex-m7's an INA226: each part's registers and each HAL's timer are exercised.
@pytest.mark.parametrize("board,part", [("emu-cortex-m4", "ina219"), ("emu-cortex-m7", "ina226"),
                                        ("emu-rv32", "ina219")])
def test_energy_per_inference_equals_the_profile_integral(board, part):
    code, _, err = kit("flash", board, "kws")
    assert code == 0, err
    try:
        code, out, err = kit("bench", board, "--runs", "3", "--warmup", "0", "--meter", part, "--json", "--no-plot")
        assert code == 0, err
        report = json.loads(out)
        energy = report["energy"]
        assert energy["meter"] == part and energy["label"] == "modelled" and energy["sync"] == "board"
        assert "virtual" in energy["power_basis"]
        records = list(read_records(Path(report["results_file"])))
        windows = [r for r in records if r["type"] == "board_window"]
        assert len(windows) == 3
        for window, uj in zip(windows, energy["per_inference_uj"]):
            start = window["start_tick"] / window["timer_hz"]
            end = (window["start_tick"] + window["ticks"]) / window["timer_hz"]
            assert uj == pytest.approx(virtual_profile_uj(start, end), rel=0.01)
        samples = list(read_samples(Path(energy["samples_file"])))
        assert len(samples) == energy["samples"] >= 3 * (2 * 12 + 2)  # start, end, around each of 12 ops
        assert all(s.voltage_v == pytest.approx(3.3, abs=0.005) for s in samples)
        assert 5.0 <= min(s.current_a for s in samples) * 1e3 and max(s.current_a for s in samples) * 1e3 <= 25.1
    finally:
        stop(board)


def test_a_board_file_without_the_sensor_is_refused():
    from kit.catalog import get_board
    from kit.device.meters import open_meter
    from kit.errors import KitError

    with pytest.raises(KitError, match="names an INA219, not an INA226"):
        open_meter("ina226", get_board("emu-cortex-m4"), get_board("emu-cortex-m4"), None)


def test_a_real_boards_twin_reads_its_sensor_at_the_boards_supply():
    """`kit flash nicla-vision kws --emulate`: the twin's virtual sensor answers as the Nicla's
    INA219 at the Nicla's 5 V supply (its board file puts the shunt in USB VBUS), so voltage
    and energy follow the board file, not the emulator's 3.3 V default."""
    code, _, err = kit("flash", "nicla-vision", "kws", "--emulate")
    assert code == 0, err
    try:
        code, out, err = kit("bench", "nicla-vision", "--runs", "2", "--warmup", "0", "--meter", "ina219", "--json",
                             "--no-plot")
        assert code == 0, err
        energy = json.loads(out)["energy"]
        report = json.loads(out)
        samples = list(read_samples(Path(energy["samples_file"])))
        assert samples and all(s.voltage_v == pytest.approx(5.0, abs=0.005) for s in samples)
        windows = [r for r in read_records(Path(report["results_file"])) if r["type"] == "board_window"]
        for window, uj in zip(windows, energy["per_inference_uj"]):
            start = window["start_tick"] / window["timer_hz"]
            end = (window["start_tick"] + window["ticks"]) / window["timer_hz"]
            assert uj == pytest.approx(virtual_profile_uj(start, end, bus_v=5.0), rel=0.01)
    finally:
        stop("nicla-vision")
