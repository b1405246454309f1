"""The Grove Vision AI V2 over the SSCMA AT protocol, against a peer on a pty that speaks the
protocol as Seeed documents it (tests/device/sscma_peer.py; no board or Seeed firmware here):
identity, AT+INVOKE with the board's pre-process / inference / post-process times into the
same results files and statistics as other boards, error codes, a board that goes silent
half way (the runs measured so far kept), and what kit refuses to do for this board."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kit.bench.results import ResultsFile, read_records
from kit.catalog import get_board
from kit.cli import main
from kit.device.flow import bench
from kit.device.sscma_bench import run_sscma_bench
from kit.errors import DeviceError, KitError
from kit.link import open_link
from kit.protocol.sscma import SscmaClient, SscmaError
from kit.targets import open_target, target_class
from tests.device.sscma_peer import SscmaBehaviour, serve_pty

GROVE = "grove-vision-ai-v2"


@pytest.fixture
def peer():
    stops = []

    def start(**behaviour):
        path, state, stop = serve_pty(SscmaBehaviour(**behaviour))
        stops.append(stop)
        return path, state

    yield start
    for stop in stops:
        stop.set()


def _client(path: str, **timeouts) -> SscmaClient:
    """A client on the peer (tags are echoed upper-cased, as SSCMA-Micro does)."""
    return SscmaClient.connect(open_link(path, baudrate=921600), **timeouts)


def test_grove_is_driven_by_the_sscma_target():
    assert target_class(get_board(GROVE)).__name__ == "SscmaTarget"
    open_target(GROVE).check("flash")  # kit writes models to it now
    with pytest.raises(KitError, match="does not build firmware") as caught:
        open_target(GROVE).check("project")
    assert "--emulate" in caught.value.hint


@pytest.mark.parametrize("pretty", [False, True])
def test_identity_and_tagged_replies(peer, pretty):
    path, state = peer(pretty=pretty)
    client = _client(path)
    assert client.identity.device_id == "7e2d02cf" and client.identity.name == "Grove Vision AI V2"
    assert client.identity.version["at_api"] == "v0" and client.identity.model["id"] == 1
    assert state.commands[0].startswith("AT+k1@BREAK") and all("@" in c for c in state.commands)
    assert client.command("ID?").name == "K6@ID?"  # the firmware's echo: upper case, matched anyway
    client.link.close()


def test_bench_reports_the_boards_stage_times_into_a_results_file(peer, tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_HOME", str(tmp_path))
    path, state = peer(perf=(8, 36, 1), perf_step=2)
    report = bench(GROVE, runs=12, warmup=2, port=path, force=True)
    assert report.protocol == "sscma" and report.runs == 12
    assert report.latency_us.min == 36_000 and report.latency_us.max == 44_000  # 36 + 2 * (0..4) ms
    assert "measured by the board" in report.time_label and "pre-process mean 8.0 ms" in report.time_label
    records = list(read_records(report.results_file))
    assert records[0]["type"] == "header" and records[0]["protocol"] == "sscma"
    assert records[0]["info"]["device_id"] == "7e2d02cf"
    runs = [r for r in records if r["type"] == "run"]
    assert len(runs) == 12 and {r["preprocess_us"] for r in runs} == {8000} and {r["postprocess_us"] for r in runs} == {1000}
    stages = next(r for r in records if r["type"] == "stages")
    assert stages["preprocess"]["mean"] == 8000 and stages["inference"]["min"] == 36_000
    assert records[-1]["type"] == "end" and records[-1]["status"] == "complete"
    assert any(c.endswith("INVOKE=2,0,1") for c in state.commands)  # the warm-up, untimed


def test_error_code_is_named(peer):
    path, _ = peer(fail={"INVOKE": 7})
    client = _client(path)
    with pytest.raises(SscmaError, match=r"code 7 \(busy\)") as caught:
        client.invoke(1, lambda _i, _p: None)
    assert "busy" in caught.value.hint
    # SSCMA-Micro answers an unknown command and a wrong argument count with a logging reply
    # named "AT", code 5 (EL_EINVAL), the message as data: kit matches it by the tag inside
    with pytest.raises(SscmaError, match=r"code 5 \(invalid argument\).*Unknown command: AT\+k\d+@NOSUCH\?"):
        client.command("NOSUCH?")
    with pytest.raises(SscmaError, match=r"code 5 \(invalid argument\).*got wrong arguements"):
        client.command("MODEL=")


def test_board_that_stops_answering_keeps_the_runs_measured(peer, tmp_path):
    path, _ = peer(silent_after_events=7)
    client = _client(path, reply_timeout=1.0, run_timeout=0.5)
    results = ResultsFile.create("bench", {"board": GROVE}, directory=tmp_path)
    with pytest.raises(DeviceError, match="stopped answering") as caught:
        with results:
            run_sscma_bench(client, get_board(GROVE), runs=10, warmup=0, results=results)
    assert "after 7 of 10 runs" in caught.value.message and str(results.path) in caught.value.message
    records = list(read_records(results.path))
    assert len([r for r in records if r["type"] == "run"]) == 7
    assert records[-1]["type"] == "end" and records[-1]["status"] == "interrupted"


def test_out_of_range_perf_is_refused():
    from kit.protocol.sscma import parse_perf

    assert parse_perf({"perf": [1, 2, 3]}).inference_ms == 2
    for bad in ({"perf": [1, -2, 3]}, {"perf": [1, 2]}, {"perf": [1, 2, 10**9]}, {"boxes": []}):
        with pytest.raises(DeviceError):
            parse_perf(bad)


def test_boards_listing_no_longer_says_unsupported():
    result = CliRunner().invoke(main, ["boards"])
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if "grove" in line.lower())
    assert "unsupported" not in line.lower() and "model flash + bench" in line, line


def test_bench_table_shows_the_three_stages_as_columns(peer, tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_HOME", str(tmp_path))
    path, _ = peer(perf=(8, 36, 1), perf_step=0)
    result = CliRunner().invoke(main, ["bench", GROVE, "--port", path, "--runs", "5", "--warmup", "0", "--no-plot",
                                       "--force"], terminal_width=200)
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if "latency" in line and "pre-process" in line)
    assert header.index("pre-process µs") < header.index("inference µs") < header.index("post-process µs")
    row = next(line for line in result.output.splitlines() if line.strip("│┃ ").startswith("mean"))
    assert [cell.strip() for cell in row.strip("│ ").split("│")][1:] == ["8,000", "36,000", "1,000"], row
