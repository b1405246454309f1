"""Compile-time folding: ops whose result is known on the host never reach the device.

Users' Keras models carry graph plumbing that TFLM evaluates at every inference but that is
constant once the batch is 1: Flatten / Reshape with an open batch size emit SHAPE ->
STRIDED_SLICE -> PACK to compute the new shape, Conv1D wraps its convolution in EXPAND_DIMS
and a RESHAPE, and a dilated convolution with an open batch becomes SPACE_TO_BATCH_ND ->
CONV_2D -> BATCH_TO_SPACE_ND. `fold_model` rewrites such a graph into one that only holds
kernel ops, so the plan keeps its invariant (every op is a kernel op of kit.compile.ops):

* shape arithmetic (SHAPE, STRIDED_SLICE, PACK, CONCATENATION, TRANSPOSE, RESHAPE, EXPAND_DIMS,
  SQUEEZE) whose inputs are all constants is evaluated with numpy; its output becomes a
  constant tensor and the op disappears;
* EXPAND_DIMS and SQUEEZE of activations become RESHAPE (the planner aliases reshapes, so a
  chain of them costs nothing);
* SPACE_TO_BATCH_ND -> CONV_2D / DEPTHWISE_CONV_2D (VALID, stride 1) -> BATCH_TO_SPACE_ND
  becomes one dilated convolution when the paddings and crops amount to TFLM's own padding.

The input model is not modified; operators keep their original node index for messages.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from kit.compile import quant
from kit.compile.tflite import DTYPE_NUMPY, Model, Operator, Tensor

_RESHAPE_LIKE = ("EXPAND_DIMS", "SQUEEZE")
_DILATABLE = ("CONV_2D", "DEPTHWISE_CONV_2D")


def fold_model(model: Model) -> Model:
    """The model with constant shape arithmetic evaluated and plumbing ops rewritten."""
    tensors = list(model.tensors)
    operators = _fold_dilations(model, tensors)
    kept: list[Operator] = []
    for operator in operators:
        value = _constant_result(operator, tensors, model)
        if value is not None:
            output = tensors[operator.outputs[0]]
            tensors[output.index] = dataclasses.replace(output, data=value.astype(DTYPE_NUMPY[output.dtype]).tobytes())
            continue
        if operator.op in _RESHAPE_LIKE:
            operator = dataclasses.replace(operator, op="RESHAPE", inputs=operator.inputs[:1], options={})
        kept.append(operator)
    return dataclasses.replace(model, tensors=tensors, operators=kept)


# ---------------------------------------------------------------------------- constant evaluation


def _constant_result(operator: Operator, tensors: list[Tensor], model: Model) -> np.ndarray | None:
    """The op's output value if the host can compute it, else None (the op stays in the graph)."""
    evaluate = _EVALUATORS.get(operator.op)
    if evaluate is None or len(operator.outputs) != 1 or operator.outputs[0] in model.outputs:
        return None
    output = tensors[operator.outputs[0]]
    if output.dtype not in DTYPE_NUMPY or output.quantization is not None and output.dtype == "int8":
        return None  # quantized activations are the kernels' business, not shape arithmetic
    inputs = [tensors[i] for i in operator.inputs if i >= 0]
    needs_values = operator.op != "SHAPE"
    if needs_values and not all(t.is_constant and t.dtype in DTYPE_NUMPY for t in inputs):
        return None
    if not needs_values and (not inputs or any(d < 1 for d in inputs[0].shape)):
        return None
    try:
        value = np.asarray(evaluate(operator, inputs))
    except (ValueError, IndexError, TypeError):
        return None  # malformed operands: leave the op for the planner to refuse by name
    if value.size != output.num_elements:
        return None
    return value.reshape(output.shape)


def _shape(operator: Operator, inputs: list[Tensor]) -> np.ndarray:
    return np.array(inputs[0].shape, dtype=np.int64)


def _strided_slice(operator: Operator, inputs: list[Tensor]) -> np.ndarray:
    options = operator.options
    if options.get("ellipsis_mask", 0) or options.get("new_axis_mask", 0) or options.get("offset", False):
        raise ValueError("ellipsis, new-axis and offset slices are not folded")
    data = inputs[0].array()
    begin, end, strides = (t.array().reshape(-1).tolist() for t in inputs[1:4])
    index: list[object] = []
    for dim in range(len(begin)):
        if options.get("shrink_axis_mask", 0) >> dim & 1:
            index.append(int(begin[dim]))
            continue
        start = None if options.get("begin_mask", 0) >> dim & 1 else int(begin[dim])
        stop = None if options.get("end_mask", 0) >> dim & 1 else int(end[dim])
        index.append(slice(start, stop, int(strides[dim])))
    return data[tuple(index)]


def _pack(operator: Operator, inputs: list[Tensor]) -> np.ndarray:
    return np.stack([t.array() for t in inputs], axis=int(operator.options.get("axis", 0)))


def _concatenation(operator: Operator, inputs: list[Tensor]) -> np.ndarray:
    if operator.options.get("fused_activation_function", "NONE") != "NONE":
        raise ValueError("fused activation")
    return np.concatenate([t.array() for t in inputs], axis=int(operator.options.get("axis", 0)))


def _transpose(operator: Operator, inputs: list[Tensor]) -> np.ndarray:
    return np.transpose(inputs[0].array(), inputs[1].array().reshape(-1).tolist())


def _same_values(operator: Operator, inputs: list[Tensor]) -> np.ndarray:
    """RESHAPE / EXPAND_DIMS / SQUEEZE of a constant: the values, reshaped by the caller."""
    return inputs[0].array()


_EVALUATORS: dict[str, Callable[[Operator, list[Tensor]], np.ndarray]] = {
    "SHAPE": _shape,
    "STRIDED_SLICE": _strided_slice,
    "PACK": _pack,
    "CONCATENATION": _concatenation,
    "TRANSPOSE": _transpose,
    "RESHAPE": _same_values,
    "EXPAND_DIMS": _same_values,
    "SQUEEZE": _same_values,
}


# ---------------------------------------------------------------------------- dilated convolution


def _fold_dilations(model: Model, tensors: list[Tensor]) -> list[Operator]:
    """Operators with every SPACE_TO_BATCH_ND -> conv -> BATCH_TO_SPACE_ND triple that is a
    dilated convolution replaced by that convolution (tensors gains nothing, loses nothing)."""
    consumers: dict[int, list[int]] = {}
    for position, operator in enumerate(model.operators):
        for index in operator.inputs:
            consumers.setdefault(index, []).append(position)
    replaced: dict[int, Operator] = {}
    dropped: set[int] = set()
    for position, operator in enumerate(model.operators):
        if operator.op != "SPACE_TO_BATCH_ND" or position in dropped:
            continue
        triple = _dilation_triple(model, consumers, position)
        if triple is None:
            continue
        conv_position, b2s_position, folded = triple
        replaced[conv_position] = folded
        dropped.update((position, b2s_position))
    return [replaced.get(p, op) for p, op in enumerate(model.operators) if p not in dropped]


def _only_consumer(model: Model, consumers: dict[int, list[int]], tensor: int) -> int | None:
    users = consumers.get(tensor, [])
    return users[0] if len(users) == 1 and tensor not in model.outputs else None


def _dilation_triple(model: Model, consumers: dict[int, list[int]], s2b_position: int) -> tuple[int, int, Operator] | None:
    s2b = model.operators[s2b_position]
    if len(s2b.inputs) != 3 or len(s2b.outputs) != 1:
        return None
    conv_position = _only_consumer(model, consumers, s2b.outputs[0])
    if conv_position is None or model.operators[conv_position].op not in _DILATABLE:
        return None
    conv = model.operators[conv_position]
    if conv.inputs[0] != s2b.outputs[0] or len(conv.outputs) != 1:
        return None
    b2s_position = _only_consumer(model, consumers, conv.outputs[0])
    if b2s_position is None or model.operators[b2s_position].op != "BATCH_TO_SPACE_ND":
        return None
    b2s = model.operators[b2s_position]
    if len(b2s.inputs) != 3 or b2s.inputs[0] != conv.outputs[0] or len(b2s.outputs) != 1:
        return None
    options = _dilated_options(model, s2b, conv, b2s)
    if options is None:
        return None
    inputs = [s2b.inputs[0], *conv.inputs[1:]]
    return conv_position, b2s_position, dataclasses.replace(conv, inputs=inputs, outputs=list(b2s.outputs), options=options)


def _int_operand(model: Model, index: int) -> list[int] | None:
    tensor = model.tensors[index] if index >= 0 else None
    if tensor is None or not tensor.is_constant or tensor.dtype not in ("int32", "int64"):
        return None
    return [int(v) for v in tensor.array().reshape(-1)]


def _same_quantization(first: Tensor, second: Tensor) -> bool:
    return first.quantization is not None and first.quantization == second.quantization


def _dilated_options(model: Model, s2b: Operator, conv: Operator, b2s: Operator) -> dict | None:
    """The conv's options as a dilated convolution on the unbatched input, or None when the
    triple computes something else. With block d, paddings (pb, pa) and crops (cb, ca) the
    triple gives Y[y] = sum_t w[t] X[y + d t - (pb - cb)]: a dilation-d convolution whose
    leading pad is pb - cb, which must be what TFLM computes for SAME or VALID."""
    source, output = model.tensors[s2b.inputs[0]], model.tensors[b2s.outputs[0]]
    block = _int_operand(model, s2b.inputs[1])
    paddings = _int_operand(model, s2b.inputs[2])
    crops = _int_operand(model, b2s.inputs[2])
    if block is None or paddings is None or crops is None or _int_operand(model, b2s.inputs[1]) != block:
        return None
    if len(block) != 2 or len(paddings) != 4 or len(crops) != 4 or min(block) < 1:
        return None
    if len(source.shape) != 4 or len(output.shape) != 4 or source.shape[0] != 1 or output.shape[0] != 1:
        return None
    if not (_same_quantization(source, model.tensors[s2b.outputs[0]])
            and _same_quantization(output, model.tensors[conv.outputs[0]])):
        return None
    options = dict(conv.options)
    if (options.get("padding", "SAME") != "VALID" or int(options.get("stride_h", 1)) != 1
            or int(options.get("stride_w", 1)) != 1 or int(options.get("dilation_h_factor", 1)) != 1
            or int(options.get("dilation_w_factor", 1)) != 1):
        return None
    weights = model.tensors[conv.inputs[1]]
    if len(weights.shape) != 4:
        return None
    taps = (int(weights.shape[1]), int(weights.shape[2]))
    leading = (paddings[0] - crops[0], paddings[2] - crops[2])
    for padding in ("VALID", "SAME"):
        if _padding_matches(padding, source.shape[1:3], output.shape[1:3], taps, block, leading):
            options.update(padding=padding, dilation_h_factor=block[0], dilation_w_factor=block[1])
            return options
    return None


def _padding_matches(padding: str, in_hw, out_hw, taps, block, leading) -> bool:
    for axis in range(2):
        size = quant.compute_out_size(padding, int(in_hw[axis]), taps[axis], 1, block[axis])
        pad, _ = quant.compute_padding_with_offset(1, block[axis], int(in_hw[axis]), taps[axis], size)
        if size != int(out_hw[axis]) or pad != leading[axis]:
            return False
    return True
