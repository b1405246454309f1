"""`kit convert` end to end: files, C that compiles, cache, model card update, CLI errors."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kit.compile import convert
from kit.compile.tflm_arrays import declared_arena_bytes, resolver_method

KWS_OPS = ["CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"]

_CHECK_MAIN = r"""
#include <cstdint>
#include <cstdio>
#include <cstring>
#include "model_data.h"
int main(int argc, char** argv) {
  if (reinterpret_cast<std::uintptr_t>(g_model) % 16 != 0) { std::puts("misaligned"); return 3; }
  FILE* f = std::fopen(argv[1], "rb");
  static unsigned char buf[1 << 20];
  unsigned int n = static_cast<unsigned int>(std::fread(buf, 1, sizeof buf, f));
  std::fclose(f);
  if (n != g_model_len || std::memcmp(buf, g_model, n) != 0) { std::puts("bytes differ"); return 4; }
  std::printf("%d %d %d %s %d\n", kTensorArenaSize, kInputZeroPoint, kLabelCount,
              kLabelCount ? kLabels[kLabelCount - 1] : "-", kInputElements);
  return argc > 5;
}
"""


@pytest.fixture(scope="module")
def kws_result(mlperf_models, tmp_path_factory):
    out = tmp_path_factory.mktemp("kws-convert")
    labels = [f"word{i}" for i in range(11)] + ['quote"back\\slash']
    return convert(mlperf_models["kws_ref_model"], out, labels=labels, model_id="kws01", tflm=True), labels


def test_convert_writes_both_outputs_and_summary(kws_result, mlperf_models):
    result, labels = kws_result
    assert result.model_id == "kws01" and result.labels == labels
    assert result.ops[0] == "CONV_2D" and list(result.op_counts) == KWS_OPS
    assert result.arena_bytes_kit <= result.arena_bytes_tflm
    assert result.tensor_arena_size == declared_arena_bytes(result.arena_bytes_tflm) > result.arena_bytes_tflm
    assert result.macs == 2_656_768
    assert result.model_bytes == mlperf_models["kws_ref_model"].stat().st_size
    for name in ("model_data.h", "model_data.cc", "model_ops.h"):
        assert (result.tflm_dir / name).is_file()
    summary = json.loads((result.out_dir / "summary.json").read_text())
    assert summary["arena_bytes_tflm"] == result.arena_bytes_tflm
    assert result.kit_dir is not None and result.refusal is None  # kit compiles the MLPerf kws model
    assert (result.kit_dir / "kit_model.c").is_file() and (result.kit_dir / "kit_model.h").is_file()
    assert all(path.is_file() for path in result.files)


def test_op_resolver_header_lists_exactly_the_models_ops(kws_result):
    text = (kws_result[0].tflm_dir / "model_ops.h").read_text()
    assert f"constexpr int kModelOpCount = {len(KWS_OPS)};" in text
    registered = [line.split("resolver.")[1].split("(")[0] for line in text.splitlines() if "resolver.Add" in line]
    assert registered == [resolver_method(op) for op in KWS_OPS]
    assert registered[:2] == ["AddConv2D", "AddDepthwiseConv2D"]


@pytest.mark.skipif(shutil.which("g++") is None, reason="host g++ not installed")
def test_model_data_compiles_aligned_and_holds_the_model(kws_result, mlperf_models, tmp_path):
    result, labels = kws_result
    main = tmp_path / "check.cc"
    main.write_text(_CHECK_MAIN)
    binary = tmp_path / "check"
    subprocess.run(
        ["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", f"-I{result.tflm_dir}", str(main),
         str(result.tflm_dir / "model_data.cc"), "-o", str(binary)],
        check=True, capture_output=True,
    )
    run = subprocess.run([str(binary), str(mlperf_models["kws_ref_model"])], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout
    arena, zero_point, label_count, last_label, elements = run.stdout.split()
    assert int(arena) == result.tensor_arena_size
    assert int(zero_point) == result.plan.input.zero_point[0]
    assert int(label_count) == 12 and last_label == labels[-1]
    assert int(elements) == 490


def test_second_convert_is_cached(kws_result, mlperf_models, tmp_path):
    first, labels = kws_result
    again = convert(mlperf_models["kws_ref_model"], tmp_path, labels=labels, model_id="kws01", tflm=True)
    assert again.cached
    assert (again.arena_bytes_kit, again.arena_bytes_tflm) == (first.arena_bytes_kit, first.arena_bytes_tflm)
    assert (tmp_path / "tflm" / "model_data.cc").read_text() == (first.tflm_dir / "model_data.cc").read_text()


def test_card_beside_the_model_lends_labels_and_is_named_and_kit_convert_writes_the_arena(mlperf_models, tmp_path):
    """convert() reads the card beside the model (labels, lab) and names it; writing kit's
    arena into it is `kit convert`'s (the card belongs to kit.train, a layer above compile)."""
    folder = tmp_path / "trained"
    folder.mkdir()
    model = folder / "model.tflite"
    shutil.copy(mlperf_models["ad01_int8"], model)
    sha = hashlib.sha256(model.read_bytes()).hexdigest()
    card = {"lab": "anomaly", "sha256": sha, "labels": ["normal", "anomalous"], "arena_bytes_tflm": 3984, "arena_bytes_kit": None}
    (folder / "card.json").write_text(json.dumps(card))
    result = convert(model, tmp_path / "out", tflm=True)
    assert json.loads((folder / "card.json").read_text())["arena_bytes_kit"] is None  # convert() only reads it
    assert result.model_id == "anomaly" and result.labels == ["normal", "anomalous"]
    assert result.card_path == folder / "card.json"
    assert '"anomalous"' in (tmp_path / "out" / "tflm" / "model_data.h").read_text()
    from click.testing import CliRunner

    from kit.cli import main

    ran = CliRunner().invoke(main, ["convert", str(model), "--out", str(tmp_path / "out2")])
    assert ran.exit_code == 0, ran.output
    assert json.loads((folder / "card.json").read_text())["arena_bytes_kit"] == result.arena_bytes_kit == 768


def _kit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from kit.cli import main; main()", *args], capture_output=True, text=True, timeout=300
    )


def test_cli_bad_file_exit_code_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x18\x00\x00\x00TFL3" + bytes(range(200)))
    for target in (bad, tmp_path / "missing.tflite"):
        run = _kit("convert", str(target))
        assert run.returncode == 2
        assert "Traceback" not in run.stderr + run.stdout
        assert "error:" in run.stderr and "fix:" in run.stderr


def test_cli_json_summary(mlperf_models, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("a\nb\n\n")
    run = _kit("convert", str(mlperf_models["str_ww_ref_model"]), "--out", str(tmp_path / "o"), "--labels", str(labels), "--json")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["labels"] == ["a", "b"]
    assert summary["arena_bytes_kit"] <= summary["arena_bytes_tflm"]
    assert summary["macs"] == 826_368


@pytest.fixture(scope="module")
def elu_model(tmp_path_factory) -> Path:
    from . import tiny_models

    model, shape = tiny_models.with_elu()
    path = tmp_path_factory.mktemp("elu") / "elu.tflite"
    path.write_bytes(tiny_models.convert(model, shape, "int8"))
    return path


def test_kit_refusal_still_writes_the_tflm_arrays(elu_model, tmp_path):
    from kit.build.project import model_dir_of
    from kit.errors import ModelError

    result = convert(elu_model, tmp_path / "out", tflm=True)
    assert result.kit_dir is None and result.plan is None
    assert result.refusal is not None and "(ELU)" in result.refusal.message
    assert (result.tflm_dir / "model_data.cc").is_file() and not (tmp_path / "out" / "kit").exists()
    assert "ELU" in result.ops and result.weight_bytes > 0
    assert result.to_dict()["kit_refusal"]["error"] == result.refusal.message
    for needs_kit in (result.require_kit, lambda: model_dir_of(result)):
        with pytest.raises(ModelError, match=r"\(ELU\)"):
            needs_kit()


def test_cli_prints_tflm_output_and_the_refusal(elu_model, tmp_path):
    run = _kit("convert", str(elu_model), "--out", str(tmp_path / "o"))
    assert run.returncode == 2
    assert "Traceback" not in run.stderr + run.stdout
    assert "TFLM arrays:" in run.stdout and "(ELU)" in run.stderr
    assert "error:" in run.stderr and "fix:" in run.stderr
    assert (tmp_path / "o" / "tflm" / "model_data.cc").is_file()


def test_update_card_writes_only_changes_and_warns_instead_of_failing(tmp_path, monkeypatch):
    from kit.train.card import update_card

    card = tmp_path / "card.json"
    card.write_text(json.dumps({"lab": "x", "arena_bytes_kit": 768}))
    before = card.read_text()
    assert update_card(card, 768) is False and card.read_text() == before  # unchanged: not rewritten
    assert update_card(card, 800) is True and json.loads(card.read_text())["arena_bytes_kit"] == 800

    card.write_text("[1, 2]")
    with pytest.warns(UserWarning, match="not a JSON object"):
        assert update_card(card, 800) is False
    assert card.read_text() == "[1, 2]"

    with pytest.warns(UserWarning, match="not updated"):
        assert update_card(tmp_path, 800) is False  # a folder: reading fails with OSError

    card.write_text(json.dumps({"arena_bytes_kit": 1}))

    def refuse(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(Path, "write_text", refuse)
    with pytest.warns(UserWarning, match="read-only file system"):
        assert update_card(card, 800) is False


_LABELS_MAIN = r"""
#include <cstdio>
#include "model_data.h"
int main() {
  for (int i = 0; i < kLabelCount; ++i) std::printf("%s\n", kLabels[i]);
  return 0;
}
"""


@pytest.mark.skipif(shutil.which("g++") is None, reason="host g++ not installed")
def test_non_ascii_labels_reach_c_as_utf8(mlperf_models, tmp_path):
    labels = ["café", "naïve 1", 'quote"back\\slash', "日本"]
    result = convert(mlperf_models["ad01_int8"], tmp_path / "out", labels=labels, model_id="labels", tflm=True)
    main = tmp_path / "labels.cc"
    main.write_text(_LABELS_MAIN)
    binary = tmp_path / "labels"
    subprocess.run(
        ["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", f"-I{result.tflm_dir}", str(main),
         str(result.tflm_dir / "model_data.cc"), "-o", str(binary)],
        check=True, capture_output=True,
    )
    run = subprocess.run([str(binary)], capture_output=True, check=True)
    assert run.stdout.decode("utf-8").splitlines() == labels


def test_cli_says_model_card_updated_only_when_it_wrote_the_card(mlperf_models, tmp_path):
    """Was: `model card updated` on every run, also when the card already held the figure."""
    from click.testing import CliRunner

    from kit.cli import main

    folder = tmp_path / "trained"
    folder.mkdir()
    model = folder / "model.tflite"
    shutil.copy(mlperf_models["ad01_int8"], model)
    card_path = folder / "card.json"
    card_path.write_text(json.dumps({"lab": "anomaly", "sha256": hashlib.sha256(model.read_bytes()).hexdigest(),
                                     "arena_bytes_kit": None}))
    first = CliRunner().invoke(main, ["convert", str(model), "--out", str(tmp_path / "o")])
    assert first.exit_code == 0, first.output
    assert f"model card updated: {card_path}" in first.output.replace("\n", "")
    written = card_path.read_text()
    assert json.loads(written)["arena_bytes_kit"] == 768

    second = CliRunner().invoke(main, ["convert", str(model), "--out", str(tmp_path / "o"), "--json"])
    assert second.exit_code == 0 and json.loads(second.output)["card_updated"] is False
    third = CliRunner().invoke(main, ["convert", str(model), "--out", str(tmp_path / "o")])
    assert third.exit_code == 0, third.output
    assert "model card updated" not in third.output
    assert "model card unchanged" in third.output and card_path.read_text() == written
