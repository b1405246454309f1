"""`kit convert --target grove-vision-ai-v2`: Arm's Vela compiles for the Ethos-U55 offline,
with the board file's system and memory configuration, and kit reports what it decided.

Real Vela runs here (PyPI ethos-u-vela, no network): the five MLPerf Tiny models and the
labs' reference models, a model with an operator Vela cannot place (int8 L2_NORMALIZATION,
built with TensorFlow), and the CLI writing the report into a model card.
"""

from __future__ import annotations

import re

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kit.catalog import get_board
from kit.cli import main
from kit.compile.vela import compile_for_npu, parse_cpu_fallbacks

REPO_ROOT = Path(__file__).resolve().parents[2]
GROVE = "grove-vision-ai-v2"
LAB_MODELS = sorted(REPO_ROOT.glob("models/*/model.tflite"))


@pytest.fixture(scope="module")
def npu():
    board = get_board(GROVE)
    assert board.npu is not None and board.npu.accelerator_config == "ethos-u55-64"
    return board.npu


@pytest.fixture(scope="module")
def l2norm_model(tmp_path_factory) -> Path:
    """conv -> L2_NORMALIZATION -> dense, full int8: Vela has no NPU kernel for the middle op."""
    import tensorflow as tf

    inputs = tf.keras.Input((8, 8, 4), batch_size=1)
    x = tf.keras.layers.Conv2D(8, 3, padding="same")(inputs)
    x = tf.keras.layers.Lambda(lambda t: tf.math.l2_normalize(t, axis=-1))(x)
    outputs = tf.keras.layers.Dense(4)(tf.keras.layers.Reshape((512,))(x))
    converter = tf.lite.TFLiteConverter.from_keras_model(tf.keras.Model(inputs, outputs))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    rng = np.random.default_rng(0)
    converter.representative_dataset = lambda: ([rng.random((1, 8, 8, 4), dtype=np.float32)] for _ in range(16))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    path = tmp_path_factory.mktemp("l2norm") / "l2norm.tflite"
    path.write_bytes(converter.convert())
    return path


def test_board_config_reaches_vela(npu, mlperf_models, tmp_path):
    report = compile_for_npu(mlperf_models["vww_96_int8"], GROVE, npu, tmp_path)
    ini = (tmp_path / "vela.ini").read_text()
    assert "[System_Config.My_Sys_Cfg]" in ini and "core_clock=400000000.0" in ini and "arena_mem_area=Axi0" in ini
    assert report.npu_clock_hz == 400e6  # the board's clock, not Vela's 500 MHz default
    assert report.vela_npu_operators == 57 and report.vela_cpu_operators == 0 and report.cpu_ops == []
    assert "estimate" in report.estimate_label and "not measured" in report.estimate_label


@pytest.mark.parametrize("name", ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8",
                                  "str_ww_ref_model"])
def test_mlperf_tiny_models_compile_for_the_npu(npu, mlperf_models, tmp_path, name):
    report = compile_for_npu(mlperf_models[name], GROVE, npu, tmp_path)
    _assert_sane(report)
    print(f"{name}: NPU {report.npu_ops} CPU {[c.op for c in report.cpu_ops]} SRAM {report.sram_bytes:,} B "
          f"flash {report.flash_bytes:,} B estimate {report.estimated_inference_s * 1e3:.3f} ms")


@pytest.mark.parametrize("model", LAB_MODELS, ids=[p.parent.name for p in LAB_MODELS])
def test_lab_reference_models_compile_for_the_npu(npu, tmp_path, model):
    _assert_sane(compile_for_npu(model, GROVE, npu, tmp_path))


def _assert_sane(report) -> None:
    assert sum(report.npu_ops.values()) + len(report.cpu_ops) > 0 and report.vela_npu_operators > 0
    assert 0 < report.sram_bytes < 2_516_582 and 0 < report.flash_bytes < 16_777_216
    assert 0 < report.estimated_inference_s < 1.0
    assert b"ethos-u" in Path(report.vela_model).read_bytes()  # the NPU part is Vela's custom op


def test_an_op_vela_cannot_place_is_named_with_its_reason(npu, l2norm_model, tmp_path):
    report = compile_for_npu(l2norm_model, GROVE, npu, tmp_path)
    assert [cpu.op for cpu in report.cpu_ops] == ["L2_NORMALIZATION"]
    assert report.cpu_ops[0].reason == "Unsupported opType"
    assert report.npu_ops == {"CONV_2D": 1, "RESHAPE": 1, "FULLY_CONNECTED": 1}
    assert report.vela_cpu_operators == 1


def test_reasons_spanning_lines_are_joined():
    log = ("Warning (supported operators) operator: QUANTIZE, ofm: 'q'\nReason: Operation has tensor with "
           "unsupported DataType Float32 (x)\nFeature-map dataTypes must be one of {\"INT8\"}\n\n"
           "Warning (supported operators) operator: SIN, ofm: 'x'\nReason: Unsupported opType\n")
    found = parse_cpu_fallbacks(log)
    assert [(f.op, f.output) for f in found] == [("QUANTIZE", "q"), ("SIN", "x")]
    assert found[0].reason.endswith('must be one of {"INT8"}') and found[1].reason == "Unsupported opType"


def test_convert_cli_writes_the_npu_report_into_the_card(tmp_path, l2norm_model):
    model_dir = tmp_path / "kws"
    shutil.copytree(REPO_ROOT / "models" / "kws", model_dir)
    result = CliRunner().invoke(main, ["convert", str(model_dir / "model.tflite"), "--target", GROVE])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "ethos-u55-64" in text and "ESTIMATE" in text and "Vela performance-model estimate, not measured" in text
    card = json.loads((model_dir / "card.json").read_text())
    npu = card["npu"][GROVE]
    assert npu["cpu_ops"] == [] and npu["npu_ops"]["CONV_2D"] >= 1 and npu["vela_cpu_operators"] == 0
    assert npu["sram_bytes"] > 0 and npu["flash_bytes"] > 0 and npu["estimated_inference_s"] > 0
    markdown = (model_dir / "card.md").read_text()
    assert "## NPU: grove-vision-ai-v2" in markdown and "Vela performance-model estimate, not measured" in markdown

    # kit's own runtime has no L2_NORMALIZATION either (exit 2, said after the NPU report).
    fallback = CliRunner().invoke(main, ["convert", str(l2norm_model), "--target", GROVE])
    text = " ".join(fallback.output.split())
    # Keras numbers the layer by how many models this process built before (functional_1, _6_1, ...),
    # so the name's length, and where rich wraps the reason cell, depend on the test order: read
    # the table with its borders and spaces removed (a wrapped last cell joins up again).
    compact = re.sub(r"[\s│]+", "", fallback.output)
    assert re.search(r"CPUL2_NORMALIZATIONfunctional\w*/lambda\w*/l2_normalize:Unsupported", compact), fallback.output
    assert "3 / 1" in text and "Traceback" not in fallback.output


def test_convert_target_without_npu_is_refused(mlperf_models):
    result = CliRunner().invoke(main, ["convert", str(mlperf_models["kws_ref_model"]), "--target", "emu-cortex-m4"])
    assert result.exit_code == 2 and "has no NPU" in result.output and "Traceback" not in result.output
