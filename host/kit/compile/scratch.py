"""Arena scratch of the optimised kernels, sized to the layer (counted in kit's arena).

The conv kernels' fast paths need working memory during one op; it lives in the arena, at an
offset the planner chooses among the buffers dead during that op (kit.compile.memory), so the
arena bound is every byte the kernels use besides their stack frames. The sizes mirror the C
(`im2col_scratch_bytes` in firmware/runtime/kernels/conv_2d.c, `dw_border_bytes` in
depthwise_conv_2d.c) for the DSP kernels, the largest flavour: the portable and Helium
kernels use less of the same bytes. A kernel given less than it needs takes its general path
(no scratch, the same result), so the plan stays safe if the two drift apart.
"""

from __future__ import annotations

from typing import Any

from kit.compile.tflite import Model, Operator

IM2COL_MAX = 576  # KIT_IM2COL_MAX in conv_2d.c: the largest im2col column (bytes)
DW_BORDER_CHANNELS = 64  # KIT_DW_BORDER_CHANNELS in depthwise_conv_2d.c


def conv_scratch_bytes(in_c: int, filter_shape: tuple[int, ...], params: dict[str, Any]) -> int:
    """CONV_2D's fast path (im2col, not grouped), DSP layout: both columns' widened int16
    lanes, one column and its partner's 4-byte tail (the portable two columns are smaller)."""
    _, k_h, k_w, filter_in_c = filter_shape
    if filter_in_c != in_c:
        return 0  # grouped: the general path, no scratch
    k = k_h * k_w * in_c
    direct = k_h == 1 and k_w == 1 and params["padding_h"] == 0 and params["padding_w"] == 0
    if k > IM2COL_MAX and not direct:
        return 0
    wide = 4 * (k & ~3) if k <= IM2COL_MAX else 0
    return wide + (0 if direct else k + 4)


def depthwise_scratch_bytes(in_c: int, out_c: int, filter_shape: tuple[int, ...], params: dict[str, Any]) -> int:
    """DEPTHWISE_CONV_2D's 3x3 border copies (DSP kernels, depth multiplier 1)."""
    channels = in_c & ~3 if params.get("depth_multiplier", 1) == 1 else 0
    if channels == 0 or tuple(filter_shape[1:3]) != (3, 3):
        return 0
    chunk = min(channels, DW_BORDER_CHANNELS)
    return 9 * chunk * (1 if chunk == out_c else 2)


def scratch_bytes(model: Model, operator: Operator, params: dict[str, Any]) -> int:
    """Scratch bytes `operator`'s kernel may use (0 for every op without a fast path that needs it)."""
    if operator.op not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        return 0
    source, weights = model.tensors[operator.inputs[0]], model.tensors[operator.inputs[1]]
    output = model.tensors[operator.outputs[0]]
    if len(source.shape) != 4 or len(weights.shape) != 4:
        return 0
    if operator.op == "CONV_2D":
        return conv_scratch_bytes(int(source.shape[3]), tuple(int(d) for d in weights.shape), params)
    return depthwise_scratch_bytes(int(source.shape[3]), int(output.shape[3]), tuple(int(d) for d in weights.shape),
                                   params)
