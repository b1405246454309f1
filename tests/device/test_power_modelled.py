"""The meter path on the twins: `--meter modelled` draws a current trace from the device's
timings and the board file's power, and every step of the measuring code runs on it."""

from __future__ import annotations

import pytest
from dut_peer import PeerBehaviour, serve_tcp

from kit.bench.results import ResultsFile, read_records
from kit.bench.samples import PowerSample, SampleFile, read_samples
from kit.catalog import get_board
from kit.device.bench import run_bench
from kit.device.meters import MeterError, open_meter
from kit.device.power import Window, summarize_power, windows_from_edges, windows_from_serial
from kit.device.meters.base import RunWindow
from kit.link import open_link
from kit.protocol import DeviceClient


def _bench(tmp_path, behaviour, board="emu-cortex-m7", reference="nicla-vision", runs=6):
    url, peer, _ = serve_tcp(behaviour)
    with open_link(url) as link:
        client = DeviceClient.connect(link, line_timeout=2.0, boot_timeout=2.0, boot_quiet=0.1)
        meter = open_meter("modelled", get_board(board), get_board(reference), None)
        results = ResultsFile.create("bench", {"board": board}, directory=tmp_path)
        with results, SampleFile.beside(results.path) as trace, meter:
            report = run_bench(client, get_board(board), get_board(reference), runs, 1, results,
                               meter=meter, sync="trigger", power_sink=trace.append)
    return report, results.path, peer


def test_modelled_meter_energy_equals_power_times_time(tmp_path):
    report, path, peer = _bench(tmp_path, PeerBehaviour())
    energy, nicla = report.energy, get_board("nicla-vision")
    # the catalog model, as without a meter: active power x the estimated time at 480 MHz
    assert energy.label == "modelled" and energy.meter == "modelled"
    assert energy.microjoules == pytest.approx(nicla.active_power_mw * report.latency_us.mean / 1000, rel=1e-9)
    assert energy.power_mw == pytest.approx(nicla.active_power_mw, rel=1e-9)
    assert energy.idle_power_mw == pytest.approx(nicla.idle_power_mw, rel=1e-9)
    assert energy.peak_power_mw == pytest.approx(nicla.active_power_mw, rel=1e-9)
    assert energy.sync == "trigger" and energy.sync_error_us == 0
    assert len(energy.per_inference_uj) == 6
    # the warm-up, then one command per timed run while the meter records
    assert peer.received.count("kit-infer 1") == 1 + 6
    records = list(read_records(path))
    assert [r["index"] for r in records if r["type"] == "energy"] == list(range(6))
    (power,) = [r for r in records if r["type"] == "power"]
    assert power["label"] == "modelled" and power["meter"] == "modelled"
    samples = list(read_samples(path.with_suffix(".power.csv")))
    assert len(samples) == energy.samples > 6 * 20
    assert {round(s.current_a * s.voltage_v * 1e3, 6) for s in samples} == {nicla.active_power_mw, nicla.idle_power_mw}


def test_samples_are_on_disk_before_the_bench_ends(tmp_path):
    """The sink writes each batch as the meter delivers it: a board dying mid-bench leaves them."""
    from kit.errors import DeviceError

    with pytest.raises(DeviceError) as caught:
        _bench(tmp_path, PeerBehaviour(die_after_runs=4), runs=8)
    (csv,) = tmp_path.glob("*.power.csv")
    kept = list(read_samples(csv))
    assert kept and max(s.t_s for s in kept) > 0
    assert "after 3 of 8 runs" in str(caught.value)  # the warm-up was the fourth run the board made


def test_integration_of_held_samples_is_exact_for_steps():
    samples = [PowerSample(0.0, 0.001, 3.0), PowerSample(1.0, 0.002, 3.0), PowerSample(3.0, 0.001, 3.0),
               PowerSample(4.0, 0.001, 3.0)]
    summary = summarize_power(samples, [Window(0, 1.0, 3.0)], meter="x", label="measured", sync="trigger",
                              sync_error_s=0.0, supply_v=3.0, title="test meter")
    assert summary.energy_uj == [pytest.approx(2 * 6e-3 * 1e6)]
    assert summary.average_power_mw == pytest.approx(6.0) and summary.idle_power_mw == pytest.approx(3.0)
    # half a window: half the energy
    half = summarize_power(samples, [Window(0, 1.5, 2.5)], meter="x", label="measured", sync="trigger",
                           sync_error_s=0.0, supply_v=3.0, title="test meter")
    assert half.energy_uj == [pytest.approx(6e-3 * 1e6)]


def test_windows_outside_the_trace_and_missing_edges_are_refused():
    samples = [PowerSample(0.0, 0.001, 3.0), PowerSample(1.0, 0.001, 3.0)]
    with pytest.raises(MeterError, match="outside"):
        summarize_power(samples, [Window(0, 0.5, 1.5)], meter="x", label="measured", sync="serial",
                        sync_error_s=0.0, supply_v=3.0, title="test meter")
    with pytest.raises(MeterError, match="3 timestamp edge"):
        windows_from_edges([0.1, 0.2, 0.3], 2, "test meter")


def test_serial_windows_sit_in_the_middle_of_the_bracket_with_the_bound_stated():
    runs = [RunWindow(0, 10.0, 10.010, 0.004)]
    (window,), bound = windows_from_serial(runs, host_zero=9.0, zero_error_s=0.001)
    assert window.start_s == pytest.approx(1.003) and window.seconds == pytest.approx(0.004)
    assert bound == pytest.approx(0.003 + 0.001)


def test_modelled_meter_needs_a_known_board():
    from kit.errors import KitError

    with pytest.raises(KitError, match="modelled meter needs a board"):
        open_meter("modelled", None, None, None)


def test_sync_follows_the_board_file_and_the_meter():
    from kit.device.meters import choose_sync
    from kit.errors import KitError

    nano, twin = get_board("nano33-ble-sense"), get_board("emu-cortex-m4")
    lpm = open_meter("lpm01a", nano, nano, "/dev/null")  # not opened: only configured
    assert choose_sync(lpm, nano) == "trigger"            # the board file wires D7
    assert choose_sync(lpm, get_board("grove-vision-ai-v2")) == "serial"  # no timestamp pin there
    assert choose_sync(lpm, nano, "serial") == "serial"
    modelled = open_meter("modelled", twin, twin, None)
    assert choose_sync(modelled, twin) == "trigger"
    assert choose_sync(open_meter("ina219", twin, twin, None), twin) == "board"
    with pytest.raises(KitError, match="times its runs itself"):
        choose_sync(modelled, twin, "serial")


def test_an_mlperf_only_board_is_metered_per_infer_command(tmp_path):
    report, path, peer = _bench(tmp_path, PeerBehaviour(kit=False, input_bytes=490), board="nicla-vision",
                                reference="nicla-vision", runs=3)
    nicla = get_board("nicla-vision")
    assert report.protocol == "mlperf" and report.energy.meter == "modelled"
    assert report.energy.microjoules == pytest.approx(nicla.active_power_mw * report.latency_us.mean / 1000, rel=1e-9)
    assert peer.received.count("infer 1 0") == 1 + 3  # the warm-up, then one per metered run
