"""Damaged model files must give a ModelError: never another exception, never a hang."""

from __future__ import annotations

import numpy as np
import pytest

from kit.compile.planner import build_plan
from kit.compile.tflite import load_model
from kit.errors import ModelError


def _load_and_plan(data: bytes) -> None:
    """Reading may succeed on a lucky corruption; planning must then succeed or refuse cleanly."""
    model = load_model(data)
    build_plan(model)


def _assert_clean(data: bytes) -> None:
    try:
        _load_and_plan(data)
    except ModelError as error:
        assert error.message and error.hint
    # any other exception propagates and fails the test


@pytest.fixture(scope="module")
def seed_models(mlperf_models) -> list[bytes]:
    return [mlperf_models[name].read_bytes() for name in ("kws_ref_model", "ad01_int8")]


@pytest.mark.timeout(300)
def test_truncated_files(seed_models):
    rng = np.random.default_rng(11)
    for data in seed_models:
        for cut in [0, 1, 7, 8, 16, 100, len(data) // 2, len(data) - 1] + list(rng.integers(0, len(data), 40)):
            truncated = data[: int(cut)]
            with pytest.raises(ModelError):
                # a truncated flatbuffer always loses referenced bytes (buffers sit at the end)
                _load_and_plan(truncated)


@pytest.mark.timeout(300)
def test_random_byte_flips(seed_models):
    rng = np.random.default_rng(12)
    for data in seed_models:
        for _ in range(150):
            corrupted = bytearray(data)
            # concentrate flips in the first 4 KiB, where the tables and offsets live
            for position in rng.integers(0, min(len(data), 4096), int(rng.integers(1, 6))):
                corrupted[int(position)] = int(rng.integers(0, 256))
            _assert_clean(bytes(corrupted))


@pytest.mark.timeout(120)
def test_random_bytes_and_wrong_files(tmp_path):
    rng = np.random.default_rng(13)
    for size in list(rng.integers(0, 5000, 100)):
        with pytest.raises(ModelError):
            load_model(rng.integers(0, 256, int(size), dtype=np.uint8).tobytes())
    fake = bytearray(rng.integers(0, 256, 2000, dtype=np.uint8).tobytes())
    fake[4:8] = b"TFL3"  # right identifier, garbage tables
    for _ in range(50):
        fake[0:4] = int(rng.integers(0, 2000)).to_bytes(4, "little")
        _assert_clean(bytes(fake))
    text = tmp_path / "notes.tflite"
    text.write_text("this is not a model\n" * 20)
    with pytest.raises(ModelError, match="not a TensorFlow Lite flatbuffer"):
        load_model(text)
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "missing.tflite")
    with pytest.raises(ModelError, match="folder"):
        load_model(tmp_path)


# ---------------------------------------------------------------------------- hostile structure
# Models that parse cleanly but were edited (bench/fuzz_compiler.py makes them by the
# thousand): kit must refuse them with the tensor or node named, or compute TFLM's bytes.

import importlib.util  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

_FUZZER_PATH = Path(__file__).resolve().parents[2] / "bench" / "fuzz_compiler.py"


@pytest.fixture(scope="module")
def fuzzer():
    spec = importlib.util.spec_from_file_location("fuzz_compiler", _FUZZER_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _constant_index(model, dtype: str) -> int:
    return next(t.index for t in model.tensors if t.is_constant and t.dtype == dtype)


@pytest.mark.parametrize("role", ["inputs", "outputs"])
def test_a_constant_tensor_as_model_input_or_output_is_refused(role, fuzzer, mlperf_models):
    data = mlperf_models["kws_ref_model"].read_bytes()
    weights = _constant_index(load_model(data), "int8")  # int8, so no dtype check catches it first

    def use_weights(model):
        setattr(model.subgraphs[0], role, np.array([weights], dtype=np.int32))

    edited = fuzzer.rewrite(data, use_weights)
    with pytest.raises(ModelError, match=rf"model {role[:-1]} is tensor {weights} \('.+'\), a constant"):
        _load_and_plan(edited)


@pytest.mark.parametrize("zero_point", [128, -129, 2**31 - 1, -(2**31)])
@pytest.mark.parametrize("which", ["model input", "activation"])
def test_int8_zero_points_outside_int8_are_refused_naming_the_tensor(zero_point, which, fuzzer, mlperf_models):
    data = mlperf_models["ad01_int8"].read_bytes()
    model = load_model(data)
    index = model.inputs[0] if which == "model input" else model.operators[0].outputs[0]

    def set_zero_point(tree):
        tree.subgraphs[0].tensors[index].quantization.zeroPoint = np.array([zero_point], dtype=np.int64)

    name = model.tensors[index].name
    with pytest.raises(ModelError, match=rf"tensor '{name}' has zero point {zero_point}; int8 zero points must lie in"):
        _load_and_plan(fuzzer.rewrite(data, set_zero_point))


def test_ops_out_of_order_or_overwriting_the_input_are_refused(fuzzer, mlperf_models):
    data = mlperf_models["ad01_int8"].read_bytes()

    def swap_first_two(tree):
        ops = tree.subgraphs[0].operators
        ops[0], ops[1] = ops[1], ops[0]

    with pytest.raises(ModelError, match=r"node 0 \(FULLY_CONNECTED\) reads tensor \d+ \('.+'\) before any op writes it"):
        _load_and_plan(fuzzer.rewrite(data, swap_first_two))

    def input_is_an_intermediate(tree):
        tree.subgraphs[0].inputs = np.array(tree.subgraphs[0].operators[2].inputs[:1], dtype=np.int32)

    with pytest.raises(ModelError, match=r"node 0 \(FULLY_CONNECTED\) reads tensor 0 \('input_1'\) before any op"):
        _load_and_plan(fuzzer.rewrite(data, input_is_an_intermediate))


def test_more_inputs_than_the_op_takes_are_refused(fuzzer, mlperf_models):
    data = mlperf_models["ad01_int8"].read_bytes()

    def extra_input(tree):
        op = tree.subgraphs[0].operators[0]
        op.inputs = np.array([*op.inputs, op.inputs[1]], dtype=np.int32)

    with pytest.raises(ModelError, match=r"node 0 \(FULLY_CONNECTED\): 4 inputs, FULLY_CONNECTED takes 2 to 3"):
        _load_and_plan(fuzzer.rewrite(data, extra_input))


@pytest.mark.slow
def test_fully_connected_written_without_its_bias_matches_tflm(fuzzer, mlperf_models, tmp_path):
    """A bias left out of the inputs list (2 inputs, as the schema allows): the kernel read a
    third index past the end of the op's input array and added an activation as bias."""
    from kit.runtime_host import compile_model, invoke
    from kit.tflm import TflmInterpreter
    from tests.runtime.conftest import random_inputs

    def drop_second_bias(tree):
        op = tree.subgraphs[0].operators[1]
        op.inputs = np.array(op.inputs[:2], dtype=np.int32)

    path = tmp_path / "no_bias.tflite"
    path.write_bytes(fuzzer.rewrite(mlperf_models["ad01_int8"].read_bytes(), drop_second_bias))
    compiled = compile_model(path)
    inputs = random_inputs(compiled.input_shape, 8, seed=5)
    assert np.array_equal(invoke(compiled, inputs), TflmInterpreter(path).run(inputs))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_mutation_campaign_finds_nothing(fuzzer, mlperf_models):
    """A fixed-seed slice of the fuzzer: every mutant refused cleanly or bit-exact with TFLM."""
    seeds = [mlperf_models[name] for name in ("ad01_int8", "kws_ref_model")]
    summary = fuzzer.run_campaign(seeds, mutants=30, seconds=600, seed=20261202)
    print(summary.line(), summary.details())
    assert summary.inputs == 30
    assert not any(summary.verdicts[v] for v in fuzzer.BAD_VERDICTS), (summary.line(), summary.findings)
    # the slice must reach both outcomes, or it proves nothing about either
    assert summary.verdicts["refused"] > 0 and summary.verdicts["same"] > 0, summary.verdicts


@pytest.mark.parametrize("count", [0, 2])
def test_zero_points_not_one_per_scale_are_refused(count, fuzzer, mlperf_models):
    """Was an IndexError (an activation with a scale and no zero point) from the planner."""
    data = mlperf_models["kws_ref_model"].read_bytes()
    model = load_model(data)
    pool = next(op for op in model.operators if op.op == "AVERAGE_POOL_2D")
    name = model.tensors[pool.outputs[0]].name

    def zero_points(tree):
        tree.subgraphs[0].tensors[pool.outputs[0]].quantization.zeroPoint = np.zeros(count, dtype=np.int64)

    with pytest.raises(ModelError, match=rf"tensor '{name}' has 1 scale\(s\) and {count} zero point\(s\)"):
        _load_and_plan(fuzzer.rewrite(data, zero_points))


def test_an_elementwise_output_larger_than_its_input_is_refused(fuzzer, mlperf_models):
    """Was a traceback in the host runner (SOFTMAX [1, 3] -> [2, 3]: 3 values written, 6 read)."""
    data = mlperf_models["str_ww_ref_model"].read_bytes()
    output = load_model(data).outputs[0]

    def double_the_batch(tree):
        tree.subgraphs[0].tensors[output].shape = np.array([2, 3], dtype=np.int32)

    with pytest.raises(ModelError, match=r"\(SOFTMAX\): output '.+' has shape \[2, 3\], its input '.+' \[1, 3\]"):
        _load_and_plan(fuzzer.rewrite(data, double_the_batch))


def test_a_fully_connected_output_whose_last_dimension_is_not_the_units_is_refused(fuzzer, mlperf_models):
    """[1, 128] -> [1, 128, 1]: same size, but TFLM then runs 128 rows of 1 unit over input rows
    that do not exist (kit computed the model's numbers, TFLM garbage: outputs differed)."""
    data = mlperf_models["ad01_int8"].read_bytes()
    model = load_model(data)
    index = model.operators[7].outputs[0]

    def add_a_unit_axis(tree):
        tree.subgraphs[0].tensors[index].shape = np.array([1, 128, 1], dtype=np.int32)

    with pytest.raises(ModelError, match=r"node 7 \(FULLY_CONNECTED\): output '.+' has shape \[1, 128, 1\]; its last"):
        _load_and_plan(fuzzer.rewrite(data, add_a_unit_axis))
