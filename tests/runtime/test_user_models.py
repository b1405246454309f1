"""Models built the way users build them (open batch size, Flatten, Conv1D, dilations,
standalone activations, hard-swish, Permute) compile with kit and give TFLM's bytes on the
host runtime. The same models run on the emulated boards in test_twins_vs_tflm.py."""

from __future__ import annotations

import numpy as np
import pytest

from kit.compile.tflite import load_model
from kit.errors import ModelError
from kit.runtime_host import compile_model, invoke
from kit.tflm import TflmInterpreter
from tests.runtime.conftest import random_inputs
from tests.runtime.references import LITERT_REF, TFLM, reference_engine, reference_outputs
from tests.runtime.user_models import USER_MODELS

SAMPLES = 100
# The ops these models exist to cover: each must come out of at least one of them as a kernel.
COVERED_KERNELS = {"RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH", "TRANSPOSE", "TANH", "RESIZE_BILINEAR",
                   "RESIZE_NEAREST_NEIGHBOR", "TILE", "TRANSPOSE_CONV", "PRELU",
                   "RELU_N1_TO_1"}


def edge_inputs(shape: tuple[int, ...]) -> np.ndarray:
    """All -128, all 127, all 0, and every int8 value in turn (each activation's whole table)."""
    constant = [np.full(shape[1:], value, dtype=np.int8) for value in (-128, 127, 0)]
    size = int(np.prod(shape[1:]))
    sweep = [((np.arange(size) + start) % 256 - 128).astype(np.int8).reshape(shape[1:]) for start in range(0, 256, 37)]
    return np.stack(constant + sweep)


@pytest.mark.parametrize("name", USER_MODELS)
def test_user_model_matches_tflm_on_the_host(name, user_model):
    model = user_model(name)
    file_ops = set(load_model(model.path).op_names)
    assert set(model.folded_ops) <= file_ops, f"{name}: the converter no longer emits {model.folded_ops} ({file_ops})"
    compiled = compile_model(model.path)
    assert not set(compiled.op_names) & set(model.folded_ops), f"{name}: not folded: {compiled.op_names}"
    inputs = np.concatenate([random_inputs(compiled.input_shape, SAMPLES, seed=3), edge_inputs(compiled.input_shape)])
    expected = reference_outputs(model.reference, inputs)
    actual = invoke(compiled, inputs)
    differing = np.flatnonzero((actual != expected).reshape(len(inputs), -1).any(axis=1))
    assert differing.size == 0, (
        f"{name} (ops {compiled.op_names}): {differing.size} of {len(inputs)} inputs differ from "
        f"{reference_engine(model.reference)}; first kit {actual[differing[0]].tolist()} "
        f"reference {expected[differing[0]].tolist()}"
    )


def test_user_models_cover_the_new_kernels(user_model):
    seen = set()
    for name in USER_MODELS:
        seen |= set(compile_model(user_model(name).path).op_names)
    assert COVERED_KERNELS <= seen, f"no user model runs {sorted(COVERED_KERNELS - seen)}"


def test_tflm_miscomputes_the_open_batch_dilated_file(user_model):
    """Why the dilated model is checked against its batch-1 twin: TFLM on the open-batch file
    disagrees with TFLM on the twin (same weights, same scales), kit's fold does not."""
    model = user_model("dilated")
    inputs = random_inputs(compile_model(model.path).input_shape, 20, seed=5)
    assert not np.array_equal(TflmInterpreter(model.path).run(inputs), TflmInterpreter(model.reference).run(inputs))


def test_relu_n1_to_1_is_checked_against_tflite_reference_kernels(user_model):
    """TFLM has no RELU_N1_TO_1 kernel (it refuses the file), so kit's is bit-exact with
    TensorFlow Lite's reference kernel (LiteRT BUILTIN_REF) instead, which the other tests
    then use for this model; every other model stays checked against TFLM."""
    model = user_model("clip")
    assert "RELU_N1_TO_1" in compile_model(model.path).op_names
    assert reference_engine(model.reference) == LITERT_REF
    assert reference_engine(user_model("prelu").reference) == TFLM
    with pytest.raises(ModelError, match="RELU_N1_TO_1|cannot load"):
        TflmInterpreter(model.reference)


def test_kit_convert_writes_kits_c_for_a_model_tflm_cannot_allocate(user_model, tmp_path):
    """`kit convert` on a RELU_N1_TO_1 model: TFLM refuses it, kit's engine runs it. The command
    writes kit's C and says, with TFLM's own reason, why there are no TFLM arrays (it used to
    stop with the TFLM error and write nothing)."""
    import json

    from click.testing import CliRunner

    from kit.cli import main

    model = user_model("clip")
    result = CliRunner().invoke(main, ["convert", str(model.path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "TFLM arrays: not written: TensorFlow Lite Micro could not allocate this model:" in text
    reason = text.split("could not allocate this model:")[1].split(". kit's own engine")[0].strip()
    assert reason, text  # TFLM's reason is said, not an empty colon
    assert (tmp_path / "out" / "kit" / "kit_model.c").is_file()
    assert not (tmp_path / "out" / "tflm").exists()
    assert "- (TFLM cannot run it)" in text
    listed = CliRunner().invoke(main, ["convert", str(model.path), "--json"])
    assert listed.exit_code == 0, listed.output
    summary = json.loads(listed.output)
    assert summary["tflm_dir"] is None and summary["kit_dir"] and "could not allocate" in summary["tflm_refusal"]
