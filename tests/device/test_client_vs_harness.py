"""The protocol client against the REAL firmware harness, compiled for the host and driven
over its stdin/stdout with a StreamLink (the checksum test model of tests/firmware)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kit.bench.results import ResultsFile, read_records
from kit.catalog import get_board
from kit.device.bench import run_bench
from kit.link import spawn
from kit.paths import FIRMWARE_DIR, REPO_ROOT
from kit.protocol import DeviceClient, ProtocolError

TEST_MODEL = REPO_ROOT / "tests" / "firmware" / "testmodel"


def checksum_model(data: bytes, outputs: int = 4) -> bytes:
    """What tests/firmware/testmodel computes: sum_i input[i] * (i + k + 1) mod 256 (int8 input)."""
    signed = [b - 256 if b > 127 else b for b in data]
    return bytes(sum(v * (i + k + 1) for i, v in enumerate(signed)) & 0xFF for k in range(outputs))


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc")
    out = tmp_path_factory.mktemp("harness") / "dut"
    sources = [*sorted((FIRMWARE_DIR / "harness").glob("*.c")), FIRMWARE_DIR / "hal" / "host" / "kit_hal_host.c",
               TEST_MODEL / "kit_model.c"]
    subprocess.run(
        ["gcc", "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", f"-I{FIRMWARE_DIR / 'harness'}",
         f"-I{FIRMWARE_DIR / 'hal'}", f"-I{TEST_MODEL}", *map(str, sources), "-o", str(out)],
        check=True,
    )
    return out


@pytest.fixture
def client(harness):
    link = spawn([str(harness)], description="host harness")
    yield DeviceClient.connect(link, line_timeout=5.0, boot_timeout=5.0)
    link.close()


def test_handshake_load_infer_layers_and_outputs_match_the_model(client):
    info = client.info
    assert client.is_kit and info.model == "test01" and info.input_bytes == 64 and info.output_bytes == 4
    assert len(info.sha256) == 64
    data = bytes((i * 29 + 7) & 0xFF for i in range(64))
    client.load(data)
    reply = client.kit_infer(3)
    assert len(reply.ticks) == 3 and reply.output == checksum_model(data)
    layers = client.layers()
    assert [layer.op for layer in layers] == ["CONV_2D", "FULLY_CONNECTED", "SOFTMAX"]
    assert client.memory().arena == info.arena


def test_mlperf_db_path_loads_the_same_bytes(client):
    data = bytes((255 - i) & 0xFF for i in range(64))
    client.load_input(data)  # db load + db HH.. lines
    assert client.infer(2).count == 2
    assert client.kit_infer(1).output == checksum_model(data)


def test_harness_errors_surface_as_protocol_errors(client):
    with pytest.raises(ProtocolError, match="input not loaded"):
        client.kit_infer(1)
    with pytest.raises(ProtocolError, match="unknown command"):
        client.command("frobnicate")


def test_bench_session_on_the_harness(client, tmp_path):
    results = ResultsFile.create("bench", {"board": "host"}, directory=tmp_path)
    with results:
        report = run_bench(client, get_board("host"), get_board("host"), runs=12, warmup=1, results=results)
    assert report.counts.count == 12 and report.protocol == "kit" and len(report.layers) == 3
    assert sum(1 for r in read_records(results.path) if r["type"] == "run") == 12
