"""Which op outputs may be written over an input that dies at the op, and how far below it.

An output placed `delta` or more bytes below such an input (output offset <= input offset -
delta) never overwrites an input byte the kernel still has to read, given the order the
kernels in firmware/runtime/kernels access memory (the contract, stated in each of them):

* CONV_2D writes output pixels in raster order in blocks of at most CONV_BLOCK_PIXELS (the
  portable conv_swar's four, conv_portable's three, conv_pairs' two, the general path's one;
  with a fused ADD too) and reads, for a block, only the input windows of its pixels, and
  with a fused ADD a block's shortcut bytes before it writes them (its output may sit on the
  shortcut, or a block's worth of bytes below it); DEPTHWISE_CONV_2D,
  AVERAGE_POOL_2D and MAX_POOL_2D do the same one pixel at a time (the portable 3x3
  depthwise sweep, dw_3x3_portable, writes whole channels: it runs only when the output does
  not overlap the input, and the raster loop otherwise; the Arm DSP 3x3 kernel, dw_groups_3x3,
  runs the raster order once per group of 4 channels, on an overlapping output only when it
  lies whole pixels below the input, where a write to a group's channels only lands on the same
  channels of an input pixel, which no later group reads: the same bound holds). Reads and
  writes of one block may interleave, so a block's writes
  must stay below the lowest input byte any window of that block or a later one reads.
* The elementwise int8 ops (ADD, SUB and MUL without broadcast, the activations, QUANTIZE)
  read element i before writing element i and never read it again: delta 0 (in place).

delta = max over blocks b of (end of b's writes - lowest byte read by blocks >= b): the
TinyEngine idea (an output over the input rows already consumed) without a ring buffer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kit.compile.tflite import Model, Operator

CONV_BLOCK_PIXELS = 4  # firmware/runtime/kernels/conv_2d.c: conv_swar's four pixels (the most of any path)
ELEMENTWISE_OPS = ("RELU", "RELU6", "LEAKY_RELU", "RELU_N1_TO_1", "LOGISTIC", "TANH", "QUANTIZE", "HARD_SWISH")
BINARY_OPS = ("ADD", "SUB", "MUL")


def _first_valid_tap(origin: np.ndarray, dilation: int, taps: int, size: int) -> np.ndarray:
    """Per output position, the input coordinate of its first tap inside [0, size), or -1."""
    first = np.full(origin.shape, -1, dtype=np.int64)
    for tap in range(taps - 1, -1, -1):
        coordinate = origin + tap * dilation
        first = np.where((coordinate >= 0) & (coordinate < size), coordinate, first)
    return first


def window_delta(in_shape: tuple[int, ...], out_shape: tuple[int, ...], filter_hw: tuple[int, int],
                 params: dict[str, Any], block_pixels: int) -> int | None:
    """delta for a windowed op over NHWC int8 tensors of batch 1 (None: no safe overlap)."""
    if len(in_shape) != 4 or len(out_shape) != 4 or in_shape[0] != 1 or out_shape[0] != 1:
        return None
    _, in_h, in_w, in_c = in_shape
    _, out_h, out_w, out_c = out_shape
    oy, ox = np.divmod(np.arange(out_h * out_w, dtype=np.int64), out_w)
    y = _first_valid_tap(oy * params["stride_h"] - params["padding_h"], params.get("dilation_h", 1),
                         filter_hw[0], in_h)
    x = _first_valid_tap(ox * params["stride_w"] - params["padding_w"], params.get("dilation_w", 1),
                         filter_hw[1], in_w)
    never = np.iinfo(np.int64).max
    lowest_read = np.where((y >= 0) & (x >= 0), (y * in_w + x) * in_c, never)
    pixels = out_h * out_w
    blocks = -(-pixels // block_pixels)
    padded = np.full(blocks * block_pixels, never, dtype=np.int64)
    padded[:pixels] = lowest_read
    block_read = padded.reshape(blocks, block_pixels).min(axis=1)
    later_read = np.minimum.accumulate(block_read[::-1])[::-1]
    write_end = np.minimum((np.arange(blocks, dtype=np.int64) + 1) * block_pixels, pixels) * out_c
    reading = later_read != never
    if not reading.any():
        return 0
    return max(0, int((write_end[reading] - later_read[reading]).max()))


def _is_int8(model: Model, index: int) -> bool:
    return model.tensors[index].dtype == "int8"


def input_deltas(model: Model, operator: Operator, params: dict[str, Any]) -> dict[int, int]:
    """{input tensor index: delta} for the inputs `operator`'s output may be written over."""
    if len(operator.outputs) != 1 or not operator.inputs:
        return {}
    output = model.tensors[operator.outputs[0]]
    source = model.tensors[operator.inputs[0]]
    if not (_is_int8(model, operator.inputs[0]) and _is_int8(model, operator.outputs[0])):
        return {}
    if operator.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        weights = model.tensors[operator.inputs[1]]
        block = CONV_BLOCK_PIXELS if operator.op == "CONV_2D" else 1
        delta = window_delta(tuple(source.shape), tuple(output.shape), tuple(weights.shape[1:3]), params, block)
        deltas = {} if delta is None else {operator.inputs[0]: delta}
        if "fused_add" in params:  # the shortcut's element i is read as output element i is written
            shortcut = operator.inputs[3]  # may be the convolution's own input: both constraints hold
            deltas[shortcut] = max(deltas.get(shortcut, 0), CONV_BLOCK_PIXELS * int(output.shape[-1]))
        return deltas
    if operator.op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        delta = window_delta(tuple(source.shape), tuple(output.shape), (params["filter_h"], params["filter_w"]),
                             params, 1)
        return {} if delta is None else {operator.inputs[0]: delta}
    if operator.op in ELEMENTWISE_OPS and source.nbytes == output.nbytes:
        return {operator.inputs[0]: 0}
    if operator.op in BINARY_OPS and not params.get("requires_broadcast", True):
        return {i: 0 for i in operator.inputs[:2]
                if i >= 0 and not model.tensors[i].is_constant and model.tensors[i].nbytes == output.nbytes}
    return {}


def same_offset_inputs(operator: Operator, params: dict[str, Any]) -> list[int]:
    """Inputs the output may sit exactly on: a fused ADD's shortcut (kit.compile.fuse), whose
    element i is read right before output element i is written, in whatever order."""
    return [operator.inputs[3]] if operator.op == "CONV_2D" and "fused_add" in params else []
