"""`kit bench ... --port PTY --runs 5 --json` against hostile devices on a real pty.

The device is tests/device/dut_peer.py misbehaving the way a foreign, broken or noisy board
can: every case must end in bounded time with a clear `error:` (exit 2), never a traceback
or a hang, and keep on disk whatever was measured before the failure.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from dut_peer import PeerBehaviour, serve_pty

from kit.bench.results import read_records
from kit.cli import main
from kit.targets import state as device_state
from kit.paths import results_dir

pytestmark = pytest.mark.timeout(90)


def bench(behaviour: PeerBehaviour, *extra: str, board: str | None = "emu-cortex-m4"):
    """Run the CLI against a peer on a pty: (exit code, stdout, stderr, peer, seconds)."""
    path, peer, _ = serve_pty(behaviour)
    args = ["bench", *([board] if board else []), "--port", path, "--runs", "5", "--warmup", "0", "--json", *extra]
    started = time.monotonic()
    try:
        result = CliRunner().invoke(main, args)
    finally:
        peer.stopped = True
    seconds = time.monotonic() - started
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback: the defect itself
    return result.exit_code, result.stdout, flat(result.stderr), peer, seconds


def flat(text: str) -> str:
    """stderr with rich's line wrapping undone (it wraps at 80 columns off a terminal)."""
    return " ".join(text.split())


def saved_runs(stderr: str) -> list[dict]:
    """The run records of the newest results file, which the error message must name."""
    path = max(results_dir().glob("bench-*.jsonl"), key=lambda p: p.stat().st_mtime_ns)
    assert "saved in" in stderr and str(path) in "".join(stderr.split())
    return [record for record in read_records(path) if record.get("type") == "run"]


def test_a_well_behaved_peer_benches_through_the_cli():
    code, out, err, _, _ = bench(PeerBehaviour())
    assert code == 0, err
    report = json.loads(out)
    assert report["runs"] == 5 and report["instructions"]["min"] == 40_000


@pytest.mark.slow
def test_garbage_streamed_from_the_port_opening_ends_with_a_boot_error():
    code, _, err, _, seconds = bench(PeerBehaviour(garbage_stream=True))
    assert code == 2 and "never finished booting" in err and "baud rate" in err
    assert seconds < 30  # the boot deadline is 10 s; before the fix this never ended


@pytest.mark.slow
def test_noise_every_second_and_never_m_ready_ends_with_a_reply_deadline():
    code, _, err, peer, seconds = bench(PeerBehaviour(noise_forever_after=1))  # answers name only
    assert code == 2 and "never ended it with m-ready" in err and "kit-info" in err
    assert peer.received[:2] == ["name", "kit-info"] and seconds < 60


@pytest.mark.parametrize("field, value, phrase", [
    ("input_bytes", "4000000000", "input_bytes=4000000000"),
    ("input_bytes", "0", "input_bytes=0"),
    ("timer_hz", "0", "timer_hz=0"),
    ("clock_hz", "0", "clock_hz=0"),
    ("sha256", "not-a-hash", "sha256=not-a-hash"),
    ("kernels", "turbo", "kernels=turbo"),
    ("proto", "7", "protocol version 7"),
])
def test_impossible_kit_info_values_are_refused_by_name(field, value, phrase):
    code, _, err, _, _ = bench(PeerBehaviour(info_fields={field: value}))
    assert code == 2 and "kit-info cannot be right" in err and phrase in err


def test_a_400_digit_tick_count_in_a_run_line_stops_with_the_runs_before_it_on_disk():
    huge = "9" * 400
    code, _, err, _, _ = bench(PeerBehaviour(run_ticks=lambda index: huge if index == 2 else "1000"))
    assert code == 2 and "a run's ticks" in err and "after 2 of 5 runs" in err
    assert [run["ticks"] for run in saved_runs(err)] == [1000, 1000]


def test_a_400_digit_tick_count_in_a_layer_line_keeps_all_runs():
    code, _, err, _, _ = bench(PeerBehaviour(layer_ticks=lambda index: "7" * 400))
    assert code == 2 and "a layer's ticks" in err and "after 5 of 5 runs" in err
    assert len(saved_runs(err)) == 5


def test_a_boot_error_arriving_late_is_reported_as_model_not_runnable():
    code, _, err, _, _ = bench(PeerBehaviour(boot_error="arena too big", boot_delay=0.8))
    assert code == 2 and "cannot run its model: model not runnable: arena too big" in err


def test_a_line_merely_containing_m_ready_does_not_end_a_reply():
    code, out, err, _, _ = bench(PeerBehaviour(ready_lookalike=True))
    assert code == 0, err
    assert json.loads(out)["runs"] == 5


def test_a_board_running_another_model_than_kit_flashed_is_refused(tmp_path):
    path, peer, _ = serve_pty(PeerBehaviour(sha256="cd" * 32))
    device_state.save(device_state.DeviceState(
        board="emu-cortex-m4", reference_board="emu-cortex-m4", port=path, lab="kws",
        model_path=str(tmp_path / "model.tflite"), sha256="ab" * 32, pid=None))
    try:
        result = CliRunner().invoke(main, ["bench", "emu-cortex-m4", "--runs", "5", "--json"])
    finally:
        device_state.remove("emu-cortex-m4")
        peer.stopped = True
    assert result.exit_code == 2 and "runs a model with sha256 cdcdcdcdcdcd" in flat(result.stderr)
    assert "kit flash emu-cortex-m4 kws" in flat(result.stderr)


@pytest.mark.slow
def test_a_silent_port_says_how_long_it_waited_and_waits_that_long():
    path, peer, _ = serve_pty(PeerBehaviour(silent_after=0))  # boots, then answers nothing
    started = time.monotonic()
    result = CliRunner().invoke(main, ["bench", "emu-cortex-m4", "--port", path, "--runs", "5", "--json"])
    seconds = time.monotonic() - started
    peer.stopped = True
    assert result.exit_code == 2 and "no answer to `name`" in flat(result.stderr)
    assert "within 10 s" in flat(result.stderr)
    assert peer.received.count("name") == 3
    assert seconds < 10 + 5  # before the fix: "within 10 s" after more than 20 s


def test_no_board_name_benches_any_mlperf_tiny_device_without_catalog_energy():
    code, out, err, _, _ = bench(PeerBehaviour(kit=False, input_bytes=490), board=None)
    assert code == 0, err
    report = json.loads(out)
    assert report["protocol"] == "mlperf" and report["board"] == "kit-sim-board"
    assert report["reference_board"] is None and report["energy"] is None
    assert report["latency_us"]["mean"] == 40 and report["latency_us"]["label"].startswith("measured")


def test_no_board_name_on_a_kit_device_reports_its_timer_time_and_no_energy():
    code, out, err, _, _ = bench(PeerBehaviour(), board=None)
    assert code == 0, err
    report = json.loads(out)
    assert report["board"] == "sim-board" and report["energy"] is None
    assert report["latency_us"]["mean"] == pytest.approx(1000 / 25e6 * 1e6)  # 1000 ticks at 25 MHz


def test_no_board_and_no_port_is_a_usage_error():
    result = CliRunner().invoke(main, ["bench"])
    assert result.exit_code == 2 and "--port" in flat(result.stderr)


def test_ctrl_c_during_a_bench_says_how_many_runs_were_kept_and_where(monkeypatch):
    from kit.device import bench as bench_module

    real = bench_module.DeviceClient.kit_infer
    calls = []

    def interrupted(self, count=1, on_run=None, **kwargs):
        calls.append(count)
        if len(calls) == 2:  # the second command of runs: Ctrl-C
            raise KeyboardInterrupt
        return real(self, count, on_run=on_run, **kwargs)

    monkeypatch.setattr(bench_module.DeviceClient, "kit_infer", interrupted)
    monkeypatch.setattr(bench_module, "RUNS_PER_COMMAND", 3)
    code, _, err, _, _ = bench(PeerBehaviour())
    assert code == 130 and "interrupted (Ctrl-C)" in err and "after 3 of 5 runs" in err
    assert len(saved_runs(err)) == 3
