"""`kit deploy` + `kit bench-pi` end to end against a real sshd on 127.0.0.1 (the "Pi" is this machine)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kit.bench.results import read_records
from kit.cli.deploy import bench_pi_command, deploy_command
from kit.deploy import RemoteLayout, RemotePython, bench_pi, deploy_lab
from kit.deploy.bench import SystemSummary
from kit.errors import DeviceError
from kit.paths import MODELS_DIR

from sshd_server import local_litert_output


def test_deploy_runs_model_on_board_and_matches_local_litert(sshd, mlperf_models, laptop_python, remote_root, clean_env):
    model = mlperf_models["kws_ref_model"]
    result = deploy_lab(
        "raspberry-pi-5", "kws", sshd.target(), model=model, layout=RemoteLayout(remote_root),
        python=RemotePython(laptop_python, use_venv=False),
    )
    lab_dir = Path(remote_root) / "kws"
    assert (lab_dir / "model.tflite").read_bytes() == model.read_bytes()
    assert (lab_dir / "labels.txt").read_text().splitlines()[0] == "yes"
    assert (lab_dir / "pi_runner.py").is_file()
    assert result.smoke["runtime"] == "ai_edge_litert"
    expected = local_litert_output(model)
    assert result.smoke["output"] == expected.tolist()
    assert result.smoke["top_index"] == int(expected.argmax())
    assert result.smoke["top_label"] == ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "_silence_", "_unknown_"][int(expected.argmax())]
    assert result.machine == "x86_64"


def test_bench_streams_every_measurement_into_results_file(sshd, mlperf_models, laptop_python, remote_root, clean_env, tmp_path):
    model = mlperf_models["ad01_int8"]
    python = RemotePython(laptop_python, use_venv=False)
    deploy_lab("raspberry-pi-4", "anomaly", sshd.target(), model=model, layout=RemoteLayout(remote_root), python=python)
    seen: list[dict] = []
    result = bench_pi("raspberry-pi-4", sshd.target(), runs=15, warmup=2, threads=2, results_directory=tmp_path, on_record=seen.append)
    # lab, folder and interpreter came from the deploy state; 15 inference lines streamed live
    assert result.lab == "anomaly" and result.runtime == "ai_edge_litert" and result.threads == 2
    assert [r["index"] for r in seen if r["type"] == "inference"] == list(range(15))
    records = list(read_records(result.results_path))
    assert records[0]["type"] == "header" and records[0]["board"] == "raspberry-pi-4" and records[0]["runtime"] == "ai_edge_litert"
    runs = [r for r in records if r.get("type") == "run"]  # stored exactly like an MCU bench's runs
    assert [r["latency_us"] for r in runs] == result.latencies_us and len(runs) == 15
    assert all(set(r) == {"t", "type", "index", "latency_us"} for r in runs)
    assert records[-1]["type"] == "end" and records[-1]["status"] == "complete"
    assert records[-1]["summary"]["count"] == 15
    assert result.stats.min <= result.stats.p50 <= result.stats.max and result.stats.min > 0
    # this machine has no vcgencmd; temperature / clock depend on the host's sysfs
    thermal = Path("/sys/class/thermal/thermal_zone0/temp").exists()
    assert (result.system.temperature() == "unavailable") != thermal
    assert result.system.throttling() == "unavailable"


def test_cli_deploy_then_bench_json_and_csv(sshd, mlperf_models, laptop_python, remote_root, clean_env, tmp_path):
    runner = CliRunner()
    common = [*sshd.cli_args(), "--remote-dir", remote_root, "--remote-python", laptop_python, "--no-venv"]
    deployed = runner.invoke(deploy_command, ["raspberry-pi-5", "kws", *common, "--model", str(mlperf_models["kws_ref_model"]), "--json"])
    assert deployed.exit_code == 0, deployed.output
    assert json.loads(deployed.output)["smoke"]["runtime"] == "ai_edge_litert"
    table = runner.invoke(deploy_command, ["raspberry-pi-5", "kws", *common, "--model", str(mlperf_models["kws_ref_model"])])
    assert "runtime: ai_edge_litert" in table.output and "top class" in table.output
    csv_path = tmp_path / "lat.csv"
    benched = runner.invoke(bench_pi_command, ["raspberry-pi-5", *common, "--lab", "kws", "--runs", "5", "--warmup", "1", "--json", "--csv", str(csv_path)])
    assert benched.exit_code == 0, benched.output
    summary = json.loads(benched.output)
    assert summary["latency_us"]["count"] == 5 and summary["runtime"] == "ai_edge_litert"
    assert summary["system"]["throttling"] == "unavailable"
    rows = list(csv.DictReader(csv_path.open()))
    assert [int(row["index"]) for row in rows] == list(range(5))
    stored = [r for r in read_records(Path(summary["results_file"])) if r.get("type") == "run"]
    assert [r["latency_us"] for r in stored] == [float(row["latency_us"]) for row in rows]
    assert Path(summary["plot"]).is_file() and summary["plot"].endswith(".png")


def test_bench_cut_short_keeps_what_it_measured(sshd, mlperf_models, laptop_python, remote_root, clean_env, tmp_path):
    """The link dies after a few lines (here: `head` closes the runner's stdout): the measurements
    that arrived stay on disk, the file is marked interrupted, and the error says how many."""
    deploy_lab("raspberry-pi-5", "kws", sshd.target(), model=mlperf_models["kws_ref_model"], layout=RemoteLayout(remote_root),
               python=RemotePython(laptop_python, use_venv=False))
    cut = tmp_path / "python-cut"
    cut.write_text(f'#!/bin/sh\n{laptop_python} "$@" | head -n 6\n')  # start, system, then 4 inference lines
    cut.chmod(0o755)
    with pytest.raises(DeviceError, match="stopped after [0-9]+ of 50 measurements") as caught:
        bench_pi("raspberry-pi-5", sshd.target(), lab_name="kws", runs=50, warmup=0, layout=RemoteLayout(remote_root),
                 python=RemotePython(str(cut), use_venv=False), results_directory=tmp_path / "results")
    (stored,) = (tmp_path / "results").glob("bench-*.jsonl")
    assert str(stored) in caught.value.message
    records = list(read_records(stored))
    measured = [r["index"] for r in records if r.get("type") == "run"]
    assert 3 <= len(measured) <= 4 and measured == list(range(len(measured)))  # 4 unless a 1 s system sample slipped in
    assert f"stopped after {len(measured)} of 50" in caught.value.message
    assert records[-1]["type"] == "end" and records[-1]["status"] == "interrupted" and records[-1]["measured"] == len(measured)


@pytest.mark.skipif(not (MODELS_DIR / "kws" / "model.tflite").exists(), reason="reference model models/kws/model.tflite not trained yet")
def test_deploy_uses_the_lab_reference_model_by_default(sshd, laptop_python, remote_root, clean_env):
    reference = MODELS_DIR / "kws" / "model.tflite"
    result = deploy_lab("raspberry-pi-5", "kws", sshd.target(), layout=RemoteLayout(remote_root), python=RemotePython(laptop_python, use_venv=False))
    assert (Path(remote_root) / "kws" / "model.tflite").read_bytes() == reference.read_bytes()
    assert result.smoke["output"] == local_litert_output(reference).tolist()


def test_throttling_flags_are_decoded():
    summary = SystemSummary()
    assert (summary.temperature(), summary.frequency(), summary.throttling()) == ("unavailable",) * 3
    summary.add({"type": "system", "temp_c": 51.5, "freq_mhz": 2400.0, "throttled": 0})
    summary.add({"type": "system", "temp_c": 63.0, "freq_mhz": 1500.0, "throttled": 0x50005})
    assert summary.temperature() == "51.5-63.0 C" and summary.frequency() == "1500.0-2400.0 MHz"
    assert summary.throttling() == "under-voltage now, throttled now, under-voltage occurred, throttling occurred (0x50005)"


def test_ssh_config_alias_is_honoured(sshd, mlperf_models, laptop_python, remote_root, clean_env, tmp_path):
    """`--host fakepi` resolved by an ssh config file (HostName, Port, User, IdentityFile), as ~/.ssh/config would."""
    config = tmp_path / "ssh_config"
    config.write_text(f"Host fakepi\n  HostName 127.0.0.1\n  Port {sshd.port}\n  User root\n  IdentityFile {sshd.client_key}\n  IdentitiesOnly yes\n")
    from kit.deploy import SshTarget

    target = SshTarget("fakepi", known_hosts=sshd.known_hosts, ssh_config=config)
    result = deploy_lab("raspberry-pi-5", "kws", target, model=mlperf_models["kws_ref_model"], layout=RemoteLayout(remote_root),
                        python=RemotePython(laptop_python, use_venv=False))
    assert result.host == "fakepi" and result.smoke["runtime"] == "ai_edge_litert"


def test_kit_bench_routes_a_raspberry_pi_to_the_ssh_bench(sshd, mlperf_models, laptop_python, remote_root, clean_env):
    """`kit bench raspberry-pi-5 --host ...` is the same bench as `kit bench-pi`."""
    from kit.cli import main

    runner = CliRunner()
    common = [*sshd.cli_args(), "--remote-dir", remote_root, "--remote-python", laptop_python, "--no-venv"]
    deployed = runner.invoke(main, ["deploy", "raspberry-pi-5", "kws", *common, "--model", str(mlperf_models["kws_ref_model"])])
    assert deployed.exit_code == 0, deployed.output
    benched = runner.invoke(main, ["bench", "raspberry-pi-5", "--runs", "4", "--warmup", "1", *common, "--lab", "kws", "--json",
                                   "--no-plot"])
    assert benched.exit_code == 0, benched.output
    summary = json.loads(benched.output)
    assert summary["latency_us"]["count"] == 4 and summary["board"] == "raspberry-pi-5" and summary["plot"] is None
    for mcu_only in (["--port", "/dev/ttyACM0"], ["--input-bytes", "490"], ["--force"]):
        ignored = runner.invoke(main, ["bench", "raspberry-pi-5", *mcu_only, *common])
        assert ignored.exit_code == 2 and "benched over SSH" in ignored.output
    refused = runner.invoke(main, ["bench", "emu-cortex-m4", "--host", "pi@example"])
    assert refused.exit_code == 2 and "only for Raspberry Pi boards" in refused.output


def test_validate_on_the_pi_scores_the_test_set_and_compares_outputs(sshd, laptop_python, remote_root, clean_env, tmp_path):
    """`kit validate PI LAB`: the lab's int8 test inputs run on the "Pi", scored as on any board;
    outputs identical to LiteRT on the laptop; agreement with TFLM counted."""
    from kit.cli import main
    from kit.device.pi_validate import validate_pi

    python = RemotePython(laptop_python, use_venv=False)
    deploy_lab("raspberry-pi-5", "anomaly", sshd.target(), layout=RemoteLayout(remote_root), python=python)
    report = validate_pi("raspberry-pi-5", sshd.target(), "anomaly", size="tiny")
    assert report.samples >= 20 and report.bit_exact and report.accuracy_kind == "balanced accuracy"
    assert report.accuracy is not None and report.accuracy >= 0.6
    records = list(read_records(report.results_file))
    assert sum(r["type"] == "sample" for r in records) == report.samples
    agreement = next(r for r in records if r["type"] == "tflm-agreement")
    assert f"with TFLM's reference kernels {agreement['matching_samples']}/{report.samples} identical" in report.test_set_text
    runner = CliRunner()
    result = runner.invoke(main, ["validate", "raspberry-pi-5", "anomaly", *sshd.cli_args(), "--limit", "10", "--data-size", "tiny", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["samples"] == 10
    other = runner.invoke(main, ["validate", "raspberry-pi-5", "kws", *sshd.cli_args(), "--limit", "5"])
    assert other.exit_code != 0 and "lab kws is not what this laptop last deployed" in " ".join(other.output.split())


def test_thread_scaling_sweep(sshd, mlperf_models, laptop_python, remote_root, clean_env):
    """`--threads-sweep 1,2`: one bench per count, a row each with the speed-up against the first."""
    runner = CliRunner()
    common = [*sshd.cli_args(), "--remote-dir", remote_root, "--remote-python", laptop_python, "--no-venv"]
    deployed = runner.invoke(deploy_command, ["raspberry-pi-5", "kws", *common, "--model", str(mlperf_models["kws_ref_model"])])
    assert deployed.exit_code == 0, deployed.output
    swept = runner.invoke(bench_pi_command, ["raspberry-pi-5", *common, "--lab", "kws", "--runs", "5", "--warmup", "1",
                                             "--threads-sweep", "1,2", "--json"])
    assert swept.exit_code == 0, swept.output
    rows = json.loads(swept.output)["sweep"]
    assert [row["threads"] for row in rows] == [1, 2] and rows[0]["speedup"] == 1.0 and rows[1]["speedup"] > 0
    headers = [next(read_records(Path(row["results_file"]))) for row in rows]
    assert [header["threads"] for header in headers] == [1, 2]
    bad = runner.invoke(bench_pi_command, ["raspberry-pi-5", *common, "--threads-sweep", "1,x"])
    assert bad.exit_code != 0 and "not a list of thread counts" in bad.output


@pytest.mark.slow
def test_the_object_detection_lab_on_the_pi(sshd, laptop_python, remote_root, clean_env):
    """The detection lab's model with LiteRT on the "Pi": deployed, validated with the centroid F1
    of kit's decoder on the Pi's output grids, each grid identical to LiteRT's on the laptop."""
    from kit.device.pi_validate import validate_pi

    python = RemotePython(laptop_python, use_venv=False)
    result = deploy_lab("raspberry-pi-5", "object-detection", sshd.target(), layout=RemoteLayout(remote_root), python=python)
    assert result.smoke["runtime"] == "ai_edge_litert" and result.smoke["top_label"] is None
    report = validate_pi("raspberry-pi-5", sshd.target(), "object-detection", limit=12, size="tiny")
    assert report.samples == 12 and report.bit_exact and report.accuracy_kind == "centroid F1"
    assert report.detection is not None and report.detection["f1"] >= 0.6  # the card: 0.851 on the full held-out set


def test_the_160_px_image_classification_lab_on_the_pi(sshd, laptop_python, remote_root, clean_env):
    """The Pi lab's MobileNetV2 at 160x160 (models/image-classification-160): `kit deploy`, `kit bench`
    and `kit validate` on the "Pi", every output identical to LiteRT's on the laptop."""
    from kit.cli import main

    runner = CliRunner()
    common = [*sshd.cli_args(), "--remote-dir", remote_root, "--remote-python", laptop_python, "--no-venv"]
    deployed = runner.invoke(main, ["deploy", "raspberry-pi-5", "image-classification-160", *common, "--json"])
    assert deployed.exit_code == 0, deployed.output
    smoke = json.loads(deployed.output)["smoke"]
    reference = MODELS_DIR / "image-classification-160" / "model.tflite"
    assert smoke["output"] == local_litert_output(reference).tolist() and len(smoke["output"]) == 4
    benched = runner.invoke(main, ["bench", "raspberry-pi-5", "--runs", "3", "--warmup", "1", *common,
                                   "--lab", "image-classification-160", "--json", "--no-plot"])
    assert benched.exit_code == 0, benched.output
    assert json.loads(benched.output)["latency_us"]["count"] == 3
    validated = runner.invoke(main, ["validate", "raspberry-pi-5", "image-classification-160", *sshd.cli_args(),
                                     "--limit", "8", "--data-size", "tiny", "--json"])
    assert validated.exit_code == 0, validated.output
    report = json.loads(validated.output)
    assert report["samples"] == 8 and report["bit_exact"]
