"""The results store survives a killed writer; the statistics match numpy's definitions."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kit.bench.results import read_records
from kit.bench.stats import summarize

HERE = Path(__file__).resolve().parent

# A bench that would run for a long time against the test peer; the test kills it with SIGKILL.
ENDLESS_BENCH = """
import sys
sys.path.insert(0, {here!r})
from dut_peer import PeerBehaviour, serve_tcp
from kit.bench.results import ResultsFile
from kit.catalog import get_board
from kit.device.bench import run_bench
from kit.link import open_link
from kit.protocol import DeviceClient
from pathlib import Path

url, _, _ = serve_tcp(PeerBehaviour())
client = DeviceClient.connect(open_link(url), boot_quiet=0.1)
with ResultsFile.create("bench", {{"board": "emu-cortex-m4"}}, directory=Path({out!r})) as results:
    run_bench(client, get_board("emu-cortex-m4"), get_board("emu-cortex-m4"), 10**7, 0, results)
"""


def _runs(path: Path) -> list[dict]:
    return [record for record in read_records(path) if record.get("type") == "run"]


def test_killed_bench_process_leaves_every_run_it_measured_on_disk(tmp_path):
    script = ENDLESS_BENCH.format(here=str(HERE), out=str(tmp_path))
    process = subprocess.Popen([sys.executable, "-c", script], env={**os.environ})
    try:
        deadline = time.monotonic() + 60
        files: list[Path] = []
        while time.monotonic() < deadline:
            files = list(tmp_path.glob("bench-*.jsonl"))
            if files and len(_runs(files[0])) >= 30:
                break
            assert process.poll() is None, "the bench process ended on its own"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
    records = list(read_records(files[0]))
    runs = _runs(files[0])
    assert records[0]["type"] == "header" and len(runs) >= 30
    assert [run["index"] for run in runs] == list(range(len(runs)))
    assert records[-1]["type"] != "end"  # no end marker: the file says it was cut short


def test_read_back_tolerates_a_half_written_last_line(tmp_path):
    path = tmp_path / "cut.jsonl"
    path.write_text('{"type": "header"}\n{"type": "run", "index": 0}\n{"type": "run", "ind')
    assert [r["type"] for r in read_records(path)] == ["header", "run"]


@pytest.mark.parametrize("values", [[5.0], [3.0, 1.0, 2.0], list(np.random.default_rng(1).normal(100, 7, 257))])
def test_summary_matches_numpy(values):
    stats = summarize(values)
    assert stats.count == len(values)
    assert stats.min == min(values) and stats.max == max(values)
    for name, q in (("p50", 50), ("p90", 90), ("p99", 99)):
        assert math.isclose(getattr(stats, name), float(np.percentile(values, q)), rel_tol=1e-12)
    assert math.isclose(stats.mean, float(np.mean(values)), rel_tol=1e-12)
    assert math.isclose(stats.std, float(np.std(values)), rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(stats.per_second, 1e6 / float(np.mean(values)))


def test_summary_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        summarize([])


def test_two_sessions_started_in_the_same_second_get_their_own_files(tmp_path):
    """One process (a farm, a test run) starting two benches within a second must not append
    the second session's runs to the first one's file."""
    from kit.bench.results import ResultsFile, read_records

    first = ResultsFile.create("bench", {"board": "emu-rv32"}, tmp_path)
    second = ResultsFile.create("bench", {"board": "emu-rv32"}, tmp_path)
    first.append({"type": "run", "index": 0})
    second.append({"type": "run", "index": 0})
    first.close("complete")
    second.close("complete")
    assert first.path != second.path
    for results in (first, second):
        assert [r["type"] for r in read_records(results.path)] == ["header", "run", "end"]
