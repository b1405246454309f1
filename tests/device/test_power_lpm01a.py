"""The LPM01A meter against a pty peer speaking its serial text protocol (no LPM01A here),
with the DUT peer toggling the 'timestamp pin' around each run as firmware does."""

from __future__ import annotations

import pytest
from dut_peer import PeerBehaviour, serve_tcp
from lpm01a_peer import LpmBehaviour, _reading, serve_lpm

from kit.bench.results import ResultsFile, read_records
from kit.bench.samples import SampleFile, read_samples
from kit.catalog import get_board
from kit.device.bench import run_bench
from kit.device.meters import MeterError, open_meter
from kit.device.meters.lpm01a import parse_reading
from kit.errors import DeviceError, KitError
from kit.link import open_link
from kit.protocol import DeviceClient

BOARD = "nano33-ble-sense"   # its board file wires an INA219 and D7 as the timestamp pin
RUN_S = 0.04


def _bench(tmp_path, lpm: LpmBehaviour, runs=4, sync="trigger"):
    lpm_port, lpm_peer = serve_lpm(lpm)
    url, dut, _ = serve_tcp(PeerBehaviour(run_seconds=RUN_S, on_run=lpm_peer.dut_edge))
    board = get_board(BOARD)
    results = ResultsFile.create("bench", {"board": BOARD}, directory=tmp_path)
    try:
        with open_link(url) as link:
            client = DeviceClient.connect(link, line_timeout=2.0, boot_timeout=2.0, boot_quiet=0.1)
            meter = open_meter("lpm01a", board, board, lpm_port)
            with results, SampleFile.beside(results.path) as trace, meter:
                report = run_bench(client, board, board, runs, 1, results, meter=meter, sync=sync,
                                   power_sink=trace.append)
    finally:
        pass
    return report, results.path, lpm_peer, meter


def test_readings_decode_as_the_manual_says():
    assert parse_reading("6409-07") == pytest.approx(640.9e-6)
    assert parse_reading("1250+00") == 1250.0
    assert parse_reading(_reading(12.5e-3)) == pytest.approx(12.5e-3)


def test_energy_per_inference_from_the_trigger_edges(tmp_path):
    report, path, peer, meter = _bench(tmp_path, LpmBehaviour())
    energy = report.energy
    assert energy.label == "measured" and energy.meter == "lpm01a" and energy.sync == "trigger"
    assert energy.sync_error_us == 0
    assert peer.settings == {**peer.settings, "volt": "3300m", "freq": "5k", "acqtime": "0", "output": "current",
                             "format": "ascii_dec", "trigsrc": "sw", "eventsrc": "d7 fal", "pwr": "on"}
    assert peer.received[0] == "htc" and peer.received[-1] == "hrc" and "stop" in peer.received
    active_mw, idle_mw = 12.5e-3 * 3.3 * 1e3, 1.0e-3 * 3.3 * 1e3
    # windows are exact to a sample (200 us at 5 kHz) of 40+ ms runs: power within 2 %
    assert energy.power_mw == pytest.approx(active_mw, rel=0.02)
    assert energy.idle_power_mw == pytest.approx(idle_mw, rel=0.03)
    assert energy.peak_power_mw == pytest.approx(active_mw, rel=1e-3)
    for uj, run in zip(energy.per_inference_uj, [r for r in read_records(path) if r["type"] == "run"]):
        assert uj == pytest.approx(active_mw * run["latency_us"] / 1000, rel=0.03)
    assert len(energy.per_inference_uj) == 4
    on_disk = list(read_samples(path.with_suffix(".power.csv")))
    assert len(on_disk) == energy.samples == len(meter.samples)
    assert peer.sent_samples >= len(on_disk)


def test_serial_timestamps_without_a_wire_state_their_error_bound(tmp_path):
    report, _, _, _ = _bench(tmp_path, LpmBehaviour(wire_connected=False), sync="serial")
    energy = report.energy
    assert energy.sync == "serial" and energy.sync_error_us > 0
    assert energy.power_mw == pytest.approx(12.5e-3 * 3.3 * 1e3, rel=0.25)


def test_trigger_that_never_fires_is_a_clear_error(tmp_path):
    with pytest.raises(DeviceError) as caught:
        _bench(tmp_path, LpmBehaviour(wire_connected=False), sync="trigger")
    message = str(caught.value)
    assert "saw no timestamp edge" in message and "timestamp_pin" in message and "--sync serial" in message


def test_meter_disconnecting_mid_run_keeps_the_samples(tmp_path):
    with pytest.raises(DeviceError) as caught:
        _bench(tmp_path, LpmBehaviour(die_after_samples=700), runs=6)
    message = str(caught.value)
    assert "LPM01A" in message and "disconnected" in message and "700 samples" in message
    (csv,) = tmp_path.glob("*.power.csv")
    assert len(list(read_samples(csv))) == 700


def test_a_refused_setting_names_the_command(tmp_path):
    with pytest.raises(MeterError, match="refused `eventsrc d7 fal`: command not supported"):
        _bench(tmp_path, LpmBehaviour(refuse="eventsrc"))


def test_lpm01a_needs_its_port():
    with pytest.raises(KitError, match="--meter-port"):
        open_meter("lpm01a", get_board(BOARD), get_board(BOARD), None)


def test_kit_bench_cli_with_the_lpm01a(tmp_path):
    """`kit bench BOARD --port DUT --meter lpm01a --meter-port LPM`: JSON, CSV with energy per
    run, the samples file and the current-trace plot."""
    import json
    from pathlib import Path

    from click.testing import CliRunner
    from dut_peer import serve_pty

    from kit.cli import main

    lpm_port, lpm = serve_lpm(LpmBehaviour())
    dut_port, _, _ = serve_pty(PeerBehaviour(run_seconds=RUN_S, on_run=lpm.dut_edge, info_fields={"board": BOARD}))
    csv_path = tmp_path / "runs.csv"
    result = CliRunner().invoke(main, ["bench", BOARD, "--port", dut_port, "--runs", "3", "--warmup", "0", "--meter",
                                       "lpm01a", "--meter-port", lpm_port, "--csv", str(csv_path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["energy"]["label"] == "measured" and report["energy"]["meter"] == "lpm01a"
    lines = csv_path.read_text().splitlines()
    assert lines[0].endswith(",latency_us,energy_uj") and len(lines) == 4
    assert Path(report["power_plot"]).is_file() and Path(report["energy"]["samples_file"]).is_file()


def test_a_missing_meter_port_is_an_error_not_a_traceback(tmp_path):
    from click.testing import CliRunner
    from dut_peer import serve_pty

    from kit.cli import main

    dut_port, _, _ = serve_pty(PeerBehaviour(info_fields={"board": BOARD}))
    result = CliRunner().invoke(main, ["bench", BOARD, "--port", dut_port, "--runs", "1", "--meter", "lpm01a",
                                       "--meter-port", str(tmp_path / "no-such-port")])
    assert result.exit_code == 2
    assert "cannot open the LPM01A" in result.output and "fix:" in result.output and "Traceback" not in result.output


def test_the_peer_gives_energy_readings_when_asked_as_the_mlperf_runner_asks():
    """`output energy` + `volt 3300m` + `freq 1k` (the runner's power_manager_lpm setup): each
    reading is one millisecond's energy, current x volts / freq (used by the hand check of the
    unmodified runner against kit's energy-mode firmware, docs/PROTOCOL.md)."""
    _, peer = serve_lpm(LpmBehaviour())
    peer.settings.update(output="energy", volt="3300m")
    assert parse_reading(_reading(peer.value_at(0.0, 1000))) == pytest.approx(1.0e-3 * 3.3 / 1000, rel=1e-3)
    peer.settings["output"] = "current"
    assert peer.value_at(0.0, 1000) == 1.0e-3
