"""`kit invoke`: outputs on disk for good input, a clear error (exit 2) for bad input."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from kit.cli import main
from kit.runtime_host import invoke
from kit.runtime_host.dispatch import resolve_model
from kit.errors import ModelError
from tests.runtime.conftest import random_inputs


def _invoke(*args: str):
    return CliRunner().invoke(main, ["invoke", *args])


def test_batch_in_outputs_out(mlperf_models, kws_model, tmp_path):
    inputs = random_inputs(kws_model.input_shape, 4, seed=1)
    np.save(tmp_path / "in.npy", inputs)
    result = _invoke("host", "--model", str(mlperf_models["kws_ref_model"]), "--input", str(tmp_path / "in.npy"),
                     "--output", str(tmp_path / "out.npy"))
    assert result.exit_code == 0, result.output
    outputs = np.load(tmp_path / "out.npy")
    assert outputs.shape == (4, 12) and outputs.dtype == np.int8
    assert np.array_equal(outputs, invoke(kws_model, inputs))


def test_single_input_gives_one_output(kws_model):
    single = random_inputs(kws_model.input_shape, 1, seed=2)[0]  # shape (49, 10, 1), no batch axis
    assert invoke(kws_model, single).shape == (1, 12)


@pytest.mark.parametrize(
    ("array", "fragment"),
    [
        (np.zeros((2, 49, 10, 1), np.float32), "dtype float32"),
        (np.zeros((2, 49, 9, 1), np.int8), "expects (1, 49, 10, 1)"),
        (np.zeros((0,), np.int8), "expects"),
    ],
)
def test_bad_inputs_name_expected_and_got(array, fragment, mlperf_models, tmp_path):
    np.save(tmp_path / "in.npy", array)
    result = _invoke("host", "--model", str(mlperf_models["kws_ref_model"]), "--input", str(tmp_path / "in.npy"),
                     "--output", str(tmp_path / "out.npy"))
    assert result.exit_code == 2
    assert fragment in result.output and "fix:" in result.output
    assert "Traceback" not in result.output


def test_missing_and_unreadable_input_files(mlperf_models, tmp_path):
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    for name in ("missing.npy", "bad.npy"):
        result = _invoke("host", "--model", str(mlperf_models["kws_ref_model"]), "--input", str(tmp_path / name),
                         "--output", str(tmp_path / "out.npy"))
        assert result.exit_code == 2 and "fix:" in result.output, result.output


def test_model_references(tmp_path):
    with pytest.raises(ModelError, match="neither a .tflite file nor a lab name"):
        resolve_model("no-such-lab")
    with pytest.raises(ModelError, match="model file not found"):
        resolve_model(tmp_path / "absent.tflite")
    model = tmp_path / "mine.tflite"
    model.write_bytes(b"x")
    assert resolve_model(model) == (model, "mine")


def test_lab_name_without_reference_model_says_how_to_train(tmp_path, monkeypatch):
    from kit import paths

    monkeypatch.setattr(paths, "MODELS_DIR", tmp_path)
    np.save(tmp_path / "in.npy", np.zeros((1, 49, 10, 1), np.int8))
    result = _invoke("host", "--model", "kws", "--input", str(tmp_path / "in.npy"), "--output", str(tmp_path / "o.npy"))
    assert result.exit_code == 2 and "kit train kws" in result.output


def test_boards_whose_target_cannot_invoke_are_refused_with_the_boards_that_can(tmp_path, mlperf_models):
    np.save(tmp_path / "in.npy", np.zeros((1, 49, 10, 1), np.int8))
    args = ["--model", str(mlperf_models["kws_ref_model"]), "--input", str(tmp_path / "in.npy"), "--output", str(tmp_path / "o.npy")]
    for board in ("nicla-vision", "raspberry-pi-5"):
        result = _invoke(board, *args)
        assert result.exit_code == 2 and "host" in result.output and "emulated" in result.output
    assert _invoke("no-such-board", *args).exit_code == 2


def test_a_target_class_receives_the_compiled_model(tmp_path, mlperf_models, monkeypatch):
    """invoke_on_board compiles once and hands the typed model to the board's target."""
    from kit.targets import LinuxTarget, invoke_on_board

    seen = {}

    def fake_invoke(self, compiled, inputs):
        seen["board"], seen["model"] = self.name, compiled.model_id
        return np.zeros((len(inputs), 12), np.int8)

    monkeypatch.setattr(LinuxTarget, "refuse", lambda self, action: None)
    monkeypatch.setattr(LinuxTarget, "invoke", fake_invoke)
    out = invoke_on_board("raspberry-pi-5", mlperf_models["kws_ref_model"], np.zeros((2, 49, 10, 1), np.int8))
    assert out.shape == (2, 12) and seen == {"board": "raspberry-pi-5", "model": "kws_ref_model"}


def _kit_cli(*args: str, timeout: float = 600):
    import os
    import subprocess
    import sys

    env = dict(os.environ, COLUMNS="250")  # one line per message, however long the paths
    return subprocess.run([sys.executable, "-c", "from kit.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.slow
def test_kit_invoke_emu_rv32_end_to_end_gives_tflm_outputs(mlperf_models, tmp_path):
    """`kit invoke emu-rv32` as a user runs it: the firmware built offline, booted in QEMU for
    this command only, a batch through the serial protocol, outputs equal to TFLM's."""
    import shutil

    from kit.catalog import get_board
    from kit.tflm import TflmInterpreter

    board = get_board("emu-rv32")
    for tool in (board.emulator.qemu, board.toolchain.compiler):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (see deps/apt-packages.txt)")
    model = mlperf_models["str_ww_ref_model"]
    inputs = random_inputs((1, 30, 1, 40), 6, seed=3)
    np.save(tmp_path / "in.npy", inputs)
    run = _kit_cli("invoke", "emu-rv32", "--model", str(model), "--input", str(tmp_path / "in.npy"),
                   "--output", str(tmp_path / "out.npy"))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert f"6 output(s) of shape (3,) int8 -> {tmp_path / 'out.npy'}" in " ".join(run.stdout.split())
    outputs = np.load(tmp_path / "out.npy")
    assert outputs.shape == (6, 3) and outputs.dtype == np.int8
    assert np.array_equal(outputs, TflmInterpreter(model).run(inputs))
    assert len({row.tobytes() for row in outputs}) > 1  # the inputs reached the model

    np.save(tmp_path / "bad.npy", np.zeros((2, 30, 1, 39), np.int8))
    refused = _kit_cli("invoke", "emu-rv32", "--model", str(model), "--input", str(tmp_path / "bad.npy"),
                       "--output", str(tmp_path / "bad_out.npy"))
    assert refused.returncode == 2 and "error:" in refused.stderr and "fix:" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "bad_out.npy").exists()
