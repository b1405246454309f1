"""`kit bench` and `kit validate` end to end: find the board, measure, record, summarise
(the CLI draws the plots with kit.report: data moves up, never back down)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

import numpy as np

from kit.bench.results import ResultsFile
from kit.catalog import get_lab
from kit.device.bench import BenchReport, run_bench, write_csv
from kit.device.validate import Scorer, ValidateReport, quantize, validate
from kit.errors import DeviceError, KitError
from kit.targets import Session, connect, connect_port, find_running, open_target


def _session_header(session: Session, extra: dict) -> dict:
    info = session.client.info
    return {
        "board": session.board.name if session.board else (info.board if info else session.client.dut_name) or "unknown",
        "reference_board": session.reference.name if session.reference else None,
        "port": session.link.description,
        "protocol": "kit" if info else "mlperf",
        "dut_name": session.client.dut_name,
        "info": info.fields if info else {},
        **extra,
    }


def bench(
    board: str | None,
    runs: int = 100,
    warmup: int = 5,
    port: str | None = None,
    input_bytes: int | None = None,
    csv_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
    force: bool = False,
    meter: str | None = None,
    meter_port: str | None = None,
    sync: str | None = None,
) -> BenchReport:
    """Measure a running (or --port, or USB-detected) board; results file and optional CSV. `force`: accept a port whose USB id belongs to another board. `board` None: the
    MLPerf Tiny (or kit) device on `port`, whatever board it is (no catalog numbers apply).
    `meter` (kit.device.meters.METERS) measures power while it runs, on `meter_port`; `sync`
    trigger|serial (default: trigger when the board file wires a timestamp pin)."""
    if board is None and port is None:
        raise KitError("name a board or pass --port", hint="`kit bench BOARD` or `kit bench --port /dev/ttyACM0`")
    opened = connect_port(port) if board is None else connect(board, port, force=force)  # type: ignore[arg-type]
    with opened as session:
        if getattr(session.client, "protocol", "kit") == "sscma":
            return _bench_sscma(session, runs, warmup, csv_path, progress).report
        if meter is not None:
            return _metered_bench(session, runs, warmup, progress, input_bytes, csv_path, meter, meter_port, sync)
        header = _session_header(session, {"runs": runs, "warmup": warmup})
        with ResultsFile.create("bench", header) as results:
            report = run_bench(session.client, session.board, session.reference, runs, warmup, results,
                               progress, input_bytes)
    assert report.results_file is not None
    if csv_path is not None:
        write_csv(csv_path, report.results_file)
    return report


def _metered_bench(session: Session, runs: int, warmup: int, progress, input_bytes: int | None,
                   csv_path: Path | None, meter_name: str, meter_port: str | None, sync: str | None) -> BenchReport:
    """A bench with a power meter: every sample goes to `<results>.power.csv` as it arrives."""
    from kit.bench.samples import SampleFile
    from kit.device.meters import choose_sync, open_meter

    meter = open_meter(meter_name, session.board, session.reference, meter_port)
    chosen = choose_sync(meter, session.reference or session.board, sync)
    header = _session_header(session, {"runs": runs, "warmup": warmup, "meter": meter.name,
                                       "meter_label": meter.label, "meter_port": meter_port, "sync": chosen})
    with ResultsFile.create("bench", header) as results, SampleFile.beside(results.path) as trace:
        try:
            with meter:
                report = run_bench(session.client, session.board, session.reference, runs, warmup, results,
                                   progress, input_bytes, meter=meter, sync=chosen, power_sink=trace.append)
        except DeviceError as error:
            raise DeviceError(f"{error.message}\n  the {trace.count:,} power samples read are in {trace.path}",
                              hint=error.hint) from None
    if csv_path is not None:
        write_csv(csv_path, results.path)
    return report


def _bench_sscma(session: Session, runs: int, warmup: int, csv_path: Path | None,
                 progress: Callable[[int], None] | None):
    """A board on Seeed's SSCMA firmware: AT+INVOKE and the board's own stage times."""
    from kit.device.sscma_bench import run_sscma_bench, sscma_header

    assert session.board is not None
    header = sscma_header(session.client, session.board, session.link.description, {"runs": runs, "warmup": warmup})
    with ResultsFile.create("bench", header) as results:
        measured = run_sscma_bench(session.client, session.board, runs, warmup, results, progress)
        results.append({"type": "stages", **{stage: stats.as_dict() for stage, stats in measured.stages.items()}})
    if csv_path is not None:
        write_csv(csv_path, results.path)
    return measured


SSCMA_FRAMES = 20  # frames `kit validate` asks a camera board for without --limit


def _validate_sscma(session: Session, lab: str, model: Path | None, limit: int | None,
                    progress: Callable[..., None] | None):
    """A board on Seeed's SSCMA firmware: its camera's frames, scored on the board and by TFLM."""
    from kit.device.sscma_bench import sscma_header
    from kit.device.sscma_validate import run_sscma_validate

    assert session.board is not None
    model_path = _sscma_model(session, lab, model)
    frames = limit or SSCMA_FRAMES
    header = sscma_header(session.client, session.board, session.link.description,
                          {"lab": lab, "model_path": str(model_path), "frames": frames})
    if progress:
        progress(0, frames)
    with ResultsFile.create("validate", header) as results:
        return run_sscma_validate(session.client, session.board.name, lab, model_path, frames, results,
                                  list(get_lab(lab).labels or []),
                                  progress=(lambda done: progress(done, frames)) if progress else None)


def _sscma_model(session: Session, lab: str, model: Path | None) -> Path:
    """The int8 model kit flashed (before Vela), checked against the record kit left in the
    board's info string (AT+INFO) when it flashed it."""
    from kit.targets.sscma import INFO_PREFIX
    from kit.train.reference import choose_model, model_file

    info = session.client.read_info()
    parts = info.split()
    if len(parts) != 3 or parts[0] != INFO_PREFIX or parts[1] != lab:
        raise DeviceError(f"{session.board.name} does not run a {lab} model kit flashed (its AT+INFO record is {info!r})",
                          hint=f"flash it first: `kit flash {session.board.name} {lab}`")
    state = session.state
    if model is not None:
        return Path(model_file(model))
    if state is not None and Path(state.model_path).is_file():
        if not state.sha256.startswith(parts[2]):
            raise DeviceError(f"{session.board.name} runs model {parts[2]}, kit flashed {state.sha256[:16]} last",
                              hint=f"flash it again: `kit flash {session.board.name} {lab}`, or name it with --model")
        return Path(state.model_path)
    return choose_model(lab, None, log=None)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _model_for(session: Session, lab: str, model: Path | None = None) -> Path:
    """The .tflite the board runs: `model`, else recorded by `kit flash`, else the lab's model
    (hash-checked against what the board reports)."""
    from kit.train.reference import choose_model, model_file

    if model is not None:
        path = model_file(model)
    elif session.state is not None and Path(session.state.model_path).is_file():
        path = Path(session.state.model_path)
    else:
        path = choose_model(lab, None, log=None)
    info = session.client.info
    if info is not None and info.sha256 and info.sha256 != _sha256(path):
        raise DeviceError(
            f"{session.board.name} runs model {info.model} (sha256 {info.sha256[:12]}), not {path} "
            f"(sha256 {_sha256(path)[:12]})",
            hint=f"flash it first: `kit flash {session.reference.name} {lab}"
                 f"{f' --model {path}' if model is not None else ''}`",
        )
    return path


def test_inputs(lab_name: str, model_path: Path, limit: int | None, size: str | float | None,
                note: Callable[[str], None] | None = None, data_progress: Callable[[int, int], None] | None = None):
    """(int8 inputs in the model's input shape, labels or None, TFLM reference outputs)."""
    from kit.tflm import TflmInterpreter

    lab = get_lab(lab_name)
    dataset = _test_dataset(lab, limit, size, note, data_progress)
    return board_inputs(lab_name, model_path, np.asarray(dataset.x_test), np.asarray(dataset.y_test), limit)


def spread_subset(count: int, limit: int | None) -> np.ndarray:
    """Indices of `limit` samples spread evenly over a split of `count`: a test split is ordered
    (by speaker, by class, the anomaly lab's normal windows before its faults), so its first
    `limit` would be one speaker or one class."""
    if limit is None or limit >= count:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, max(limit, 1)).round().astype(np.int64))


def board_inputs(lab_name: str, model_path: Path, x_test: np.ndarray, y_test: np.ndarray, limit: int | None):
    """Float test features -> (the model's int8 inputs, scorer, TFLM reference outputs)."""
    from kit.tflm import TflmInterpreter

    lab = get_lab(lab_name)
    picked = spread_subset(len(x_test), limit)
    x_test, y_test = x_test[picked], y_test[picked]
    if len(x_test) == 0:
        raise KitError(f"lab {lab_name} has no test samples", hint="check the lab's dataset settings")
    interpreter = TflmInterpreter(model_path)
    shape = interpreter.input.shape
    inputs = quantize(x_test, interpreter.input.scale, interpreter.input.zero_point)
    try:
        inputs = inputs.reshape((len(inputs), *shape[1:]))
    except ValueError:
        raise KitError(
            f"lab {lab_name}'s test samples have shape {x_test.shape[1:]}, the model takes {tuple(shape[1:])}",
            hint=f"validate with the model trained for {lab_name}",
        ) from None
    reference = interpreter.run(inputs)
    scorer = _scorer(lab, model_path, x_test, y_test, interpreter.output)
    return inputs, scorer, reference


def _model_card(model_path: Path) -> dict | None:
    """The card beside a model when it describes exactly this model (sha256), else None."""
    import json

    try:
        card = json.loads((model_path.parent / "card.json").read_text())
    except (OSError, ValueError):
        return None
    return card if isinstance(card, dict) and card.get("sha256") == _sha256(model_path) else None


def own_test_inputs(lab_name: str, model_path: Path, source: Path, limit: int | None):
    """The student's folder as a test set: the held-out files `kit train` recorded in the card
    (own_data.test_files) when they are in `source`, else every example in it.
    Returns (inputs, scorer, reference, test set name, what it is in words)."""
    from kit.data.dataset import load_source_examples

    card = _model_card(model_path)
    if card is None or not card.get("labels"):
        raise KitError(f"no model card beside {model_path} describes it, so its classes are unknown",
                       hint="validate the model.tflite kit train wrote (its card.json is beside it)")
    labels = [str(label) for label in card["labels"]]
    held_out = [str(name) for name in (card.get("own_data") or {}).get("test_files", [])]
    present = [name for name in held_out if (source / name).is_file()]
    if present:
        x, y, files = load_source_examples(lab_name, source, labels, present)
        missing = len(held_out) - len(present)
        text = (f"the {len(present)} held-out files of {source} that kit train kept out of training "
                f"(listed in the card){f'; {missing} of them are no longer there' if missing else ''}")
        test_set = "own-held-out"
    else:
        x, y, files = load_source_examples(lab_name, source, labels, None)
        text = (f"all {len(set(files.tolist()))} files of {source}: the card lists no held-out files in it, "
                "so the model may have trained on some of them")
        test_set = "own-folder"
    inputs, scorer, reference = board_inputs(lab_name, model_path, x, y, limit)
    return inputs, scorer, reference, test_set, text


def _dataset_cached(lab, size: str | float | None) -> bool:
    """Is this size's test split on disk (from the whole dataset or from the test split alone)?"""
    from kit.data.dataset import cache_key, size_fraction
    from kit.data.spec import lab_spec
    from kit.paths import cache_dir

    spec = lab_spec(lab)
    fraction = size_fraction(size)
    keys = (cache_key(spec, 0, fraction, None), cache_key(spec, 0, fraction, None, ("test",)))
    return any((cache_dir("datasets") / f"{spec.name}-{key}.npz").is_file() for key in keys)


def _test_dataset(lab, limit: int | None, size: str | float | None, note, data_progress):
    """The lab's held-out split for validation, generated alone (a fifth of the whole dataset's
    cost) unless the full dataset is cached. With --limit, the smallest generated size holding
    `limit` test samples: the full test split of kws still takes a while to synthesise."""
    from kit.data import load_dataset

    test_only = ("test",)
    if size is not None or limit is None or _dataset_cached(lab, None):
        return load_dataset(lab, size=size, progress=data_progress, splits=test_only)
    for smaller in ("tiny", "small", "medium"):
        if note is not None and not _dataset_cached(lab, smaller):
            note(f"generating the test split of the {smaller} {lab.name} dataset for --limit {limit} "
                 "(the full one is not cached)")
        dataset = load_dataset(lab, size=smaller, progress=data_progress, splits=test_only)
        if len(dataset.x_test) >= limit:
            if note is not None:
                note(f"validating on {limit} test samples spread over the {smaller} generated dataset "
                     f"(held-out like the full one; `--data-size full` uses the full test set)")
            return dataset
    return load_dataset(lab, progress=data_progress, splits=test_only)


def _scorer(lab, model_path: Path, x_test: np.ndarray, y_test: np.ndarray, output) -> Scorer | None:
    """Classifiers score by argmax; anomaly labs by the threshold on the model's own card."""
    if lab.task == "classification":
        return Scorer(labels=y_test)
    if lab.task == "detection":
        settings = lab.detection.model_dump() if lab.detection is not None else {}
        return Scorer(labels=y_test, output_scale=output.scale, output_zero_point=output.zero_point,
                      detection_labels=list(lab.labels), detection_settings=settings)
    if lab.task != "anomaly":
        return None
    threshold = _card_threshold(model_path)
    if threshold is None:
        return None
    return Scorer(labels=y_test, anomaly=True, features=x_test, output_scale=output.scale,
                  output_zero_point=output.zero_point, threshold=threshold)


def _card_threshold(model_path: Path) -> float | None:
    """The int8 anomaly threshold from the card beside the model, if it describes this model."""
    return _card_number(model_path, "threshold_int8")


def _card_number(model_path: Path, key: str) -> float | None:
    """A number from the card beside the model, if the card describes this model."""
    import json

    card_path = model_path.parent / "card.json"
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(card, dict) or card.get("sha256") != _sha256(model_path):
        return None
    value = card.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def kmeans_figures(lab_name: str, model_path: Path, limit: int | None, size: str | float | None) -> dict | None:
    """A lab with K-means beside its classifier: balanced accuracy of the card's detector on the
    known test windows (the ones the board just classified) against windows of motions never
    seen in training (kit.train.unseen_motion). The score is computed here by the float32 twin
    of the board's C (kit validate feeds the board int8 features; the score needs the float
    ones); `kit run` scores on the board, and the tests hold the two to the same figures."""
    from kit.train.kmeans import KMeans, kmeans_scores, unseen_figures

    lab = get_lab(lab_name)
    block = (_model_card(model_path) or {}).get("anomaly")
    if lab.anomaly is None or not isinstance(block, dict) or block.get("method") != "kmeans":
        return None
    model = KMeans.from_card(block)
    dataset = _test_dataset(lab, limit, size, None, None)
    x_test = np.asarray(dataset.x_test, np.float32)
    x_test = x_test[spread_subset(len(x_test), limit)].reshape(-1, model.mean.size)
    per_kind = lab.anomaly.unseen_windows_per_kind
    if limit is not None:
        per_kind = max(4, min(per_kind, limit // 4))
    figures = unseen_figures(model, lab, kmeans_scores(model, x_test), 0, per_kind)
    if figures is not None and lab.anomaly.min_balanced_accuracy is not None:
        figures["target_met"] = figures["balanced_accuracy"] >= lab.anomaly.min_balanced_accuracy
    return figures


def _test_set_used(lab, size: str | float | None) -> str:
    """"full" when the samples came from the lab's full test split (as on the model card),
    else the smaller generated set `--limit` picked (its speakers and scenes differ)."""
    if size not in (None, "full"):
        return str(size)
    if _dataset_cached(lab, None):
        return "full"
    return next((smaller for smaller in ("tiny", "small", "medium") if _dataset_cached(lab, smaller)), "full")


def validate_lab(
    board: str,
    lab: str,
    limit: int | None = None,
    emulate: bool = False,
    port: str | None = None,
    progress: Callable[..., None] | None = None,
    size: str | float | None = None,
    force: bool = False,
    note: Callable[[str], None] | None = None,
    data_progress: Callable[[int, int], None] | None = None,
    model: Path | None = None,
    source: Path | None = None,
) -> ValidateReport:
    """Held-out test set on the board vs TFLM. Starts (and then stops) an emulated board that
    is not running. `note` gets what is being done (generating data), `data_progress` the
    dataset generator's (done, total), `progress` (samples done, total). `model`: the .tflite the
    board must run; `source`: the student's folder to test on (see `own_test_inputs`)."""
    from kit.targets import flash, stop

    get_lab(lab)
    if source is not None:
        from kit.data.layout import check_source
        from kit.data.spec import lab_spec

        source = Path(source).expanduser()
        spec = lab_spec(lab)
        if spec.task != "detection":  # a detection folder holds images + boxes, read by its own reader
            check_source(spec, source)  # a bad folder fails before a board is started
    started: str | None = None
    if port is None and find_running(board) is None:
        if open_target(board, emulate).emulated:
            started = flash(board, lab, emulate=emulate, model=model).target.run_on.name
    try:
        with connect(board, port, force=force) as session:
            if getattr(session.client, "protocol", "kit") == "sscma":
                if source is not None:
                    raise KitError(f"{board} classifies frames from its own camera: --source cannot feed it",
                                   hint=f"`kit validate {board} {lab}` compares the board's answers on its frames")
                return _validate_sscma(session, lab, model, limit, progress)
            model_path = _model_for(session, lab, model)
            described = ""
            if source is not None:
                inputs, scorer, reference, test_set, described = own_test_inputs(lab, model_path, source, limit)
                if note is not None:
                    note(f"test set: {described}")
            else:
                own = (_model_card(model_path) or {}).get("own_data")
                if own:
                    raise KitError(f"{model_path} was trained on your own classes "
                                   f"({', '.join(own.get('labels', []))}), not on the {lab} lab's",
                                   hint=f"test it on your folder: kit validate {board} {lab} --model {model_path} "
                                        f"--source {own.get('source') or 'DIR'}")
                inputs, scorer, reference = test_inputs(lab, model_path, limit, size, note, data_progress)
            if progress:
                progress(0, len(inputs))
            header = _session_header(session, {"lab": lab, "model_path": str(model_path), "samples": len(inputs)})
            with ResultsFile.create("validate", header) as results:
                report = validate(session.client, session.board.name, lab, inputs, scorer, reference, results,
                                  progress=(lambda done: progress(done, len(inputs))) if progress else None)
            report.test_set = test_set if source is not None else _test_set_used(get_lab(lab), size)
            report.test_set_text = described
            report.card_accuracy = _card_number(model_path, "accuracy_int8")
            if source is None:
                report.anomaly = kmeans_figures(lab, model_path, limit, size)
            return report
    finally:
        if started is not None:
            stop(started)
