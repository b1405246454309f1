"""kit's runtime on the emulated boards gives TFLM's bytes: the five MLPerf Tiny models and the
generated model zoo on emu-cortex-m4 (the DSP/SMLAD kernel paths the Cortex-M boards run),
emu-cortex-m55 (the Grove Vision AI V2's core on QEMU mps3-an547: the MLPerf models and a few
zoo seeds) and emu-rv32 (the portable C), many inputs per QEMU boot (tests/runtime/twin_runner.py).

Also what the boards' counts promise: an inference costs the same instructions every time
for the same input (to one timer tick), and the per-layer ticks the profiler hook collects
add up to the whole inference, less only the hook's own cost.
"""

from __future__ import annotations

import numpy as np
import pytest

from kit.compile.macs import total_macs
from kit.compile.tflite import load_model
from kit.runtime_host import compile_model
from tests.runtime.conftest import random_inputs
from tests.runtime.references import reference_engine, reference_outputs
from tests.runtime.model_zoo import BLOCKS, DEPTHWISE_STACKS, _depthwise
from tests.runtime.test_model_zoo import SEEDS
from tests.runtime.test_user_models import edge_inputs
from tests.runtime.twin_runner import Twin, output_bytes
from tests.runtime.user_models import USER_MODELS

BOARDS = ("emu-cortex-m4", "emu-cortex-m55", "emu-rv32")
USER_MODEL_BOARDS = ("emu-cortex-m4", "emu-cortex-m7", "emu-rv32")  # the user-built models run on all three
# The zoo on the M55 twin: a few seeds, and the seeds whose first block is a depthwise one (the
# Helium depthwise kernel; conv and FC share the M4's coverage of shapes); the MLPerf models run whole.
M55_ZOO_SEEDS = sorted({*SEEDS[:4], *(s for s in SEEDS if BLOCKS[s % len(BLOCKS)] is _depthwise)})
MLPERF = ("kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8", "str_ww_ref_model")
MLPERF_SAMPLES = 24
ZOO_SAMPLES = 40
# Hook overhead per op, in timer ticks: the call, a timer read and the bookkeeping cost a few
# dozen instructions (one or two 40-instruction SysTick ticks on mps2, 31-instruction ticks on
# mps3-an547, under 100 on rv32).
HOOK_TICKS_PER_OP = {"emu-cortex-m4": 4, "emu-cortex-m7": 4, "emu-cortex-m55": 5, "emu-rv32": 150}


@pytest.fixture(scope="module")
def twins(tmp_path_factory) -> dict[str, Twin]:
    work = tmp_path_factory.mktemp("twins")
    return {board: Twin(board, work) for board in (*BOARDS, *USER_MODEL_BOARDS)}


def _twin(twins: dict[str, Twin], board: str) -> Twin:
    twin = twins[board]
    missing = twin.missing_tool()
    if missing:
        pytest.skip(f"{missing} is not installed (see deps/apt-packages.txt)")
    return twin


_references: dict[tuple[str, int], np.ndarray] = {}


def _tflm_bytes(path, inputs: np.ndarray) -> np.ndarray:
    """The reference's outputs as raw bytes (TFLM; TensorFlow Lite's reference kernels for a
    model with an op TFLM lacks: tests/runtime/references.py), once per model and batch."""
    key = (str(path), hash(inputs.tobytes()))
    if key not in _references:
        _references[key] = output_bytes(reference_outputs(path, inputs))
    return _references[key]


def _edge_inputs(shape: tuple[int, ...]) -> np.ndarray:
    """All -128, all 127, all 0: saturated accumulators and clamps in every layer."""
    return np.stack([np.full(shape[1:], value, dtype=np.int8) for value in (-128, 127, 0)])


def _assert_same_bytes(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    assert got.shape == expected.shape, f"{what}: kit {got.shape} vs tflm {expected.shape}"
    differing = np.flatnonzero((got != expected).any(axis=1))
    assert differing.size == 0, (
        f"{what}: {differing.size} of {len(got)} inputs differ from TFLM; first #{differing[0]}: "
        f"kit {got[differing[0]].tolist()[:16]} tflm {expected[differing[0]].tolist()[:16]}"
    )


def _assert_counts_consistent(run, board: str, ops: int, what: str) -> None:
    """Same input, same count (to a tick); the layers sum to the inference less the hook cost."""
    assert abs(run.ticks[0] - run.ticks[-1]) <= 1, f"{what}: input 0 took {run.ticks[0]} then {run.ticks[-1]} ticks"
    for layers, whole in zip(run.layer_ticks, run.hooked_ticks):
        assert 0 <= whole - layers <= HOOK_TICKS_PER_OP[board] * ops + 2, (
            f"{what}: layers sum to {layers} ticks, the inference took {whole} ({ops} ops)"
        )


@pytest.mark.slow
@pytest.mark.parametrize("name", MLPERF)
@pytest.mark.parametrize("board", BOARDS)
def test_mlperf_model_on_twin_matches_tflm(board, name, twins, mlperf_models):
    twin = _twin(twins, board)
    compiled = compile_model(mlperf_models[name])
    randoms = random_inputs(compiled.input_shape, MLPERF_SAMPLES, seed=len(name) + 7)
    inputs = np.concatenate([randoms, _edge_inputs(compiled.input_shape), randoms[:1]])
    run = twin.run(compiled.directory, inputs, name)
    _assert_same_bytes(run.outputs, _tflm_bytes(mlperf_models[name], inputs), f"{name} on {board}")
    _assert_counts_consistent(run, board, len(compiled.op_names), f"{name} on {board}")
    macs = total_macs(load_model(mlperf_models[name]))
    per_mac = np.mean(run.instructions) / macs
    print(f"{board} {name}: {np.mean(run.instructions):,.0f} instructions per inference, {per_mac:.2f} per MAC")


ZOO_CASES = [(board, seed) for board in BOARDS
             for seed in (M55_ZOO_SEEDS if board == "emu-cortex-m55" else SEEDS)]


@pytest.mark.slow
@pytest.mark.parametrize(("board", "seed"), ZOO_CASES)
def test_zoo_model_on_twin_matches_tflm(board, seed, twins, zoo_model):
    twin = _twin(twins, board)
    model = zoo_model(seed)
    compiled = compile_model(model.path)
    randoms = random_inputs(compiled.input_shape, ZOO_SAMPLES, seed=seed)
    inputs = np.concatenate([randoms, _edge_inputs(compiled.input_shape), randoms[:1]])
    run = twin.run(compiled.directory, inputs, f"zoo_{seed:03d}")
    what = f"zoo seed {seed} on {board} ({model.description}; reference {reference_engine(model.reference)})"
    _assert_same_bytes(run.outputs, _tflm_bytes(model.reference, inputs), what)
    _assert_counts_consistent(run, board, len(compiled.op_names), what)


@pytest.mark.slow
@pytest.mark.parametrize("name", DEPTHWISE_STACKS)
@pytest.mark.parametrize("board", ("emu-cortex-m4", "emu-cortex-m7", "emu-cortex-m55"))
def test_depthwise_stack_on_twin_matches_tflm(board, name, twins, depthwise_stack):
    """Wide depthwise layers (full vectors plus a tail, SAME borders, stride 2, dilation,
    depth multiplier 2) and the group-major kernel's shapes through the Helium and the Arm DSP
    (Cortex-M4, M7) depthwise kernels."""
    twin = _twin(twins, board)
    model = depthwise_stack(name)
    compiled = compile_model(model.path)
    randoms = random_inputs(compiled.input_shape, ZOO_SAMPLES, seed=5)
    inputs = np.concatenate([randoms, _edge_inputs(compiled.input_shape), randoms[:1]])
    run = twin.run(compiled.directory, inputs, name)
    what = f"{name} on {board} (ops {compiled.op_names})"
    _assert_same_bytes(run.outputs, _tflm_bytes(model.reference, inputs), what)
    _assert_counts_consistent(run, board, len(compiled.op_names), what)


@pytest.mark.slow
@pytest.mark.parametrize("name", USER_MODELS)
@pytest.mark.parametrize("board", USER_MODEL_BOARDS)
def test_user_model_on_twin_matches_tflm(board, name, twins, user_model):
    """The folded plumbing and the new kernels (RELU, RELU6, LEAKY_RELU, HARD_SWISH, TRANSPOSE)
    give TFLM's bytes with each board's compiler and kernel paths, as on the host."""
    twin = _twin(twins, board)
    model = user_model(name)
    compiled = compile_model(model.path)
    randoms = random_inputs(compiled.input_shape, ZOO_SAMPLES, seed=11)
    inputs = np.concatenate([randoms, edge_inputs(compiled.input_shape), randoms[:1]])  # input 0 again: same count
    run = twin.run(compiled.directory, inputs, f"user_{name}")
    what = f"user model {name} on {board} (ops {compiled.op_names}; reference {reference_engine(model.reference)})"
    _assert_same_bytes(run.outputs, _tflm_bytes(model.reference, inputs), what)
    _assert_counts_consistent(run, board, len(compiled.op_names), what)
