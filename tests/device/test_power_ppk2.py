"""The PPK2 meter against a pty peer speaking the serial byte commands ppk2-api sends (no
PPK2 here), with the DUT peer pulsing the 'timestamp pin' (PPK2 logic input D0)."""

from __future__ import annotations

import pytest
from dut_peer import PeerBehaviour, serve_tcp
from ppk2_peer import R, Ppk2Behaviour, RangeSwitcher, metadata, serve_ppk2, word

from kit.bench.results import ResultsFile
from kit.bench.samples import SampleFile, read_samples
from kit.catalog import get_board
from kit.device.bench import run_bench
from kit.device.meters import MeterError, open_meter
from kit.device.meters.ppk2 import SAMPLE_HZ, Ppk2, RangeSwitchFilter, decode, parse_metadata, regulator_bytes
from kit.errors import DeviceError
from kit.link import open_link
from kit.protocol import DeviceClient

import numpy as np

BOARD = "nano33-ble-sense"
RUN_S = 0.03


def _bench(tmp_path, ppk: Ppk2Behaviour, runs=3, sync="trigger"):
    port, peer = serve_ppk2(ppk)
    url, _, _ = serve_tcp(PeerBehaviour(run_seconds=RUN_S, on_run=peer.dut_edge))
    board = get_board(BOARD)
    results = ResultsFile.create("bench", {"board": BOARD}, directory=tmp_path)
    with open_link(url) as link:
        client = DeviceClient.connect(link, line_timeout=2.0, boot_timeout=2.0, boot_quiet=0.1)
        meter = open_meter("ppk2", board, board, port)
        with results, SampleFile.beside(results.path) as trace, meter:
            report = run_bench(client, board, board, runs, 0, results, meter=meter, sync=sync,
                               power_sink=trace.append)
    return report, results.path, peer


def test_commands_and_decoding_match_ppk2_api():
    assert regulator_bytes(3300) == (12, 228)  # what ppk2-api's set_source_voltage(3300) sends
    assert regulator_bytes(800) == (3, 32)
    calibration = parse_metadata(metadata().decode())
    assert calibration["R"] == R
    words = np.frombuffer(word(12.5e-3, 1) + word(1e-3, 0), dtype="<u4")
    amps, logic = decode(words, calibration, 3.3)
    assert amps == pytest.approx([12.5e-3, 1e-3], rel=5e-3) and list(logic & 1) == [1, 0]


def test_energy_from_the_logic_port_edges(tmp_path):
    report, path, peer = _bench(tmp_path, Ppk2Behaviour())
    energy = report.energy
    assert energy.label == "measured" and energy.meter == "ppk2" and energy.sync == "trigger"
    assert peer.commands[:4] == [(0x19,), (0x11, 2), (0x0D, 12, 228), (0x0C, 1)]
    assert (0x06,) in peer.commands and peer.commands[-1] == (0x07,)
    active_mw = 12.5e-3 * 3.3e3
    assert energy.power_mw == pytest.approx(active_mw, rel=0.01)
    assert energy.idle_power_mw == pytest.approx(3.3, rel=0.02)
    assert len(energy.per_inference_uj) == 3
    assert len(list(read_samples(path.with_suffix(".power.csv")))) == energy.samples > 3 * RUN_S * 100_000


def test_no_trigger_and_disconnect_are_clear(tmp_path):
    with pytest.raises(DeviceError, match="saw no timestamp edge"):
        _bench(tmp_path / "a", Ppk2Behaviour(wire_connected=False))
    with pytest.raises(DeviceError) as caught:
        _bench(tmp_path / "b", Ppk2Behaviour(die_after_samples=5_000), runs=5)
    assert "PPK2" in str(caught.value) and "disconnected" in str(caught.value)
    (csv,) = (tmp_path / "b").glob("*.power.csv")
    assert len(list(read_samples(csv))) == 5_000


def test_a_port_that_is_not_a_ppk2(tmp_path):
    with pytest.raises(MeterError, match="no metadata"):
        _bench(tmp_path, Ppk2Behaviour(no_metadata=True))


def _sequential_filter(amps, ranges, alpha=0.18, alpha4=0.06, samples=3):
    """The range-switch spike filter one sample at a time, as nRF Connect Power Profiler's
    SerialDevice.getAdcResult (and ppk2-api's get_adc_result) run it: the reference the
    vectorised RangeSwitchFilter must equal."""
    out, avg, avg4, prev_range, after, consecutive = [], None, None, None, 0, 0
    for value, rng in zip(amps, ranges):
        before, before4 = avg, avg4
        avg = value if avg is None else alpha * value + (1 - alpha) * avg
        avg4 = value if avg4 is None else alpha4 * value + (1 - alpha4) * avg4
        prev_range = rng if prev_range is None else prev_range
        if prev_range != rng or after > 0:
            if prev_range != rng:
                consecutive, after = 0, samples
            else:
                consecutive += 1
            if rng == 4:
                if consecutive < 2:
                    avg, avg4 = before, before4
                value = avg4
            else:
                value = avg
            after -= 1
        prev_range = rng
        out.append(value)
    return np.array(out)


def test_the_spike_filter_equals_power_profilers_algorithm_across_chunks():
    rng = np.random.default_rng(7)
    ranges = np.repeat(rng.integers(0, 5, 400), rng.integers(1, 6, 400))  # runs of 1..5 samples: switches
    ranges[:3] = ranges[0]  # includes back-to-back switches and range 4
    amps = rng.uniform(1e-6, 0.5, len(ranges))
    expected = _sequential_filter(amps, ranges)
    assert np.any(ranges == 4) and not np.allclose(expected, amps)
    filter_ = RangeSwitchFilter()
    cuts = np.sort(rng.choice(np.arange(1, len(amps)), 40, replace=False))
    got = np.concatenate([filter_(a, r) for a, r in zip(np.split(amps, cuts), np.split(ranges, cuts))])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-15)
    filter_.reset()  # a new acquisition starts clean, as at AVERAGE_START
    np.testing.assert_allclose(filter_(amps[:50], ranges[:50]), expected[:50], rtol=1e-9, atol=1e-15)


def _metered(trace: bytes, spike_filter: bool) -> np.ndarray:
    meter = Ppk2(3.3, "unused", spike_filter=spike_filter)
    meter.calibration = parse_metadata(metadata().decode())
    for start in range(0, len(trace), 4 * 997):  # chunks that split words, as serial reads do
        meter._take(trace[start:start + 4 * 997])
    return np.array([s.current_a for s in meter.samples])


@pytest.mark.parametrize("spike_filter", [True, False])
def test_range_switch_spikes_are_smoothed(spike_filter):
    """A peer trace with the PPK2's automatic ranging: 1 mA idle (range 1) and 1 ms inferences
    at 12.5 mA (range 2); the first 2 samples after each switch read 4x the current. Filtered,
    the peak stays near the true active current and each inference's charge within 1 %; raw,
    the peak is 4x and the charge 6 % high (the False case shows the test can fail)."""
    idle, active, idle_n, active_n, runs = 1e-3, 12.5e-3, 400, 100, 5
    switcher = RangeSwitcher()
    truth = np.tile(np.r_[np.full(idle_n, idle), np.full(active_n, active)], runs)
    amps = _metered(b"".join(switcher.word(a, 1) for a in truth), spike_filter)
    assert len(amps) == len(truth)
    charge = [amps[i * (idle_n + active_n) + idle_n:][:active_n].sum() / SAMPLE_HZ for i in range(runs)]
    true_charge = active * active_n / SAMPLE_HZ
    peak_ok = amps.max() <= 1.5 * active
    charge_ok = all(abs(c / true_charge - 1) < 0.01 for c in charge)
    assert bool(peak_ok and charge_ok) is spike_filter, (amps.max(), charge)
    if not spike_filter:
        assert amps.max() == pytest.approx(4 * active, rel=0.01)


def test_the_bench_reports_filtered_peaks_from_a_switching_ppk2(tmp_path):
    report, _, _ = _bench(tmp_path, Ppk2Behaviour(range_switching=True))
    energy = report.energy
    active_mw = 12.5e-3 * 3.3e3
    assert energy.peak_power_mw <= 1.5 * active_mw  # raw, the switch spike would read 4x
    assert energy.power_mw == pytest.approx(active_mw, rel=0.02)
