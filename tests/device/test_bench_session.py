"""kit.device.bench against the test peer: statistics, per-layer shares, incremental records."""

from __future__ import annotations

import pytest
from dut_peer import PeerBehaviour, serve_tcp

from kit.bench.results import ResultsFile, read_records
from kit.catalog import get_board
from kit.device.bench import run_bench, write_csv
from kit.errors import DeviceError
from kit.link import open_link
from kit.protocol import DeviceClient


def _session(tmp_path, behaviour, board="emu-cortex-m7", reference="nicla-vision", runs=25, warmup=2):
    url, peer, _ = serve_tcp(behaviour)
    with open_link(url) as link:
        client = DeviceClient.connect(link, line_timeout=2.0, boot_timeout=2.0, boot_quiet=0.1)
        results = ResultsFile.create("bench", {"board": board}, directory=tmp_path)
        seen: list[int] = []
        with results:
            report = run_bench(client, get_board(board), get_board(reference), runs, warmup, results, seen.append)
    return report, results.path, seen, peer


def test_emulated_twin_reports_instructions_estimated_time_and_modelled_energy(tmp_path):
    report, path, seen, peer = _session(tmp_path, PeerBehaviour())
    assert seen == list(range(1, 26))
    # 1000 ticks at 25 MHz with a 1 GHz icount clock = 40,000 instructions
    assert report.count_unit == "instructions" and report.counts.min == report.counts.max == 40_000
    # nicla-vision runs at 480 MHz: 40,000 / 480e6 s = 83.33 µs, an estimate
    assert report.latency_us.mean == pytest.approx(40_000 / 480e6 * 1e6)
    assert "estimate" in report.time_label and "nicla-vision" in report.time_label
    assert report.energy.label == "modelled" and report.energy.power_board == "nicla-vision"
    assert report.energy.microjoules == pytest.approx(400.0 * report.latency_us.mean / 1000)
    assert [(layer.op, round(layer.percent)) for layer in report.layers] == [("CONV_2D", 60), ("SOFTMAX", 40)]
    assert report.per_second == pytest.approx(480e6 / 40_000)
    records = list(read_records(path))
    assert [r["index"] for r in records if r["type"] == "run"] == list(range(25))
    assert records[-1] == {**records[-1], "type": "end", "status": "complete"}
    assert peer.received.count("kit-infer 2") == 1  # the warmup


def test_csv_has_one_row_per_run(tmp_path):
    report, path, _, _ = _session(tmp_path, PeerBehaviour(), runs=3, warmup=0)
    lines = write_csv(tmp_path / "runs.csv", path).read_text().splitlines()
    assert lines[0] == "index,ticks,instructions,latency_us" and len(lines) == 4


def test_board_dying_mid_bench_keeps_partial_results_and_says_where(tmp_path):
    with pytest.raises(DeviceError) as caught:
        _session(tmp_path, PeerBehaviour(die_after_runs=13), runs=30, warmup=0)
    message = str(caught.value)
    assert "after 13 of 30 runs" in message
    (path,) = tmp_path.glob("bench-*.jsonl")
    assert str(path) in message
    records = list(read_records(path))
    assert sum(1 for r in records if r["type"] == "run") == 13
    assert records[-1]["type"] == "end" and records[-1]["status"] == "interrupted"


def test_mlperf_only_board_gives_measured_microseconds(tmp_path):
    report, path, seen, _ = _session(
        tmp_path, PeerBehaviour(kit=False, input_bytes=490), board="nicla-vision", reference="nicla-vision", runs=4
    )
    assert report.protocol == "mlperf" and report.counts is None and report.layers == []
    assert report.latency_us.mean == 40 and report.time_label.startswith("measured")
    assert len([r for r in read_records(path) if r["type"] == "run"]) == 4
