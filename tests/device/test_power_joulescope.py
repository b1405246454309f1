"""The Joulescope meter against a fake of the joulescope v1 API surface kit uses (no
Joulescope, and the optional package is not needed), the DUT peer pulsing GPI0."""

from __future__ import annotations

import pytest
from dut_peer import PeerBehaviour, serve_tcp
from joulescope_fake import FakeBehaviour, FakeJoulescope

from kit.bench.results import ResultsFile
from kit.bench.samples import SampleFile, read_samples
from kit.catalog import get_board
from kit.device.bench import run_bench
from kit.device.meters.joulescope import Joulescope
from kit.errors import DeviceError
from kit.link import open_link
from kit.protocol import DeviceClient

BOARD = "nano33-ble-sense"


def _bench(tmp_path, fake: FakeJoulescope, runs=3, sync="trigger"):
    url, _, _ = serve_tcp(PeerBehaviour(run_seconds=0.03, on_run=fake.dut_edge))
    board = get_board(BOARD)
    results = ResultsFile.create("bench", {"board": BOARD}, directory=tmp_path)
    with open_link(url) as link:
        client = DeviceClient.connect(link, line_timeout=2.0, boot_timeout=2.0, boot_quiet=0.1)
        meter = Joulescope(board.power.supply_v, scan=lambda: fake)
        with results, SampleFile.beside(results.path) as trace, meter:
            report = run_bench(client, board, board, runs, 0, results, meter=meter, sync=sync,
                               power_sink=trace.append)
    return report, results.path


def test_energy_from_gpi0_edges(tmp_path):
    fake = FakeJoulescope(FakeBehaviour())
    report, path = _bench(tmp_path, fake)
    energy = report.energy
    assert energy.label == "measured" and energy.meter == "js220" and energy.sync == "trigger"
    assert fake.calls[:6] == ["open", "sensor_power=on", "i_range=auto", "sampling_frequency=100000",
                              "current_lsb=gpi0", "start"]
    assert fake.calls[-2:] == ["stop", "close"]
    assert energy.power_mw == pytest.approx(12.5e-3 * 3.3e3, rel=0.01)
    assert energy.idle_power_mw == pytest.approx(3.3, rel=0.02)
    assert len(list(read_samples(path.with_suffix(".power.csv")))) == energy.samples


def test_no_trigger_and_disconnect(tmp_path):
    with pytest.raises(DeviceError, match="saw no timestamp edge"):
        _bench(tmp_path / "a", FakeJoulescope(FakeBehaviour(wire_connected=False)))
    with pytest.raises(DeviceError) as caught:
        _bench(tmp_path / "b", FakeJoulescope(FakeBehaviour(die_after_samples=8_000)), runs=5)
    assert "Joulescope disconnected" in str(caught.value)
    (csv,) = (tmp_path / "b").glob("*.power.csv")
    assert 0 < len(list(read_samples(csv))) <= 8_000


def test_without_the_package_the_hint_names_the_extra(monkeypatch):
    import builtins

    from kit.device.meters.joulescope import _scan_one
    from kit.errors import ToolMissingError

    real_import = builtins.__import__

    def no_joulescope(name, *args, **kwargs):
        if name == "joulescope":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_joulescope)
    with pytest.raises(ToolMissingError, match=r"kit-mlsys\[joulescope\]"):
        _scan_one()
