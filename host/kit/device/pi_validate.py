"""`kit validate PI LAB`: the lab's held-out test set run with LiteRT on a Raspberry Pi, over SSH.

The int8 inputs are made on the laptop exactly as for a microcontroller board (kit.device.flow
.test_inputs), pushed once as an .npy file, and run one by one by pi_runner.py, which streams
each output; the outputs are scored as on any board (kit.device.validate). They are compared
with the same model in LiteRT on the laptop: LiteRT's optimised int8 kernels do not always
round like TFLM's reference kernels (kws: 15 of 20 random inputs differ in some output), so on
a Pi agreement with TFLM is counted and reported, not required.
"""

from __future__ import annotations

import io
import shlex
from pathlib import Path
from typing import Any, Callable

import numpy as np

from kit.bench.results import ResultsFile
from kit.catalog import get_lab
from kit.deploy import remote
from kit.deploy.deploy import RUNNER_NAME, RUNNER_SOURCE, RemotePython, linux_board, parse_record, python_from_login_folder
from kit.deploy.ssh import SshTarget, push_files, quote_command, stream_lines
from kit.device.flow import _test_set_used, test_inputs
from kit.device.pi_camera import deployed_lab
from kit.device.validate import ValidateReport, validate
from kit.errors import DeviceError

INPUTS_NAME = "validate-inputs.npy"


def litert_outputs(model: Path, inputs: np.ndarray, threads: int = 1) -> np.ndarray:
    """The model's int8 outputs in LiteRT on the laptop, one input at a time (as the Pi runs them)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model), num_threads=threads)
    interpreter.allocate_tensors()
    detail, output = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    results = []
    for sample in inputs:
        interpreter.set_tensor(detail["index"], sample[None])
        interpreter.invoke()
        results.append(interpreter.get_tensor(output["index"]).reshape(-1).copy())
    return np.array(results)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def validate_pi(board_name: str, target: SshTarget, lab_name: str, *, limit: int | None = None, size: str | float | None = None,
                model: Path | None = None, threads: int = 1, note: Callable[[str], None] | None = None,
                data_progress: Callable[[int, int], None] | None = None,
                progress: Callable[[int, int], None] | None = None) -> ValidateReport:
    """Score the deployed lab on the Pi; outputs compared with LiteRT here and with TFLM."""
    board = linux_board(board_name)
    lab = get_lab(lab_name)
    deployed, model_path = deployed_lab(board.name, target, lab, model)
    inputs, scorer, tflm = test_inputs(lab.name, model_path, limit, size, note, data_progress)
    reference = litert_outputs(model_path, inputs, threads)
    layout = remote.RemoteLayout(deployed.remote_root)
    python = RemotePython(deployed.interpreter, deployed.use_venv)
    folder = layout.lab_dir(lab.name)
    push_files(target, folder, {RUNNER_NAME: RUNNER_SOURCE.read_bytes(), INPUTS_NAME: _npy(inputs)})
    command = (f"cd {shlex.quote(folder)} && exec {python_from_login_folder(python.runner_python(layout))} "
               + quote_command([RUNNER_NAME, "validate", "--model", "model.tflite", "--inputs", INPUTS_NAME,
                                "--threads", str(threads)]))
    tflm_matches = 0

    def run(batch: np.ndarray, on_output: Callable[[int, np.ndarray], None]) -> None:
        nonlocal tflm_matches
        done = 0
        for line in stream_lines(target, command, silence_s=120.0, deadline_s=300.0 + 10.0 * len(batch)):
            record = parse_record(line)
            if record is None or record.get("type") not in ("sample", "error"):
                continue
            if record["type"] == "error":
                raise DeviceError(f"validation on {target.host}: {record.get('message')}",
                                  hint=f"redeploy the lab: `kit deploy {board.name} {lab.name}`")
            output = _checked_output(record, done, reference.shape[1])
            tflm_matches += int(np.array_equal(output, np.asarray(tflm[done], np.int8).reshape(-1)))
            on_output(done, output)
            done += 1
            if progress:
                progress(done, len(batch))
        if done != len(batch):
            raise DeviceError(f"the Pi returned {done} of {len(batch)} outputs", hint="run the validation again")

    header: dict[str, Any] = {"board": board.name, "lab": lab.name, "host": target.host, "model_path": str(model_path),
                              "samples": len(inputs), "runtime": "litert", "reference": "LiteRT on the laptop"}
    with ResultsFile.create("validate", header) as results:
        report = validate(None, board.name, lab.name, inputs, scorer, reference, results, runner=run)
        results.append({"type": "tflm-agreement", "matching_samples": tflm_matches, "samples": report.samples})
    report.test_set = _test_set_used(lab, size)
    report.test_set_text = (f"outputs compared with LiteRT on the laptop ({report.matches}/{report.samples} identical); "
                            f"with TFLM's reference kernels {tflm_matches}/{report.samples} identical")
    return report


def _checked_output(record: dict[str, Any], index: int, width: int) -> np.ndarray:
    output = record.get("output")
    if (record.get("index") != index or not isinstance(output, list) or len(output) != width
            or not all(isinstance(v, int) and not isinstance(v, bool) and -128 <= v <= 127 for v in output)):
        raise DeviceError(f"the Pi sent an output that does not fit the model: {str(record)[:160]}",
                          hint="the runner on the Pi is not kit's: run `kit deploy` again")
    return np.array(output, dtype=np.int8)
