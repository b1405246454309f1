"""`kit_lab.h`: what a firmware needs to run its lab on its own sensor: the sensor, window and
stride, the labels, and the feature pipeline (`kit_lab_features`, the same kit_feature_config
the host fills for training). Written into every build whose model card names a lab; the build
then defines KIT_HAVE_LAB.

Values come from labs/<lab>/lab.toml ([dataset], [features], `sensors` and the optional [run]
table: `stride_ms`, `average_windows`, `led_label`, `frame_size`, `frame_channels`), the card's
labels and the model's input scale and zero point."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit import catalog
from kit.catalog.models import Lab
from kit.errors import ModelError
from kit.features.config import FLOAT_FIELDS, KIND_NAMES, FeatureConfig, lab_config
from kit.paths import FIRMWARE_DIR

HEADER_NAME = "kit_lab.h"
DETECT_DIR = FIRMWARE_DIR / "detect"
DETECT_MAX_CELLS = 1024  # KIT_DETECT_MAX_CELLS
MAX_OBJECTS = 16         # objects a kit-run record lists (it also says how many there were)
LAB_FLAGS = ("-DKIT_HAVE_LAB",)
SENSOR_MACROS = {"microphone": "KIT_SENSOR_MICROPHONE", "imu": "KIT_SENSOR_IMU", "camera": "KIT_SENSOR_CAMERA"}


@dataclass(frozen=True)
class LabRun:
    """How a board runs the lab's model on a live sensor (the lab's [run] table, defaults here)."""

    stride_samples: int
    average_windows: int
    led_label: int
    frame: tuple[int, int, int] | None  # camera frame (height, width, channels); None = the model's size


def read_card(card_path: Path | None) -> dict[str, Any] | None:
    """The model card, or None when there is none (a model without a card has no lab)."""
    if card_path is None:
        return None
    try:
        card = json.loads(Path(card_path).read_text())
    except (OSError, ValueError) as error:
        raise ModelError(f"cannot read the model card {card_path}: {error}",
                         hint="pass a card.json written by `kit train`") from None
    return card if isinstance(card, dict) else None


def card_lab(card: dict[str, Any] | None) -> Lab | None:
    """The catalog lab the card names (None when it names none or an unknown one: an imported
    model without a lab still builds, without kit_lab.h)."""
    name = (card or {}).get("lab")
    if not name:
        return None
    try:
        return catalog.get_lab(str(name))
    except catalog.CatalogError:
        return None


def _c_float(value: float) -> str:
    """A float32 as an exact hex-float C literal (the value the host's ctypes struct holds)."""
    as_float32 = struct.unpack("<f", struct.pack("<f", float(value)))[0]
    return f"{float(as_float32).hex()}f" if as_float32 != 0 else "0.0f"


def _c_string(text: str) -> str:
    return json.dumps(str(text), ensure_ascii=True)


def _input_quantization(card: dict[str, Any]) -> tuple[float, int]:
    facts = card.get("input") or {}
    scale, zero_point = facts.get("scale"), facts.get("zero_point")
    scale = scale[0] if isinstance(scale, list) else scale
    zero_point = zero_point[0] if isinstance(zero_point, list) else zero_point
    if not isinstance(scale, (int, float)) or not scale > 0 or not isinstance(zero_point, int):
        raise ModelError("the model card gives no int8 input scale and zero point",
                         hint="retrain with `kit train LAB` (its card records the input quantisation)")
    return float(scale), int(zero_point)


def _sample_shape(card: dict[str, Any], lab: Lab) -> tuple[int, ...]:
    shape = (card.get("input") or {}).get("shape") or lab.io.input_shape
    return tuple(int(d) for d in shape[1:])


def lab_run(lab: Lab, config: FeatureConfig) -> LabRun:
    """The [run] table with its defaults: audio slides by half a window and averages three
    windows; IMU and camera labs take whole windows, one at a time."""
    run = {key: value for key, value in lab.run.model_dump().items() if value is not None}
    rate = int(lab.dataset.sample_rate_hz or 0)
    window = _window_samples(config)
    audio = config.kind == KIND_NAMES["KIT_FEATURE_MFCC"]
    stride = int(round(float(run["stride_ms"]) * rate / 1000)) if "stride_ms" in run and rate else (
        window // 2 if audio else window)
    average = int(run.get("average_windows", 3 if audio else 1))
    led = run.get("led_label")
    led_index = lab.labels.index(led) if isinstance(led, str) and led in lab.labels else -1
    frame = None
    if "frame_size" in run:
        width, height = (int(v) for v in run["frame_size"])
        frame = (height, width, int(run.get("frame_channels", 3)))
    if not 0 < stride <= window or average < 1:
        raise ModelError(f"lab {lab.name}: [run] stride_ms must give 1..{window} samples and average_windows >= 1",
                         hint="fix labs/<lab>/lab.toml [run]")
    return LabRun(stride_samples=stride, average_windows=average, led_label=led_index, frame=frame)


def _window_samples(config: FeatureConfig) -> int:
    return 1 if config.kind == KIND_NAMES["KIT_FEATURE_IMAGE"] else config.samples


def lab_feature_config(lab: Lab, card: dict[str, Any]) -> tuple[FeatureConfig, LabRun]:
    """The board's pipeline: the lab's features for one sensor window, quantised for the model."""
    sections = (lab.features.model_dump(), lab.dataset.model_dump())
    base = lab_config(*sections, sample_shape=_sample_shape(card, lab))
    run = lab_run(lab, base)
    if run.frame is not None:
        base = lab_config(*sections, sample_shape=_sample_shape(card, lab), frame=run.frame)
    return base.quantized(*_input_quantization(card)), run


def _struct_initializer(config: FeatureConfig) -> list[str]:
    kinds = {value: name for name, value in KIND_NAMES.items()}
    lines = []
    for name, value in config.values().items():
        if name == "kind":
            text = kinds[value]
        elif name in FLOAT_FIELDS:
            text = _c_float(value)
        elif name == "input_zero_point":
            text = str(int(value))
        else:
            text = f"{int(value)}u"
        lines.append(f"    .{name} = {text},")
    return lines


def _sensor_facts(lab: Lab, config: FeatureConfig) -> tuple[str, int, int, int, int]:
    """(sensor macro, rate, frame width, frame height, channels)."""
    sensor = str(lab.sensors[0])
    if config.kind == KIND_NAMES["KIT_FEATURE_IMAGE"]:
        return SENSOR_MACROS[sensor], 1, config.frame_width, config.frame_height, config.frame_channels
    channels = config.axes if config.axes else 1
    return SENSOR_MACROS.get(sensor, "KIT_SENSOR_MICROPHONE"), config.sample_rate_hz, 0, 0, channels


def lab_header(card: dict[str, Any], lab: Lab) -> str:
    """The text of kit_lab.h for `lab` and the model the card describes."""
    config, run = lab_feature_config(lab, card)
    labels = [str(label) for label in card.get("labels") or lab.labels]
    sensor, rate, width, height, channels = _sensor_facts(lab, config)
    window = _window_samples(config)
    stride = run.stride_samples if config.kind == KIND_NAMES["KIT_FEATURE_MFCC"] else window
    lines = [
        f"/* Written by kit.build for lab {lab.name}: the lab's sensor, window and feature pipeline. */",
        "#ifndef KIT_LAB_H",
        "#define KIT_LAB_H",
        "",
        '#include "kit_features.h"',
        "",
        f"#define KIT_LAB_NAME {_c_string(lab.name)}",
        f"#define KIT_LAB_SENSOR {sensor}",
        f"#define KIT_LAB_SENSOR_RATE_HZ {rate}u",
        f"#define KIT_LAB_SENSOR_WIDTH {width}u",
        f"#define KIT_LAB_SENSOR_HEIGHT {height}u",
        f"#define KIT_LAB_SENSOR_CHANNELS {channels}u",
        f"#define KIT_LAB_WINDOW_SAMPLES {window}u",
        f"#define KIT_LAB_STRIDE_SAMPLES {stride}u",
        f"#define KIT_LAB_AVERAGE_WINDOWS {run.average_windows}u",
        f"#define KIT_LAB_LABEL_COUNT {len(labels)}u",
        "#define KIT_LAB_LABELS { " + ", ".join(_c_string(label) for label in labels) + " }",
        f"#define KIT_LAB_LED_LABEL {run.led_label}",
        f"#define KIT_LAB_RAW_BYTES {_raw_bytes(config)}u",
        f"#define KIT_LAB_INPUT_VALUES {config.out_values}u",
        f"#define KIT_LAB_OUTPUT_VALUES {_output_values(card, lab, labels)}u",
        *_anomaly_lines(card, lab),
        *_detection_lines(card, lab, labels),
        "",
        "#if defined(__GNUC__)",
        "#define KIT_LAB_UNUSED __attribute__((unused))",
        "#else",
        "#define KIT_LAB_UNUSED",
        "#endif",
        "static const kit_feature_config kit_lab_features KIT_LAB_UNUSED = {",
        *_struct_initializer(config),
        "};",
        *_kmeans_lines(card, lab, config),
        "",
        "#endif",
        "",
    ]
    return "\n".join(lines)


def _output_values(card: dict[str, Any], lab: Lab, labels: list[str]) -> int:
    """Values of the model output: one score per label, or an autoencoder's reconstruction, or
    a detector's whole (rows, cols, classes) grid."""
    if lab.task not in ("anomaly", "detection"):
        return len(labels)
    shape = (card.get("output") or {}).get("shape") or lab.io.output_shape
    values = 1
    for size in shape[1:]:
        values *= int(size)
    return values


def _anomaly_lines(card: dict[str, Any], lab: Lab) -> list[str]:
    """An anomaly lab's board scores each window itself (reconstruction error against the card's
    int8 threshold), so a real board with no host-side copy of its input still decides."""
    if lab.task != "anomaly":
        return ["#define KIT_LAB_ANOMALY 0"]
    threshold = card.get("threshold_int8")
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 0 < float(threshold) < 1e6:
        raise ModelError(f"the {lab.name} model's card has no anomaly threshold (threshold_int8)",
                         hint=f"retrain it: `kit train {lab.name}`")
    return ["#define KIT_LAB_ANOMALY 1", f"#define KIT_LAB_ANOMALY_THRESHOLD {_c_float(float(threshold))}"]


def _grid(card: dict[str, Any], lab: Lab, labels: list[str]) -> tuple[int, int]:
    shape = (card.get("output") or {}).get("shape") or lab.io.output_shape
    if len(shape) != 4 or int(shape[3]) != len(labels) or int(shape[1]) * int(shape[2]) > DETECT_MAX_CELLS:
        raise ModelError(f"the {lab.name} model's output {shape} is not a grid of {len(labels)} class scores "
                         f"(at most {DETECT_MAX_CELLS} cells)", hint=f"retrain it: `kit train {lab.name}`")
    return int(shape[1]), int(shape[2])


def detect_threshold_q(threshold: float, scale: float, zero_point: int) -> int:
    """kit_detect_threshold_q in float32, as the board would compute it: a cell is active when its
    quantized score is above this."""
    import numpy as np

    value = np.float32(threshold) / np.float32(scale) + np.float32(zero_point)
    return int(np.floor(value))


def _detection_lines(card: dict[str, Any], lab: Lab, labels: list[str]) -> list[str]:
    """A detection lab's board decodes its grid into objects (firmware/detect, kit_detect.c, built
    in beside kit_lab.h) with the lab's score threshold quantized to the model's output."""
    if lab.task != "detection":
        return ["#define KIT_LAB_DETECTION 0"]
    rows, cols = _grid(card, lab, labels)
    output = card.get("output") or {}
    scale, zero_point = output.get("scale"), output.get("zero_point")
    if not isinstance(scale, (int, float)) or not scale > 0 or not isinstance(zero_point, int):
        raise ModelError(f"the {lab.name} model's card has no output quantisation", hint=f"retrain it: `kit train {lab.name}`")
    threshold = lab.detection.score_threshold if lab.detection is not None else 0.5
    return ["#define KIT_LAB_DETECTION 1", '#include "kit_detect.h"', f"#define KIT_LAB_GRID_ROWS {rows}",
            f"#define KIT_LAB_GRID_COLS {cols}", f"#define KIT_LAB_DETECT_THRESHOLD_Q {detect_threshold_q(threshold, scale, zero_point)}",
            f"#define KIT_LAB_MAX_OBJECTS {MAX_OBJECTS}"]


def _float_array(name: str, values: list[float]) -> list[str]:
    """A static const float array as exact hex-float literals, eight a line."""
    lines = [f"static const float {name}[{len(values)}] KIT_LAB_UNUSED = {{"]
    for start in range(0, len(values), 8):
        lines.append("    " + ", ".join(_c_float(v) for v in values[start:start + 8]) + ",")
    return lines + ["};"]


def _kmeans_lines(card: dict[str, Any], lab: Lab, config: FeatureConfig) -> list[str]:
    """A classifier lab with an [anomaly] K-means: its standardisation, centroids and threshold
    from the card (kit.train.kmeans), so the board scores each window after the classifier. A
    card without the block (a model trained before it existed, a student's own classes) builds
    without it."""
    block = card.get("anomaly")
    if lab.anomaly is None or not isinstance(block, dict) or block.get("method") != "kmeans":
        return ["", "#define KIT_LAB_KMEANS 0"]
    from kit.train.kmeans import KMeans

    model = KMeans.from_card(block)
    if model.mean.size != config.out_values:
        raise ModelError(f"the card's K-means scores {model.mean.size} features, the lab's pipeline gives "
                         f"{config.out_values}", hint=f"retrain it: `kit train {lab.name}`")
    clusters, features = model.centroids.shape
    return ["", "/* K-means anomaly detection after the classifier (kit.train.kmeans): z = (x - mean) * inv_std,",
            " * score = distance to the nearest centroid, anomalous above the threshold. */",
            "#define KIT_LAB_KMEANS 1", f"#define KIT_LAB_KMEANS_CLUSTERS {clusters}u",
            f"#define KIT_LAB_KMEANS_FEATURES {features}u",
            f"#define KIT_LAB_KMEANS_THRESHOLD {_c_float(model.threshold)}",
            *_float_array("kit_lab_kmeans_mean", [float(v) for v in model.mean]),
            *_float_array("kit_lab_kmeans_inv_std", [float(v) for v in model.inv_std]),
            *_float_array("kit_lab_kmeans_centroids", [float(v) for v in model.centroids.reshape(-1)])]


def _raw_bytes(config: FeatureConfig) -> int:
    size = {"int16": 2, "uint8": 1}.get(config.raw_dtype, 4)
    return config.raw_values * size


def lab_files(card_path: Path | None) -> dict[str, str]:
    """{"kit_lab.h": text} for a build whose card names a lab, with the grid decoder's
    kit_detect.c/.h for a detection lab; {} otherwise."""
    card = read_card(card_path)
    lab = card_lab(card)
    if card is None or lab is None:
        return {}
    files = {HEADER_NAME: lab_header(card, lab)}
    if lab.task == "detection":
        files.update({path.name: path.read_text() for path in sorted(DETECT_DIR.glob("kit_detect.[ch]"))})
    return files


def lab_flags(files: dict[str, str]) -> list[str]:
    return list(LAB_FLAGS) if HEADER_NAME in files else []


__all__ = ["HEADER_NAME", "LabRun", "card_lab", "lab_feature_config", "lab_files", "lab_flags", "lab_header",
           "lab_run", "read_card"]
