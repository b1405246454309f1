"""The PPK2 meter against a pty peer speaking the serial byte commands ppk2-api sends (no
PPK2 here), with the DUT peer pulsing the 'timestamp pin' (PPK2 logic input D0)."""

from __future__ import annotations

import pytest
from dut_peer import PeerBehaviour, serve_tcp
from ppk2_peer import R, Ppk2Behaviour, metadata, serve_ppk2, word

from kit.bench.results import ResultsFile
from kit.bench.samples import SampleFile, read_samples
from kit.catalog import get_board
from kit.device.bench import run_bench
from kit.device.meters import MeterError, open_meter
from kit.device.meters.ppk2 import decode, parse_metadata, regulator_bytes
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
