"""ONNX -> full-integer int8 TFLite through onnx2tf, with calibration data passed explicitly.

onnx2tf reaches for the internet twice when left alone: it downloads calibration images for
4-D RGB inputs when `-cind` is missing, and it downloads a sample-image file for its own
output check whenever the model's inputs look like images. kit always passes `-cind` and runs
onnx2tf in a private working folder that already holds that sample file, filled from the
user's calibration data, so an import never touches the network.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kit.errors import KitError, ModelError, ToolMissingError

# onnx2tf's own sample-data file name; see the module docstring.
_ONNX2TF_SAMPLE_FILE = "calibration_image_sample_data_20x128x128x3_float32.npy"
_ONNX2TF_SAMPLE_SHAPE = (20, 128, 128, 3)


@dataclass(frozen=True)
class OnnxInput:
    """The single input of an ONNX graph: its name and static shape (ONNX layout)."""

    name: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class ImportResult:
    """The int8 model made from an ONNX file, and the calibration data it used (TF layout)."""

    tflite_path: Path
    calibration: np.ndarray
    onnx_input: OnnxInput


def read_onnx_input(onnx_path: Path) -> OnnxInput:
    """Name and shape of the model's only input; kit's runtime takes one input tensor."""
    try:
        import onnx
    except ImportError as error:
        raise ToolMissingError(
            "ONNX support is not installed",
            "install the optional extra: .venv/bin/pip install -e '.[onnx]'",
        ) from error
    try:
        model = onnx.load(str(onnx_path))
    except Exception as error:
        raise ModelError(f"{onnx_path} is not a readable ONNX model: {error}", "export the model again with torch.onnx.export or tf2onnx") from error
    initializers = {init.name for init in model.graph.initializer}
    inputs = [graph_input for graph_input in model.graph.input if graph_input.name not in initializers]
    if len(inputs) != 1:
        raise ModelError(
            f"{onnx_path} has {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); kit models take exactly one",
            "export a model with a single input tensor",
        )
    dims = inputs[0].type.tensor_type.shape.dim
    shape = tuple(int(d.dim_value) if d.dim_value > 0 else 1 for d in dims)
    return OnnxInput(name=inputs[0].name, shape=shape)


def to_tf_layout(calibration: np.ndarray, onnx_input: OnnxInput) -> np.ndarray:
    """Calibration samples in the layout onnx2tf's TF model expects (NHWC for 4-D inputs).

    Accepts a batch in ONNX layout (N, C, H, W) or already in TF layout (N, H, W, C).
    """
    data = np.asarray(calibration, dtype=np.float32)
    expected = onnx_input.shape[1:]
    if data.shape[1:] == expected and len(expected) == 3:
        return np.transpose(data, (0, 2, 3, 1))
    if len(expected) == 3 and data.shape[1:] == (expected[1], expected[2], expected[0]):
        return data
    if data.shape[1:] == expected:
        return data
    raise KitError(
        f"calibration data has sample shape {data.shape[1:]}, the ONNX input '{onnx_input.name}' is {onnx_input.shape}",
        "save an array of shape (N, " + ", ".join(str(d) for d in expected) + ") with numpy.save",
    )


def _sample_file(calibration_nhwc: np.ndarray) -> np.ndarray:
    """onnx2tf's sample-data file made from the user's own data (resized/tiled to its shape)."""
    target = np.zeros(_ONNX2TF_SAMPLE_SHAPE, np.float32)
    if calibration_nhwc.ndim == 4 and calibration_nhwc.shape[-1] == 3:
        n, h, w, _ = calibration_nhwc.shape
        rows = (np.arange(128) * h // 128).clip(0, h - 1)
        cols = (np.arange(128) * w // 128).clip(0, w - 1)
        for i in range(_ONNX2TF_SAMPLE_SHAPE[0]):
            target[i] = calibration_nhwc[i % n][rows][:, cols]
    return target


def _onnx2tf_command(onnx_path: Path, out_dir: Path, input_name: str, calib_path: Path, channels: int) -> list[str]:
    zeros = json.dumps([[[[0.0] * channels]]]) if channels else "[0.0]"
    ones = json.dumps([[[[1.0] * channels]]]) if channels else "[1.0]"
    return [
        sys.executable, "-m", "onnx2tf",
        "-i", str(onnx_path), "-o", str(out_dir),
        "-oiqt", "-qt", "per-channel", "-iqd", "int8", "-oqd", "int8",
        "-cind", input_name, str(calib_path), zeros, ones,
        "-n",
    ]


def convert_onnx(onnx_path: Path, calibration: np.ndarray, out_path: Path) -> ImportResult:
    """Convert `onnx_path` to a full-integer int8 .tflite at `out_path`.

    `calibration` holds representative inputs, already normalised the way the model expects.
    """
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise KitError(f"no ONNX file at {onnx_path}", "give the path of a .onnx file")
    onnx_input = read_onnx_input(onnx_path)
    calib = to_tf_layout(calibration, onnx_input)
    if len(calib) < 1:
        raise KitError("the calibration data is empty", "give at least 20 representative samples")
    channels = calib.shape[-1] if calib.ndim == 4 else 0
    with tempfile.TemporaryDirectory(prefix="kit-onnx-") as work:
        work_dir = Path(work)
        calib_path = work_dir / "calibration.npy"
        np.save(calib_path, calib)
        np.save(work_dir / _ONNX2TF_SAMPLE_FILE, _sample_file(calib))
        out_dir = work_dir / "out"
        # onnx2tf rewrites the ONNX file it is given (it renames ops in place): give it a copy.
        work_copy = work_dir / onnx_path.name
        shutil.copyfile(onnx_path, work_copy)
        command = _onnx2tf_command(work_copy, out_dir, onnx_input.name, calib_path, channels)
        completed = subprocess.run(command, cwd=work_dir, capture_output=True, text=True, timeout=1800)
        produced = sorted(out_dir.glob("*_full_integer_quant.tflite"))
        produced = [p for p in produced if "int16" not in p.name]
        if completed.returncode != 0 or not produced:
            tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-8:])
            raise ModelError(
                f"onnx2tf could not convert {onnx_path.name} to int8:\n{tail}",
                "check that every op of the model is supported by onnx2tf and that the input shape is static",
            )
        out_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(produced[0], out_path)
    return ImportResult(tflite_path=out_path, calibration=calib, onnx_input=onnx_input)


def onnx_float_outputs(onnx_path: Path, calibration_nhwc: np.ndarray, onnx_input: OnnxInput) -> np.ndarray:
    """Float outputs of the original ONNX model (onnxruntime), for the float-vs-int8 comparison."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    data = calibration_nhwc
    if data.ndim == 4 and len(onnx_input.shape) == 4:
        data = np.transpose(data, (0, 3, 1, 2))
    outputs = [session.run(None, {onnx_input.name: sample[None].astype(np.float32)})[0][0] for sample in data]
    return np.stack(outputs)


@dataclass(frozen=True)
class ImportedModel:
    """What `kit import` leaves on disk: the int8 model and its model card."""

    tflite_path: Path
    card_path: Path
    card: dict
    cached: bool


def _lab_arrays(lab_name: str, seed: int, size: str | None):
    """The lab's training view (task, labels, [training]) and its dataset (kit.data)."""
    from kit.data import load_dataset
    from kit.train.lab import load_lab

    lab = load_lab(lab_name)
    dataset = load_dataset(lab.catalog_lab, seed=seed, size=size)
    return lab, dataset


def _lab_evaluations(onnx_path: Path, result: ImportResult, lab, dataset, labels: list[str]):
    """(float ONNX, int8 TFLM) figures on the lab's test split, scored as training scores them."""
    from kit.train.evaluate import evaluate_predictor, predict_int8

    def layout(x: np.ndarray) -> np.ndarray:
        return to_tf_layout(x, result.onnx_input)

    x_test, y_test = layout(dataset.x_test), np.asarray(dataset.y_test)
    x_val_normal = None
    if lab.task == "anomaly":
        x_val_normal = layout(np.asarray(dataset.x_val)[np.asarray(dataset.y_val) == 0])
    percentile = float(lab.training.get("threshold_percentile", 99.0))
    predictors = (lambda x: onnx_float_outputs(onnx_path, x, result.onnx_input),
                  lambda x: predict_int8(result.tflite_path, x))
    float_eval, int8_eval = (
        evaluate_predictor(lab.task, predict, x_test, y_test, labels, x_val_normal, percentile) for predict in predictors
    )
    return float_eval, int8_eval


def _top1_agreement(float_out: np.ndarray, int8_out: np.ndarray) -> float:
    """Share of samples where the int8 model picks the same class as the float ONNX model."""
    a = np.asarray(float_out).reshape(len(float_out), -1).argmax(axis=1)
    b = np.asarray(int8_out).reshape(len(int8_out), -1).argmax(axis=1)
    return float(np.mean(a == b)) if len(a) else 0.0


def _import_key(onnx_path: Path, calibration: np.ndarray, lab: str | None, labels: list[str] | None) -> str:
    digest = hashlib.sha256(Path(onnx_path).read_bytes())
    digest.update(np.ascontiguousarray(calibration).tobytes())
    digest.update(json.dumps([lab, labels, list(calibration.shape)]).encode())
    return digest.hexdigest()[:20]


def import_onnx(
    onnx_path: Path,
    *,
    calibration: np.ndarray | None = None,
    lab: str | None = None,
    labels: list[str] | None = None,
    seed: int = 0,
    size: str | None = None,
    force: bool = False,
) -> ImportedModel:
    """ONNX -> int8 .tflite + model card, evaluated on the lab's test split when a lab is given.

    Without a lab the card compares the int8 model with the float ONNX model on the
    calibration data (top-1 agreement), since there are no labelled test samples.
    """
    from kit.paths import cache_dir
    from kit.train.card import build_card, sha256_of, write_card
    from kit.train.evaluate import predict_int8
    from kit.train.quantize import representative_samples

    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise KitError(f"no ONNX file at {onnx_path}", "give the path of a .onnx file")
    dataset = lab_spec = None
    if lab is not None:
        lab_spec, dataset = _lab_arrays(lab, seed, size)
        labels = labels or list(lab_spec.labels)
        if calibration is None:
            calibration = representative_samples(np.asarray(dataset.x_train), seed, count=200)
    if calibration is None:
        raise KitError(
            "an int8 import needs calibration data and none was given (kit never downloads any)",
            "pass --calibration FILE.npy (representative inputs, normalised as the model expects) or --lab LAB",
        )
    calibration = np.asarray(calibration, np.float32)
    folder = cache_dir("imported") / f"{onnx_path.stem}-{_import_key(onnx_path, calibration, lab, labels)}"
    card_json = folder / "card.json"
    if card_json.is_file() and not force:
        return ImportedModel(folder / "model.tflite", card_json, json.loads(card_json.read_text()), cached=True)
    folder.mkdir(parents=True, exist_ok=True)
    result = convert_onnx(onnx_path, calibration, folder / "model.tflite")
    float_eval = int8_eval = None
    extra: dict = {"source": "onnx", "onnx_file": str(onnx_path), "onnx_sha256": sha256_of(onnx_path)}
    if dataset is not None:
        float_eval, int8_eval = _lab_evaluations(onnx_path, result, lab_spec, dataset, labels or [])
    else:
        float_out = onnx_float_outputs(onnx_path, result.calibration, result.onnx_input)
        int8_out = predict_int8(result.tflite_path, result.calibration)
        extra["float_int8_top1_agreement"] = round(_top1_agreement(float_out, int8_out), 6)
        extra["float_int8_max_abs_diff"] = round(float(np.max(np.abs(float_out.reshape(int8_out.shape) - int8_out))), 6)
    task = lab_spec.task if lab_spec is not None else "classification"
    card = build_card(result.tflite_path, lab=lab, task=task, labels=labels, seed=seed, float_eval=float_eval,
                      int8_eval=int8_eval, artifacts={"tflite": str(result.tflite_path), "onnx": str(onnx_path)},
                      extra=extra)
    card_path, _ = write_card(card, folder)
    return ImportedModel(result.tflite_path, card_path, card, cached=False)
