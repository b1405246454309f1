"""The small-language-model lab on a Raspberry Pi, against the real sshd on 127.0.0.1 (the "Pi" is
this machine): a tiny GGUF model written here with the `gguf` package (random weights, the real
format) run by llama.cpp through llama-cpp-python; Ollama through an SSH tunnel to a peer that
speaks its documented HTTP API; and the refusals: not GGUF, too big for the Pi's RAM, no C
compiler to build llama-cpp-python."""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kit.bench.results import read_records
from kit.cli import main
from kit.deploy import RemoteLayout, RemotePython
from kit.deploy.gguf_file import GgufError, read_gguf
from kit.deploy.slm import bench_slm, deploy_slm
from kit.errors import DeviceError, KitError

from ollama_peer import OllamaPeer
from sshd_server import start_sshd
from tiny_gguf import write_tiny_llama

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return write_tiny_llama(tmp_path_factory.mktemp("gguf") / "kit-tiny.gguf")


def kit(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, " ".join(result.output.split())


def test_the_header_is_read_by_kit(tiny_model):
    model = read_gguf(tiny_model)
    assert (model.architecture, model.name, model.version) == ("llama", "kit-tiny-llama", 3)
    # 269 x 64 embeddings and output, 2 blocks of 4 attention + 3 feed-forward matrices, 5 norms
    assert model.parameters == 2 * 269 * 64 + 2 * (4 * 64 * 64 + 3 * 64 * 128) + 5 * 64
    assert (model.blocks, model.embedding, model.heads, model.vocabulary, model.context_length) == (2, 64, 4, 269, 256)
    assert model.kv_cache_bytes(256) == 2 * 2 * 256 * 64 * 2
    assert model.ram_needed_bytes(256) > model.size_bytes + model.kv_cache_bytes(256)


def test_files_that_are_not_gguf_are_refused_before_any_ssh(tiny_model, tmp_path, mlperf_models):
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_model.read_bytes()[:300])
    text = tmp_path / "notes.gguf"
    text.write_text("hello, this is a text file\n")
    cases = {mlperf_models["kws_ref_model"]: "is a TensorFlow Lite model, not a GGUF language model",
             text: "is not a GGUF file (it starts with b'hell'", cut: "is cut off: its GGUF header ends at byte"}
    for path, message in cases.items():
        with pytest.raises(GgufError, match=message.replace("(", r"\(")):
            read_gguf(path)
    # through the CLI, to a host that does not exist: the file is refused first
    code, output = kit("deploy", "raspberry-pi-5", "slm", "--host", "pi@no-such-pi.invalid", "--model", str(text))
    assert code != 0 and "is not a GGUF file" in output and "Traceback" not in output
    code, output = kit("deploy", "raspberry-pi-5", "slm", "--host", "pi@no-such-pi.invalid")
    assert code != 0 and "needs the model file: --model FILE.gguf" in output


def test_deploy_then_bench_with_llama_cpp(sshd, tiny_model, laptop_python, remote_root, clean_env, tmp_path):
    python = RemotePython(laptop_python, use_venv=False)
    result = deploy_slm("raspberry-pi-5", sshd.target(), model=tiny_model, layout=RemoteLayout(remote_root), python=python,
                        context=256, threads=2)
    on_pi = Path(remote_root) / "slm"
    assert (on_pi / "model.gguf").read_bytes() == tiny_model.read_bytes() and result.copied
    assert (on_pi / "slm_runner.py").is_file() and (on_pi / "pi_runner.py").is_file()
    smoke = result.smoke
    assert smoke["runtime"] == "llama-cpp-python" and smoke["generated_tokens"] == 8
    assert smoke["generation_tokens_per_s"] > 0 and smoke["prompt_tokens_per_s"] > 0 and smoke["peak_rss_bytes"] > 0
    again = deploy_slm("raspberry-pi-5", sshd.target(), model=tiny_model, layout=RemoteLayout(remote_root), python=python,
                       context=256, threads=2)
    assert not again.copied  # the Pi has these bytes already (sha256 checked there)

    seen = []
    bench = bench_slm("raspberry-pi-5", sshd.target(), prompt="the tiny board runs a model", runs=2, max_tokens=12,
                      threads=2, context=256, results_directory=tmp_path, on_record=seen.append)
    assert [r["index"] for r in seen if r["type"] == "generation"] == [0, 1]
    assert all(g["generated_tokens"] == 12 for g in bench.generations)  # end of text masked: every run the same length
    assert bench.generation_tokens_per_s.min > 0 and bench.ttft_ms.min > 0 and bench.peak_rss_bytes > 0
    records = list(read_records(bench.results_path))
    assert records[0]["type"] == "header" and records[0]["lab"] == "slm" and records[0]["engine"] == "llama-cpp"
    assert [r["type"] for r in records if r["type"] == "generation"] == ["generation"] * 2
    assert any(r["type"] == "system" for r in records)
    assert records[-1]["type"] == "end" and records[-1]["status"] == "complete"
    assert records[-1]["summary"]["book"]["generation_tokens_per_s"] == 8.99


def test_cli_bench_slm_json_csv_and_plot(sshd, tiny_model, laptop_python, remote_root, clean_env, tmp_path):
    common = [*sshd.cli_args(), "--remote-dir", remote_root, "--remote-python", laptop_python, "--no-venv"]
    code, output = kit("deploy", "raspberry-pi-5", "slm", *common, "--model", str(tiny_model), "--context", "256", "--threads", "2")
    assert code == 0, output
    assert "deployed slm kit-tiny.gguf" in output and "tokens/s" in output
    csv_path = tmp_path / "slm.csv"
    # no --lab: the deploy state says slm is on that Pi
    result = CliRunner().invoke(main, ["bench", "raspberry-pi-5", *common, "--prompt", "hello world",
                                       "--runs", "2", "--max-tokens", "6", "--context", "256", "--threads", "2",
                                       "--json", "--csv", str(csv_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["runs"] == 2 and summary["engine"] == "llama-cpp" and summary["generation_tokens_per_s"]["count"] == 2
    assert Path(summary["plot"]).stat().st_size > 1000
    rows = list(csv.DictReader(csv_path.open()))
    assert [int(row["index"]) for row in rows] == [0, 1] and all(int(row["generated_tokens"]) == 6 for row in rows)
    code, output = kit("bench", "raspberry-pi-5", *common, "--lab", "slm")
    assert code != 0 and "--lab slm needs --prompt" in output


def fake_free_bin(folder: Path, total_mb: int) -> Path:
    """A `free -b` reporting a small Pi (Raspberry Pi Zero 2 W class memory)."""
    folder.mkdir(parents=True)
    total = total_mb * 2**20
    (folder / "free").write_text(
        "#!/bin/sh\necho '               total        used        free      shared  buff/cache   available'\n"
        f"echo 'Mem:      {total}    {total // 4}   {total // 2}     1000   {total // 4}   {total // 2}'\n")
    (folder / "free").chmod(0o755)
    return folder


def test_a_model_too_big_for_the_pis_ram_is_refused_with_the_numbers(tiny_model, laptop_python, tmp_path, clean_env):
    fake = fake_free_bin(tmp_path / "bin", total_mb=120)
    server = start_sshd(tmp_path / "sshd-small", f'ForceCommand PATH={fake}:$PATH; eval "$SSH_ORIGINAL_COMMAND"\n')
    try:
        remote_root = tmp_path / "pi-home" / "kit"
        with pytest.raises(KitError) as refused:
            deploy_slm("raspberry-pi-5", server.target(), model=tiny_model, layout=RemoteLayout(str(remote_root)),
                       python=RemotePython(laptop_python, use_venv=False), context=256)
    finally:
        server.stop()
    message = refused.value.message
    assert "needs about 161 MB of RAM at a 256-token context" in message and "has 120 MB in all" in message
    assert "smaller model" in refused.value.hint
    assert not (remote_root / "slm" / "model.gguf").exists()  # refused before copying


def test_a_pi_without_a_c_compiler_gets_the_fix(tiny_model, tmp_path, clean_env):
    """kit's venv on the Pi has no llama-cpp-python and pip would have to build it: with no cc,
    c++ or cmake on the Pi's PATH the deploy stops before making the venv, saying what to install."""
    tools = tmp_path / "pi-bin"
    tools.mkdir()
    for tool in ("sh", "uname", "mkdir", "df", "tail", "awk", "free", "tar", "cat", "mv", "sha256sum", "sed", "head", "test"):
        found = shutil.which(tool)
        assert found, tool
        os.symlink(found, tools / tool)
    server = start_sshd(tmp_path / "sshd-nocc", f'ForceCommand PATH={tools}; eval "$SSH_ORIGINAL_COMMAND"\n')
    try:
        remote_root = tmp_path / "pi-home" / "kit"
        with pytest.raises(DeviceError) as refused:
            deploy_slm("raspberry-pi-5", server.target(), model=tiny_model, layout=RemoteLayout(str(remote_root)),
                       python=RemotePython(sys.executable), context=256)
    finally:
        server.stop()
    assert "has no cc, c++, cmake" in refused.value.message
    assert "sudo apt-get install -y build-essential cmake" in refused.value.hint and "--wheelhouse" in refused.value.hint
    assert not (remote_root / "venv").exists()


@pytest.fixture
def ollama_peer():
    peer = OllamaPeer().start()
    yield peer
    peer.stop()


def test_ollama_through_an_ssh_tunnel(sshd, ollama_peer, clean_env, tmp_path):
    result = deploy_slm("raspberry-pi-5", sshd.target(), engine="ollama", ollama_model="tinyllama", ollama_port=ollama_peer.port)
    assert result.engine == "ollama" and result.smoke["generated_tokens"] == 8
    bench = bench_slm("raspberry-pi-5", sshd.target(), prompt="what is a tiny board", runs=2, max_tokens=20,
                      ollama_port=ollama_peer.port, results_directory=tmp_path)  # engine and model from the deploy
    assert bench.engine == "ollama" and [g["generated_tokens"] for g in bench.generations] == [20, 20]
    # the peer sleeps 4 ms per token, so Ollama's own counters give about 250 tokens/s at most
    assert 10 < bench.generation_tokens_per_s.p50 <= 250
    assert all(g["timing"] == "ollama counters" and g["peak_rss_bytes"] == 1_234_567_890 for g in bench.generations)
    generate = [r for r in ollama_peer.requests if r["path"] == "/api/generate"]
    assert generate[-1]["body"]["options"]["num_predict"] == 20 and generate[-1]["body"]["stream"] is True
    records = list(read_records(bench.results_path))
    assert records[-1]["status"] == "complete" and sum(r["type"] == "generation" for r in records) == 2


def test_ollama_without_the_model_or_without_ollama(sshd, ollama_peer, clean_env, tmp_path):
    with pytest.raises(KitError) as missing:
        deploy_slm("raspberry-pi-5", sshd.target(), engine="ollama", ollama_model="llama3.2:1b", ollama_port=ollama_peer.port)
    assert "has not pulled 'llama3.2:1b'" in missing.value.message and "ollama pull llama3.2:1b" in missing.value.hint
    closed = ollama_peer.port
    ollama_peer.stop()  # nothing listens there any more
    with pytest.raises(DeviceError) as absent:
        deploy_slm("raspberry-pi-5", sshd.target(), engine="ollama", ollama_model="tinyllama", ollama_port=closed)
    assert "nothing answers as Ollama on port" in absent.value.message and "ollama.com/install.sh" in absent.value.hint


def test_an_ollama_stream_cut_off_keeps_what_was_measured(sshd, clean_env, tmp_path):
    peer = OllamaPeer().start()
    try:
        seen = []
        bench_args = dict(prompt="hello", runs=3, max_tokens=5, engine="ollama", ollama_model="tinyllama",
                          ollama_port=peer.port, results_directory=tmp_path, on_record=seen.append)

        def cut_after_first(record):
            seen.append(record)
            if record.get("type") == "generation":
                peer.fail_after_chunks = 2

        bench_args["on_record"] = cut_after_first
        with pytest.raises(DeviceError) as cut:
            bench_slm("raspberry-pi-5", sshd.target(), **bench_args)
    finally:
        peer.stop()
    assert "without its final record" in cut.value.message and "1 generation(s) kept in" in cut.value.message
    path = Path(cut.value.message.rsplit("kept in ", 1)[1].rstrip(")"))
    records = list(read_records(path))
    assert sum(r["type"] == "generation" for r in records) == 1 and records[-1]["status"] == "interrupted"
