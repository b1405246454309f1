"""`train_lab`: dataset -> Keras training -> int8 PTQ -> float and int8 (TFLM) evaluation -> card.

Each stage is a function of its own so bench/stages.py can time it and tests can feed a small
dataset straight into `train_on_dataset`. Results are cached by the hash of their inputs.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from kit.errors import DataError, KitError
from kit.paths import REPO_ROOT, cache_dir
from kit.train.card import build_card, held_out_block, held_out_int8, sha256_of, targets_check, write_card
from kit.train.evaluate import Evaluation, evaluate_predictor, predict_float, predict_int8
from kit.train.lab import LabTraining, load_lab, training_inputs_hash
from kit.train import progressive
from kit.train.models import build_model
from kit.train.progress import dataset_progress, keras_progress, stage_console
from kit.train.quantize import (REPRESENTATIVE_SAMPLES, check_supported_ops, import_tensorflow, quantize_int8,
                                representative_samples)
from kit.train.reference import reference_card
from kit.train.regularize import BatchPlan, Regularization, one_hot, training_batches
from kit.train.transfer import BaseModel, base_identity, base_model, fit_transfer
from kit.train.diagnose import diagnose, silence_label
from kit.data.layout import check_source
from kit.data.spec import lab_spec

TFLITE_NAME, KERAS_NAME = "model.tflite", "model.keras"
# TensorFlow's C++ start-up chatter (CUDA probes, oneDNN notes) is noise for kit users.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@dataclass
class TrainResult:
    """Where the artifacts are, the card they are described by, and whether training was skipped."""

    tflite_path: Path
    card_path: Path
    card: dict[str, Any]
    cached: bool
    stage_seconds: dict[str, float] = field(default_factory=dict)


def configure_determinism(seed: int) -> None:
    """Same seed, same weights: seed Python/NumPy/TF and ask TF for deterministic kernels."""
    tf = import_tensorflow()
    import keras

    tf.get_logger().setLevel("ERROR")
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def load_lab_dataset(lab: LabTraining, seed: int, source: Path | None, size: Any, progress: bool = True):
    """The lab's dataset from kit.data (generated offline, or read from the user's folder)."""
    from kit.data import load_dataset

    with dataset_progress(lab.name, progress) as report:
        return load_dataset(lab.catalog_lab, seed=seed, source=source, size=size, progress=report)


def _features(x: np.ndarray, lab: LabTraining) -> np.ndarray:
    """Features in the model's input shape (without the batch axis) as float32."""
    sample_shape = tuple(lab.input_shape[1:])
    x = np.asarray(x, dtype=np.float32)
    if x.size and x.reshape(len(x), -1).shape[1] != int(np.prod(sample_shape)):
        raise DataError(
            f"dataset samples have shape {x.shape[1:]}, the lab's model input is {sample_shape}",
            "make the lab's [features] produce its [io] input_shape",
        )
    return x.reshape((len(x), *sample_shape))


def _training_arrays(lab: LabTraining, dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_val, y_val) as the model is fitted: an autoencoder sees only normal data."""
    x_train, y_train = _features(dataset.x_train, lab), np.asarray(dataset.y_train)
    x_val, y_val = _features(dataset.x_val, lab), np.asarray(dataset.y_val)
    if lab.task == "anomaly":
        x_train, x_val = x_train[y_train == 0], x_val[y_val == 0]
        return x_train, x_train, x_val, x_val
    return x_train, y_train, x_val, y_val


def learning_rate_schedule(training: dict, epochs: int, steps_per_epoch: int):
    """Cosine decay to 5% of [training] learning_rate over the run; with `warmup_epochs` the rate
    first climbs linearly from `warmup_start` x the peak, so a high peak rate (what lets a short
    run converge) does not knock freshly initialised BatchNorm statistics off at the first steps."""
    import keras

    peak = float(training.get("learning_rate", 0.001))
    steps = epochs * steps_per_epoch
    warmup_steps = min(steps - 1, int(round(float(training.get("warmup_epochs", 0)) * steps_per_epoch)))
    if warmup_steps <= 0:
        return keras.optimizers.schedules.CosineDecay(peak, steps, alpha=0.05)
    start = peak * float(training.get("warmup_start", 0.1))
    return keras.optimizers.schedules.CosineDecay(start, steps - warmup_steps, alpha=0.05,
                                                  warmup_target=peak, warmup_steps=warmup_steps)


def fit_model(lab: LabTraining, dataset, seed: int, progress: bool = True):
    """Build the lab's architecture and train it; returns the Keras model. With [training]
    progressive_sizes the first epochs run on downscaled frames (kit.train.progressive)."""
    import_tensorflow()

    configure_determinism(seed)
    x_train, y_train, x_val, y_val = _training_arrays(lab, dataset)
    if len(x_train) == 0:
        raise DataError(f"the {lab.name} dataset has no training samples", "check the dataset folder or --size")
    classes = len(lab.labels) if lab.task != "anomaly" else 0
    plan = progressive.stages(lab.training)

    def build(shape: tuple[int, ...]):
        return build_model(lab.arch, shape, classes, lab.model, lab.training)

    def fit_stage(model, stage: progressive.Stage, x_fit: np.ndarray, x_check: np.ndarray) -> None:
        name = lab.name if len(plan) == 1 else f"{lab.name} {stage.size or lab.input_shape[1]} px"
        _compile_and_fit(lab, model, x_fit, y_train, x_check, y_val, stage.epochs, stage.learning_rate, name, progress)

    return progressive.fit_progressive(build, fit_stage, tuple(lab.input_shape[1:]), x_train, x_val, plan)


def _compile_and_fit(lab: LabTraining, model, x_train, y_train, x_val, y_val, epochs: int, learning_rate: float,
                     name: str, progress: bool) -> None:
    """Adam with a cosine-decayed learning rate over `epochs`, fitted in place; a classifier with
    [training] masks, mixup, label smoothing or weight averaging (kit.train.regularize) is fed its
    batches from there."""
    import keras

    batch_size = int(lab.training.get("batch_size", 32))
    steps = int(np.ceil(len(x_train) / batch_size))
    # this stage's peak rate (progressive resizing fine-tunes at its own), the lab's warm-up
    schedule = learning_rate_schedule({**lab.training, "learning_rate": learning_rate}, epochs, steps)
    callbacks = [keras_progress(name, epochs, steps)] if progress else []
    regularization = Regularization.from_training(lab.training)
    if lab.task == "classification" and regularization.active:
        _fit_regularized(lab, model, regularization, schedule, (x_train, y_train, x_val, y_val), epochs, callbacks)
        return
    if lab.task == "anomaly":
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
    else:
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    weights = None
    if lab.task == "detection":  # FOMO: object cells are rare, weigh them up against the background
        weights = np.where(y_train > 0, float(lab.training.get("object_weight", 10.0)), 1.0).astype(np.float32)
    model.fit(
        x_train, y_train, sample_weight=weights, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0, callbacks=callbacks,
        validation_data=(x_val, y_val) if len(x_val) else None,
    )


def _fit_regularized(lab: LabTraining, model, regularization: Regularization, schedule, arrays, epochs: int,
                     callbacks: list) -> None:
    """Fit on kit.train.regularize's batches (seeded by the lab's training seed, drawn by
    configure_determinism's NumPy state so a run stays a function of its seed)."""
    import keras

    x_train, y_train, x_val, y_val = arrays
    classes = len(lab.labels)
    seed = int(np.random.randint(0, 2**31 - 1))
    plan = BatchPlan(x_train, y_train, int(lab.training.get("batch_size", 32)), classes, regularization, seed)
    if regularization.soft_labels:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=regularization.label_smoothing)
        y_val = one_hot(y_val, classes)
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
    averaged = {"use_ema": True, "ema_momentum": regularization.ema_momentum} if regularization.ema_momentum else {}
    model.compile(optimizer=keras.optimizers.Adam(schedule, **averaged), loss=loss, metrics=["accuracy"])
    model.fit(training_batches(plan), epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks,
              validation_data=(x_val, y_val) if len(x_val) else None)


def quantize_model(lab: LabTraining, model, dataset, seed: int, folder: Path) -> Path:
    """int8 PTQ calibrated on training data; the graph must stay within the kit runtime's ops."""
    x_train, _, _, _ = _training_arrays(lab, dataset)
    count = int(lab.training.get("calibration_samples", REPRESENTATIVE_SAMPLES))
    tflite = quantize_int8(model, representative_samples(x_train, seed, count))
    check_supported_ops(tflite)
    path = Path(folder) / TFLITE_NAME
    path.write_bytes(tflite)
    return path


def evaluate_models(lab: LabTraining, model, tflite_path: Path, dataset) -> tuple[Evaluation, Evaluation]:
    """Float (Keras) and int8 (TFLM) figures on the held-out test split."""
    x_test, y_test = _features(dataset.x_test, lab), np.asarray(dataset.y_test)
    x_val_normal = None
    if lab.task == "anomaly":
        x_val_normal = _features(dataset.x_val, lab)[np.asarray(dataset.y_val) == 0]
    percentile = float(lab.training.get("threshold_percentile", 99.0))
    float_eval, int8_eval = (
        evaluate_predictor(lab.task, predict, x_test, y_test, lab.labels, x_val_normal, percentile, lab.detection)
        for predict in (lambda x: predict_float(model, x), lambda x: predict_int8(tflite_path, x))
    )
    return float_eval, int8_eval


def kmeans_block(lab: LabTraining, dataset, seed: int) -> dict[str, Any]:
    """The lab's [anomaly] K-means (fitted on the training features, threshold on validation,
    scored on known test windows against unseen motions) for the card."""
    from kit.train.kmeans import detector_card

    x_train, x_val, x_test = (np.asarray(x, np.float32).reshape(len(x), -1)
                              for x in (dataset.x_train, dataset.x_val, dataset.x_test))
    return detector_card(lab.anomaly, lab.catalog_lab, x_train, x_val, x_test, seed)


def _artifacts(folder: Path) -> dict[str, str]:
    names = {"tflite": TFLITE_NAME, "card_json": "card.json", "card_md": "card.md", "keras": KERAS_NAME}
    return {key: str(Path(folder) / name) for key, name in names.items() if key != "keras" or (Path(folder) / name).exists()}


def own_classes(lab: LabTraining, dataset) -> LabTraining | None:
    """The lab with the user's classes when the dataset is their own folder (classifiers: the
    folders name the classes; an anomaly lab keeps normal/anomaly and trains as usual)."""
    if getattr(dataset, "metadata", {}).get("generator") != "user-folder" or lab.task != "classification":
        return None
    return replace(lab, labels=list(dataset.labels), output_shape=[1, len(dataset.labels)])


def fit_own(lab: LabTraining, dataset, seed: int, base_path: Path, progress: bool = True):
    """Transfer learning from the base model's layers onto the user's classes."""
    import_tensorflow()
    configure_determinism(seed)
    x_train, y_train, x_val, y_val = _training_arrays(lab, dataset)
    batch_size = int(lab.training.get("batch_size", 32))

    def callbacks(stage: str, epochs: int, steps: int) -> list:
        return [keras_progress(f"{lab.name} {stage}", epochs, steps)] if progress and stage != "head" else []

    return fit_transfer(base_path, x_train, y_train, x_val, y_val, len(lab.labels), batch_size, callbacks)


def own_data_record(dataset, base: BaseModel | None) -> dict[str, Any]:
    """What the card keeps about the user's folder: classes, counts, the held-out files
    (`kit validate --source` runs exactly those), augmentation and the base model."""
    meta = dataset.metadata
    return {"source": meta.get("source"), "labels": list(dataset.labels),
            "test_files": sorted(set(np.asarray(dataset.test_groups).tolist())),
            "counts": meta.get("counts"), "augmented_copies": meta.get("augmented_copies", 0),
            "class_levels": meta.get("class_levels"), "base": base.description if base else None}


def train_on_dataset(
    lab: LabTraining, dataset, seed: int, folder: Path, inputs_hash: str, progress: bool = True
) -> TrainResult:
    """Train, quantize, evaluate and write the card for an already loaded dataset."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    console = stage_console(progress)

    own = own_classes(lab, dataset)
    if own is not None:
        lab = own
    start = time.perf_counter()
    base = None
    if own is not None:
        base = base_model(lab.name, console.print, progress)
        console.print(f"[bold]{lab.name}[/]: training a new head for your {len(lab.labels)} classes "
                      f"({', '.join(lab.labels)}) on frozen features, then fine-tuning")
        model = fit_own(lab, dataset, seed, base.path, progress)
    else:
        model = fit_model(lab, dataset, seed, progress)
    seconds["train"] = time.perf_counter() - start
    model.save(folder / KERAS_NAME, include_optimizer=False)  # the float weights: Adam's state would double them

    start = time.perf_counter()
    console.print(f"[bold]{lab.name}[/]: quantizing to int8")
    tflite_path = quantize_model(lab, model, dataset, seed, folder)
    seconds["quantize"] = time.perf_counter() - start

    start = time.perf_counter()
    console.print(f"[bold]{lab.name}[/]: evaluating float (Keras) and int8 (TFLM) on {len(dataset.x_test)} test samples")
    float_eval, int8_eval = evaluate_models(lab, model, tflite_path, dataset)
    seconds["evaluate"] = time.perf_counter() - start

    start = time.perf_counter()
    card = build_card(
        tflite_path, lab=lab.name, task=lab.task, labels=lab.labels, seed=seed, float_eval=float_eval,
        int8_eval=int8_eval, params=int(model.count_params()), training_seconds=seconds["train"],
        artifacts=_artifacts(folder),
        extra={
            "source": "trained",
            "arch": lab.arch,
            "training_inputs_hash": inputs_hash,
            "test_samples": int(len(dataset.x_test)),
            "train_samples": int(len(dataset.x_train)),
            **({"own_data": own_data_record(dataset, base)} if own is not None else {}),
        },
    )
    if lab.anomaly and own is None:
        card["anomaly"] = kmeans_block(lab, dataset, seed)
    held_out = None if own is not None else held_out_block(
        dataset.test_groups, np.asarray(dataset.y_test), list(dataset.metadata.get("held_out_synthesizers") or []),
        float_eval, int8_eval)
    if held_out is not None:
        card["held_out"] = held_out
    if own is not None:
        found = diagnose(card, dataset.metadata, silence_label(lab_spec(lab.catalog_lab).dataset))
        if found is not None:
            card["diagnosis"] = found
    targets = None if own is not None else targets_check(card.get("accuracy_float"), card.get("accuracy_int8"),
                                                         lab.targets, held_out_int8(held_out))
    if targets is not None:  # the lab's targets are for its own classes, not the user's
        card["targets"] = targets
    card_path, _ = write_card(card, folder)
    seconds["card"] = time.perf_counter() - start
    return TrainResult(tflite_path, card_path, card, cached=False, stage_seconds=seconds)


def _load_cached(folder: Path) -> TrainResult | None:
    """The cached result if its card and model are intact (the card's sha256 matches the file)."""
    card_path, tflite_path = folder / "card.json", folder / TFLITE_NAME
    if not (card_path.is_file() and tflite_path.is_file()):
        return None
    try:
        card = json.loads(card_path.read_text())
    except json.JSONDecodeError:
        return None
    if card.get("sha256") != sha256_of(tflite_path):
        return None
    return TrainResult(tflite_path, card_path, card, cached=True)


def _adopt_reference(lab_name: str, inputs_hash: str, folder: Path) -> TrainResult | None:
    """Use the committed reference model when it was trained from exactly these inputs."""
    found = reference_card(lab_name)
    if found is None:
        return None
    card, tflite = found
    if card.get("training_inputs_hash") != inputs_hash or card.get("sha256") != sha256_of(tflite):
        return None
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tflite, folder / TFLITE_NAME)
    if (tflite.parent / KERAS_NAME).is_file():
        shutil.copyfile(tflite.parent / KERAS_NAME, folder / KERAS_NAME)
    card = {**card, "source": "reference", "artifacts": _artifacts(folder)}
    card_path, _ = write_card(card, folder)
    return TrainResult(folder / TFLITE_NAME, card_path, card, cached=True)


def cache_folder(lab_name: str, inputs_hash: str) -> Path:
    return cache_dir("models") / lab_name / inputs_hash[:16]


def train_lab(
    lab_name: str,
    seed: int = 0,
    source: Path | None = None,
    force: bool = False,
    progress: bool = True,
    size: Any = None,
) -> TrainResult:
    """Train the lab's model (or return the cached one) and write its int8 .tflite and card."""
    lab = load_lab(lab_name)
    source = Path(source).expanduser() if source is not None else None
    base = None
    if source is not None and lab.task != "detection":  # detection: images + boxes, its own reader
        layout = check_source(lab_spec(lab.catalog_lab), source)  # seconds before any heavy work
        stage_console(progress).print(f"[bold]{lab.name}[/]: {layout.summary()}")
        base = base_identity(lab.name) if lab.task == "classification" else None
    inputs_hash = training_inputs_hash(lab, seed, source, size, base)
    folder = cache_folder(lab.name, inputs_hash)
    if not force:
        cached = _load_cached(folder) or (_adopt_reference(lab.name, inputs_hash, folder) if source is None else None)
        if cached is not None:
            return cached
    if folder.exists():
        shutil.rmtree(folder)
    import_tensorflow()  # before kit.data's feature code imports it with its start-up log
    start = time.perf_counter()
    stage_console(progress).print(f"[bold]{lab.name}[/]: preparing the dataset (seed {seed})")
    dataset = load_lab_dataset(lab, seed, source, size, progress)
    dataset_seconds = time.perf_counter() - start
    try:
        result = train_on_dataset(lab, dataset, seed, folder, inputs_hash, progress)
    except KitError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    result.stage_seconds = {"dataset": dataset_seconds, **result.stage_seconds}
    result.card["stage_seconds"] = {k: round(v, 2) for k, v in result.stage_seconds.items()}
    write_card(result.card, folder)
    return result


def export_model(tflite_path: Path, card: dict[str, Any], out: Path,
                 keep: tuple[str, ...] = ()) -> tuple[Path, Path, dict[str, Any]]:
    """Copy a model and its card to `out`, with the card's artifact paths pointing there.

    Paths inside the repository are written relative to it, so committed cards are portable.
    Artifact entries named in `keep` (e.g. the source "onnx" file) are carried over.
    Returns (tflite path, card.json path, card).
    """
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tflite_path, out / TFLITE_NAME)
    keras_source = Path(tflite_path).parent / KERAS_NAME
    has_keras = keras_source.is_file()
    if has_keras and keras_source.resolve() != (out / KERAS_NAME).resolve():
        shutil.copyfile(keras_source, out / KERAS_NAME)  # the float model: the base of transfer learning

    def shown(path: Path) -> str:
        return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)

    kept = {key: value for key, value in card.get("artifacts", {}).items() if key in keep}
    artifacts = {"tflite": shown(out / TFLITE_NAME), "card_json": shown(out / "card.json"),
                 "card_md": shown(out / "card.md"), **kept}
    if has_keras:
        artifacts["keras"] = shown(out / KERAS_NAME)
    card = {**card, "artifacts": artifacts}
    card_path, _ = write_card(card, out)
    return out / TFLITE_NAME, card_path, card


def export_result(result: TrainResult, out: Path) -> TrainResult:
    """Copy model and card to `out` (e.g. models/<lab>), with artifact paths pointing there."""
    tflite_path, card_path, card = export_model(result.tflite_path, result.card, out)
    return TrainResult(tflite_path, card_path, card, result.cached, result.stage_seconds)
