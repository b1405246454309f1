"""Plans for the MLPerf Tiny models: arena vs TFLM, no overlapping live tensors, and the
resolved FULLY_CONNECTED parameters reproduce TFLM's outputs bit for bit in numpy."""

from __future__ import annotations

import numpy as np
import pytest

from kit.compile.fold import fold_model
from kit.compile.memory import Buffer, _greedy_first_fit, align_up, find_conflicts, place_buffers
from kit.compile.planner import build_plan, plan_arena, resolve_params
from kit.compile.tflite import load_model
from kit.tflm import TflmInterpreter, measure_arena_bytes

MODELS = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8", "str_ww_ref_model"]


@pytest.fixture(scope="session")
def tflm_arena(mlperf_models) -> dict[str, int]:
    return {name: measure_arena_bytes(mlperf_models[name]) for name in MODELS}


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_arena_no_larger_than_tflm(mlperf_models, tflm_arena, name):
    plan = build_plan(load_model(mlperf_models[name]), model_id=name)
    assert 0 < plan.arena_bytes <= tflm_arena[name]
    assert plan.arena_bytes % 16 == 0
    for tensor in plan.tensors:
        if tensor.offset is not None:
            assert tensor.offset % 16 == 0 and tensor.offset + tensor.nbytes <= plan.arena_bytes
    assert plan.input.offset is not None and plan.output.offset is not None


def _live_spans(plan) -> dict[int, tuple[int, int]]:
    live: dict[int, tuple[int, int]] = {}
    for position, op in enumerate(plan.ops):
        for t in op.inputs + op.outputs:
            if t >= 0 and plan.tensors[t].offset is not None:
                first, last = live.get(t, (position, position))
                live[t] = (min(first, position), max(last, position))
    live[plan.input_index] = (-1, live[plan.input_index][1])  # written before op 0
    live[plan.output_index] = (live[plan.output_index][0], len(plan.ops) - 1)
    return live


def _window_reads(plan, op, pixel: int) -> list[int]:
    """Every input byte offset (relative) the window of output pixel `pixel` reads."""
    source, output = plan.tensors[op.inputs[0]], plan.tensors[op.outputs[0]]
    _, in_h, in_w, in_c = source.shape
    out_w = output.shape[2]
    p = op.params
    if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        k_h, k_w = plan.tensors[op.inputs[1]].shape[1:3]
    else:
        k_h, k_w = p["filter_h"], p["filter_w"]
    oy, ox = divmod(pixel, out_w)
    reads = []
    for fy in range(k_h):
        y = oy * p["stride_h"] - p["padding_h"] + fy * p.get("dilation_h", 1)
        for fx in range(k_w):
            x = ox * p["stride_w"] - p["padding_w"] + fx * p.get("dilation_w", 1)
            if 0 <= y < in_h and 0 <= x < in_w:
                reads.append((y * in_w + x) * in_c)
    return reads


CONV_BLOCK = 4  # firmware/runtime/kernels/conv_2d.c: the portable conv_swar's blocks of four pixels, fused or not


def _assert_in_place_is_safe(plan, position: int, out_index: int, in_index: int) -> None:
    """Replay the op's kernel order byte by byte: no block reads an input byte that this or an
    earlier block of the output has overwritten (a block's reads and writes may interleave)."""
    op = plan.ops[position]
    assert out_index in op.outputs and in_index in op.inputs, (position, out_index, in_index)
    out, source = plan.tensors[out_index], plan.tensors[in_index]
    if "fused_add" in op.params and in_index == op.inputs[3]:  # the shortcut: element i read as i is written
        assert out.offset == source.offset or out.offset <= source.offset - CONV_BLOCK * out.shape[3], position
        if in_index != op.inputs[0]:
            return
    assert in_index == op.inputs[0] or op.op not in ("CONV_2D", "DEPTHWISE_CONV_2D"), (position, in_index)
    if op.op not in ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D"):
        assert out.offset <= source.offset and out.nbytes == source.nbytes, op.op  # element i over element i
        return
    pixels, out_c = out.shape[1] * out.shape[2], out.shape[3]
    block = CONV_BLOCK if op.op == "CONV_2D" else 1
    for start in range(0, pixels, block):
        written_end = out.offset + min(start + block, pixels) * out_c
        for pixel in range(start, min(start + block, pixels)):
            for read in _window_reads(plan, op, pixel):
                assert source.offset + read >= written_end, (op.op, position, pixel)
    if op.op == "DEPTHWISE_CONV_2D":
        _assert_group_major_is_safe(plan, position, out, source)


def _assert_group_major_is_safe(plan, position: int, out, source) -> None:
    """The Arm DSP 3x3 depthwise kernel's order (firmware/runtime/kernels/depthwise_conv_2d.c,
    dw_groups_3x3), where it runs on an overlapping output (whole pixels below the input):
    raster order once per group of 4 channels. No window reads a byte of its group already
    overwritten, replayed byte by byte."""
    op = plan.ops[position]
    channels = source.shape[3]
    if (tuple(plan.tensors[op.inputs[1]].shape[1:3]) != (3, 3) or op.params.get("depth_multiplier", 1) != 1
            or out.shape[3] != channels or channels % 4 or (source.offset - out.offset) % channels):
        return
    pixels = out.shape[1] * out.shape[2]
    written = np.zeros(max(out.offset + out.nbytes, source.offset + source.nbytes), dtype=bool)
    for group in range(0, channels, 4):
        for pixel in range(pixels):
            for read in _window_reads(plan, op, pixel):
                start = source.offset + read + group
                assert not written[start:start + 4].any(), (position, group, pixel)
            written[out.offset + pixel * channels + group:][:4] = True


@pytest.mark.parametrize("name", MODELS)
def test_no_two_live_tensors_share_bytes(mlperf_models, name):
    model = load_model(mlperf_models[name])
    params = resolve_params(model)
    _, _, buffers = plan_arena(fold_model(model), params)
    assert find_conflicts(buffers) == []
    # independent check on the tensors themselves: aliased RESHAPE pairs share all bytes, an
    # output may share an input's only at the op where that input dies, in kernel order
    plan = build_plan(model)
    aliased = {(op.inputs[0], op.outputs[0]) for op in plan.ops if op.params.get("aliased")}
    live = _live_spans(plan)
    items = sorted(live.items())
    for i, (a, (a_first, a_last)) in enumerate(items):
        for b, (b_first, b_last) in items[i + 1 :]:
            if (a, b) in aliased or (b, a) in aliased or not (a_first <= b_last and b_first <= a_last):
                continue
            ta, tb = plan.tensors[a], plan.tensors[b]
            if ta.offset + ta.nbytes <= tb.offset or tb.offset + tb.nbytes <= ta.offset:
                continue
            (older, newer) = (a, b) if live[a][0] < live[b][0] else (b, a)
            assert live[older][1] == live[newer][0], (a, b)  # the input dies where the output is born
            _assert_in_place_is_safe(plan, live[newer][0], newer, older)


@pytest.mark.parametrize("name", MODELS)
def test_kernel_scratch_shares_no_live_tensor(mlperf_models, name):
    """The conv kernels' scratch is in the arena, apart from every tensor live at its op."""
    plan = build_plan(load_model(mlperf_models[name]))
    live = _live_spans(plan)
    with_scratch = [(position, op) for position, op in enumerate(plan.ops) if op.params.get("scratch_bytes", 0)]
    assert with_scratch or name == "ad01_int8"
    for position, op in with_scratch:
        start, end = op.params["scratch_offset"], op.params["scratch_offset"] + op.params["scratch_bytes"]
        assert start % 16 == 0 and end <= plan.arena_bytes
        for index, (first, last) in live.items():
            tensor = plan.tensors[index]
            if first <= position <= last:
                assert tensor.offset + tensor.nbytes <= start or end <= tensor.offset, (position, index)


def test_greedy_placement_property_on_random_lifetimes():
    rng = np.random.default_rng(7)
    for _ in range(50):
        buffers = []
        for i in range(int(rng.integers(1, 25))):
            first = int(rng.integers(0, 20))
            buffers.append(Buffer(f"b{i}", int(rng.integers(0, 5000)), first, first + int(rng.integers(0, 6))))
        arena = place_buffers(buffers)
        assert find_conflicts(buffers) == []
        assert all(b.offset % 16 == 0 and b.offset + b.size <= arena for b in buffers)
        peak = max(sum(b.size for b in buffers if b.first <= step <= b.last) for step in range(30))
        assert arena >= peak


def test_reshape_output_shares_input_bytes(mlperf_models):
    plan = build_plan(load_model(mlperf_models["kws_ref_model"]))
    reshape = next(op for op in plan.ops if op.op == "RESHAPE")
    assert reshape.params["aliased"] is True
    assert plan.tensors[reshape.inputs[0]].offset == plan.tensors[reshape.outputs[0]].offset


# --- numpy evaluation of the plan's FULLY_CONNECTED params (TFLM's integer arithmetic) ---


def _rounding_doubling_high_mul(a: np.ndarray, b: int) -> np.ndarray:
    product = a.astype(np.int64) * np.int64(b)
    nudge = np.where(product >= 0, 1 << 30, 1 - (1 << 30))
    total = product + nudge
    quotient = np.abs(total) // (1 << 31) * np.sign(total)  # C division truncates toward zero
    return np.where((a == -(2**31)) & (b == -(2**31)), 2**31 - 1, quotient)


def _rounding_divide_by_pot(x: np.ndarray, exponent: int) -> np.ndarray:
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    left, right = max(shift, 0), max(-shift, 0)
    return _rounding_divide_by_pot(_rounding_doubling_high_mul(x * (1 << left), multiplier), right)


def _fully_connected(plan, op, x: np.ndarray) -> np.ndarray:
    p = op.params
    weights = np.frombuffer(plan.tensors[op.inputs[1]].data, np.int8).reshape(plan.tensors[op.inputs[1]].shape)
    acc = (x.astype(np.int64) + p["input_offset"]) @ (weights.astype(np.int64) + p["weights_offset"]).T
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        acc = acc + np.frombuffer(plan.tensors[op.inputs[2]].data, np.int32)
    out = np.stack(
        [
            multiply_by_quantized_multiplier(acc[:, c], p["output_multiplier"][c if p["per_channel"] else 0], p["output_shift"][c if p["per_channel"] else 0])
            for c in range(acc.shape[1])
        ],
        axis=1,
    )
    return np.clip(out + p["output_offset"], p["activation_min"], p["activation_max"]).astype(np.int8)


def test_fully_connected_params_reproduce_tflm_bit_exactly(mlperf_models):
    path = mlperf_models["ad01_int8"]
    plan = build_plan(load_model(path))
    assert [op.op for op in plan.ops] == ["FULLY_CONNECTED"] * 10
    rng = np.random.default_rng(3)
    batch = rng.integers(-128, 128, size=(8, 640), dtype=np.int8)
    activations = batch
    for op in plan.ops:
        activations = _fully_connected(plan, op, activations)
    reference = TflmInterpreter(path).run(batch)
    np.testing.assert_array_equal(activations, reference.reshape(activations.shape))


def test_in_place_permissions_never_make_a_conflict_or_a_larger_arena():
    """Random lifetimes with random in-place permissions: still no conflict, and never more
    than TFLM's strategy without sharing needs."""
    rng = np.random.default_rng(11)
    for _ in range(40):
        buffers = []
        for i in range(int(rng.integers(2, 16))):
            first = int(rng.integers(0, 12))
            buffers.append(Buffer(f"b{i}", int(rng.integers(1, 3000)), first, first + int(rng.integers(0, 4))))
        for buffer in buffers:
            for other in buffers:
                if other.last == buffer.first and other is not buffer and rng.random() < 0.5:
                    buffer.below[other.key] = int(rng.integers(0, 400))
                    if rng.random() < 0.3 and other.size == buffer.size:
                        buffer.same.add(other.key)
        plain = [Buffer(b.key, b.size, b.first, b.last) for b in buffers]
        arena = place_buffers(buffers)
        assert find_conflicts(buffers) == []
        assert all(b.offset >= 0 and b.offset % 16 == 0 and b.offset + b.size <= arena for b in buffers)
        _greedy_first_fit(plain)
        assert arena <= max(align_up(b.offset + b.size) for b in plain)


def test_window_delta_of_a_same_padded_3x3_convolution():
    """Two output pixels per block over a 3x3 SAME window: the block ending at pixel p + 2
    still needs input from pixel p - W - 1, so the output starts (W + 3) pixels below."""
    from kit.compile.overlap import window_delta

    params = {"stride_h": 1, "stride_w": 1, "padding_h": 1, "padding_w": 1}
    assert window_delta((1, 32, 32, 16), (1, 32, 32, 16), (3, 3), params, 2) == 35 * 16
    assert window_delta((1, 32, 32, 16), (1, 32, 32, 16), (3, 3), params, 1) == 34 * 16
    assert window_delta((2, 32, 32, 16), (2, 32, 32, 16), (3, 3), params, 1) is None  # batches: never


def test_resnet_block_sum_is_fused_and_written_over_its_shortcut(mlperf_models):
    plan = build_plan(load_model(mlperf_models["pretrainedResnet_quant"]))
    fused = [op for op in plan.ops if "fused_add" in op.params]
    assert len(fused) == 3 and all(op.op == "CONV_2D" and len(op.inputs) == 4 for op in fused)
    assert "ADD" not in [op.op for op in plan.ops]
    first = fused[0]
    assert plan.tensors[first.outputs[0]].offset == plan.tensors[first.inputs[3]].offset
