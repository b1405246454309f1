"""`kit import MODEL.onnx`: ONNX -> int8 TFLite with explicit calibration, offline, with a model card.

The ONNX model is built here with onnx.helper (no torch needed). The conversion runs with the
machine's closed network, so a success also shows that onnx2tf downloaded nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kit.cli import main
from kit.errors import KitError

pytestmark = pytest.mark.slow


def _small_onnx(path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    initializers = [
        numpy_helper.from_array(rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "W"),
        numpy_helper.from_array(np.zeros(8, np.float32), "B"),
        numpy_helper.from_array(rng.normal(0, 0.3, (8, 4)).astype(np.float32), "W2"),
        numpy_helper.from_array(np.zeros(4, np.float32), "B2"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "W2", "B2"], ["l"]),
        helper.make_node("Softmax", ["l"], ["y"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "small", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("onnx")
    _small_onnx(folder / "small.onnx")
    # NCHW calibration data, as a PyTorch user would save it.
    np.save(folder / "calib.npy", np.random.default_rng(1).random((20, 3, 16, 16)).astype(np.float32))
    return folder / "small.onnx", folder / "calib.npy"


def test_import_makes_int8_model_with_card(onnx_model, tmp_path):
    model, calib = onnx_model
    original = model.read_bytes()
    result = CliRunner().invoke(main, ["import", str(model), "--calibration", str(calib), "--labels", "a,b,c,d",
                                       "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)
    assert card["input"]["dtype"] == "int8" and card["output"]["dtype"] == "int8"
    assert card["input"]["shape"] == [1, 16, 16, 3]  # NHWC after conversion
    # Hand count: conv 8x8 outputs x 8 channels x 3x3x3 taps + dense 8x4.
    assert card["macs_total"] == 8 * 8 * 8 * 27 + 8 * 4
    assert card["source"] == "onnx" and card["labels"] == ["a", "b", "c", "d"]
    assert card["float_int8_top1_agreement"] >= 0.9
    assert card["float_int8_max_abs_diff"] < 0.05
    assert (tmp_path / "model.tflite").is_file() and (tmp_path / "card.json").is_file()
    out = tmp_path.resolve()
    assert card["artifacts"]["tflite"] == str(out / "model.tflite") and card["artifacts"]["onnx"] == str(model)
    assert card["artifacts"]["card_json"] == str(out / "card.json") and card["artifacts"]["card_md"] == str(out / "card.md")
    assert json.loads((tmp_path / "card.json").read_text())["artifacts"] == card["artifacts"]

    from kit.tflm import TflmInterpreter

    interpreter = TflmInterpreter(tmp_path / "model.tflite")
    assert interpreter.run(np.zeros((2, 16, 16, 3), np.int8)).shape == (2, 4)

    again = CliRunner().invoke(main, ["import", str(model), "--calibration", str(calib), "--labels", "a,b,c,d",
                                      "--json"])
    assert json.loads(again.output)["cached"] is True
    assert model.read_bytes() == original  # the user's ONNX file is never rewritten


def test_import_without_calibration_refuses(onnx_model):
    from kit.importers.onnx import import_onnx

    with pytest.raises(KitError, match="calibration"):
        import_onnx(onnx_model[0])


def test_import_rejects_wrong_calibration_shape(onnx_model, tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros((4, 5, 5), np.float32))
    result = CliRunner().invoke(main, ["import", str(onnx_model[0]), "--calibration", str(tmp_path / "bad.npy")])
    assert result.exit_code == 2
    assert "calibration data has sample shape" in result.output and "Traceback" not in result.output


def test_import_rejects_non_onnx_file(tmp_path):
    bogus = tmp_path / "model.onnx"
    bogus.write_bytes(b"not a model at all")
    np.save(tmp_path / "c.npy", np.zeros((4, 3), np.float32))
    result = CliRunner().invoke(main, ["import", str(bogus), "--calibration", str(tmp_path / "c.npy")])
    assert result.exit_code == 2
    assert "not a readable ONNX model" in result.output


def _pca_autoencoder(path: Path, k: int = 8) -> None:
    """A real anomaly model for the anomaly lab: a linear autoencoder (PCA of the lab's
    normal training windows) as ONNX Gemm layers, as a user exporting a trained model has."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from kit.catalog import get_lab
    from kit.data import load_dataset

    dataset = load_dataset(get_lab("anomaly"))
    normal = np.asarray(dataset.x_train, np.float32).reshape(len(dataset.x_train), -1)[np.asarray(dataset.y_train) == 0]
    mean = normal.mean(axis=0)
    components = np.linalg.svd(normal - mean, full_matrices=False)[2][:k]
    width = normal.shape[1]
    initializers = [
        numpy_helper.from_array(components.T.astype(np.float32), "encode"),
        numpy_helper.from_array((-mean @ components.T).astype(np.float32), "encode_bias"),
        numpy_helper.from_array(components.astype(np.float32), "decode"),
        numpy_helper.from_array(mean.astype(np.float32), "decode_bias"),
    ]
    nodes = [helper.make_node("Gemm", ["x", "encode", "encode_bias"], ["code"]),
             helper.make_node("Gemm", ["code", "decode", "decode_bias"], ["y"])]
    graph = helper.make_graph(nodes, "pca_autoencoder", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, width])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, width])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def test_import_for_the_anomaly_lab_scores_by_reconstruction_error(tmp_path):
    """`kit import AE.onnx --lab anomaly`: the float ONNX model (onnxruntime) and the int8
    conversion (TFLM) are both scored on the lab's test split by reconstruction error, as
    training scores the lab's own autoencoder."""
    model = tmp_path / "pca.onnx"
    _pca_autoencoder(model)
    result = CliRunner().invoke(main, ["import", str(model), "--lab", "anomaly", "--out", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)
    assert card["task"] == "anomaly" and card["labels"] == ["normal", "anomaly"]
    assert card["accuracy_float"] >= 0.85 and card["accuracy_int8"] >= 0.85  # balanced accuracy
    assert abs(card["accuracy_float"] - card["accuracy_int8"]) <= 0.03
    assert card["auc_int8"] >= 0.9 and card["threshold_int8"] > 0
    assert np.array(card["confusion_matrix"]).sum() == 800
