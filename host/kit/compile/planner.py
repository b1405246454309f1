"""Turn a parsed .tflite model into kit's static execution Plan, refusing what kit cannot run.

Every parameter a kernel needs is resolved here, the way TFLM's Prepare() functions resolve
them (see kit.compile.quant for the arithmetic), and the arena is planned with
kit.compile.memory. Anything outside the supported set raises a ModelError that names the
op, its node index and the supported ops, before any C is written.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from kit.compile import quant
from kit.compile.fold import fold_model
from kit.compile.memory import Buffer, place_buffers
from kit.compile.ops import OPS, OPS_BY_NAME, OpSpec
from kit.compile.fuse import fuse_conv_add, run_shortcuts_early
from kit.compile.overlap import input_deltas, same_offset_inputs
from kit.compile.scratch import scratch_bytes
from kit.compile.plan import SUPPORTED_OPS, OpPlan, Plan, TensorPlan
from kit.compile.tflite import DTYPE_NUMPY, Model, Operator, Tensor
from kit.errors import ModelError

SUPPORTED_ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")
_SUPPORTED_HINT = (
    "kit runs full-integer int8 models using " + ", ".join(SUPPORTED_OPS) + "; re-export the model with "
    "int8 post-training quantization (TFLITE_BUILTINS_INT8, int8 input and output) using only these ops"
)


class _Refusal(Exception):
    """Raised inside an op resolver; turned into a ModelError naming the node."""


def _refuse(reason: str) -> None:
    raise _Refusal(reason)


def _model_error(operator: Operator, reason: str) -> ModelError:
    return ModelError(f"node {operator.index} ({operator.op}): {reason}", _SUPPORTED_HINT)


# ---------------------------------------------------------------------------- checks


def _tensor(model: Model, index: int) -> Tensor:
    return model.tensors[index]


def _input(model: Model, operator: Operator, position: int, optional: bool = False) -> Tensor | None:
    if position >= len(operator.inputs) or operator.inputs[position] < 0:
        if optional:
            return None
        _refuse(f"input {position} is missing")
    return _tensor(model, operator.inputs[position])


def _output(model: Model, operator: Operator) -> Tensor:
    if len(operator.outputs) != 1:
        _refuse(f"{len(operator.outputs)} outputs, kit supports exactly one")
    return _tensor(model, operator.outputs[0])


def _require_int8_activation(tensor: Tensor, role: str) -> None:
    if tensor.dtype == "int16":
        _refuse(f"{role} tensor '{tensor.name}' is int16 (16x8 quantization); kit supports int8 activations only")
    if tensor.dtype != "int8":
        _refuse(f"{role} tensor '{tensor.name}' is {tensor.dtype}; kit supports int8 activations only")
    if tensor.quantization is None or not tensor.quantization.scale:
        _refuse(f"{role} tensor '{tensor.name}' has no quantization parameters")
    if len(tensor.quantization.scale) != 1:
        _refuse(f"{role} tensor '{tensor.name}' is per-channel quantized; activations must be per-tensor")
    _require_valid_scales(tensor, role)
    _require_int8_zero_point(tensor, role)


def _require_int8_zero_point(tensor: Tensor, role: str) -> None:
    """TFLite's int8 scheme keeps zero points in [-128, 127]. Outside it TFLM computes nothing
    defined: with a fused ReLU the clamp bounds cross (min 128 > max 127, so the result depends
    on which bound a kernel applies last) and 2^31 - 1 overflows its int32 offsets."""
    zero_point = _zero_point(tensor)
    if not quant.INT8_MIN <= zero_point <= quant.INT8_MAX:
        _refuse(f"{role} tensor '{tensor.name}' has zero point {zero_point}; int8 zero points must lie in "
                f"[{quant.INT8_MIN}, {quant.INT8_MAX}]")


def _require_valid_scales(tensor: Tensor, role: str) -> None:
    """Every scale finite and positive, one zero point per scale (the file parses either way;
    the math does not, and TFLM would read a zero point that is not there)."""
    scales, zero_points = len(tensor.quantization.scale), len(tensor.quantization.zero_point)
    if zero_points != scales:
        _refuse(f"{role} tensor '{tensor.name}' has {scales} scale(s) and {zero_points} zero point(s); "
                "quantization needs one zero point per scale")
    for scale in tensor.quantization.scale:
        if not (math.isfinite(scale) and scale > 0):
            _refuse(f"{role} tensor '{tensor.name}' has scale {scale}; scales must be finite and positive")


def _require_same_quantization(first: Tensor, second: Tensor) -> None:
    if (quant.f32(first.quantization.scale[0]), first.quantization.zero_point[0]) != (
        quant.f32(second.quantization.scale[0]),
        second.quantization.zero_point[0],
    ):
        _refuse(f"tensors '{first.name}' and '{second.name}' must share scale and zero point (this op does not rescale)")


def _scale(tensor: Tensor) -> float:
    return tensor.quantization.scale[0]


def _zero_point(tensor: Tensor) -> int:
    return tensor.quantization.zero_point[0] if tensor.quantization.zero_point else 0


def _activation(operator: Operator, output: Tensor) -> dict[str, int]:
    activation = operator.options.get("fused_activation_function", "NONE")
    if activation not in SUPPORTED_ACTIVATIONS:
        _refuse(f"fused activation {activation} is not supported (supported: {', '.join(SUPPORTED_ACTIVATIONS)})")
    low, high = quant.activation_range(activation, _scale(output), _zero_point(output))
    return {"activation_min": low, "activation_max": high}


def _shape4(shape: tuple[int, ...]) -> list[int]:
    if len(shape) > 4:
        _refuse(f"shape {list(shape)} has more than 4 dimensions")
    return [1] * (4 - len(shape)) + list(shape)


def _positive_option(operator: Operator, key: str) -> int:
    value = int(operator.options.get(key, 1))
    if value < 1:
        _refuse(f"option {key}={value} must be at least 1")
    return value


def _constant_ints(tensor: Tensor, role: str) -> list[int]:
    if not tensor.is_constant:
        _refuse(f"{role} tensor '{tensor.name}' must be a constant")
    if tensor.dtype not in ("int32", "int64"):
        _refuse(f"{role} tensor '{tensor.name}' is {tensor.dtype}, expected int32")
    return [int(v) for v in tensor.array().reshape(-1)]


# ---------------------------------------------------------------------------- conv family


def _weights(filter_tensor: Tensor, channels: int, channel_dim: int) -> list[float]:
    if filter_tensor.dtype != "int8":
        _refuse(f"weights '{filter_tensor.name}' are {filter_tensor.dtype}; kit supports int8 weights")
    if not filter_tensor.is_constant:
        _refuse(f"weights '{filter_tensor.name}' are not constant")
    q = filter_tensor.quantization
    if q is None or not q.scale:
        _refuse(f"weights '{filter_tensor.name}' have no quantization parameters")
    if len(q.scale) not in (1, channels):
        _refuse(f"weights '{filter_tensor.name}' have {len(q.scale)} scales for {channels} channels")
    if len(q.scale) > 1 and q.quantized_dimension != channel_dim:
        _refuse(f"weights '{filter_tensor.name}' are quantized along dimension {q.quantized_dimension}")
    if any(z != 0 for z in q.zero_point):
        _refuse(f"weights '{filter_tensor.name}' have non-zero zero points; int8 weights must be symmetric")
    _require_valid_scales(filter_tensor, "weights")
    return list(q.scale)


def _bias(model: Model, operator: Operator, channels: int) -> None:
    bias = _input(model, operator, 2, optional=True)
    if bias is None:
        return
    if bias.dtype != "int32":
        _refuse(f"bias '{bias.name}' is {bias.dtype}; kit supports int32 biases")
    if not bias.is_constant:
        _refuse(f"bias '{bias.name}' is not constant")
    if bias.num_elements != channels:
        _refuse(f"bias '{bias.name}' has {bias.num_elements} values for {channels} channels")


def _spatial(operator: Operator, in_hw: tuple[int, int], filter_hw: tuple[int, int], out_hw: tuple[int, int], dilated: bool) -> dict[str, int]:
    """Strides, dilations and TFLM's padding for a 2-D window op, checked against the output shape."""
    padding = operator.options.get("padding", "SAME")
    if padding not in ("SAME", "VALID"):
        _refuse(f"padding {padding} is not supported")
    stride_h, stride_w = _positive_option(operator, "stride_h"), _positive_option(operator, "stride_w")
    dilation_h = _positive_option(operator, "dilation_h_factor") if dilated else 1
    dilation_w = _positive_option(operator, "dilation_w_factor") if dilated else 1
    expected = (
        quant.compute_out_size(padding, in_hw[0], filter_hw[0], stride_h, dilation_h),
        quant.compute_out_size(padding, in_hw[1], filter_hw[1], stride_w, dilation_w),
    )
    if expected != tuple(out_hw):
        _refuse(f"output size {list(out_hw)} does not match {padding} padding (expected {list(expected)})")
    pad_h, offset_h = quant.compute_padding_with_offset(stride_h, dilation_h, in_hw[0], filter_hw[0], out_hw[0])
    pad_w, offset_w = quant.compute_padding_with_offset(stride_w, dilation_w, in_hw[1], filter_hw[1], out_hw[1])
    params = {
        "stride_h": stride_h,
        "stride_w": stride_w,
        "padding_h": pad_h,
        "padding_w": pad_w,
        "padding_h_offset": offset_h,
        "padding_w_offset": offset_w,
    }
    if dilated:
        params.update(dilation_h=dilation_h, dilation_w=dilation_w)
    return params


def _nhwc(tensor: Tensor, role: str) -> tuple[int, int, int, int]:
    if len(tensor.shape) != 4:
        _refuse(f"{role} '{tensor.name}' has shape {list(tensor.shape)}, expected 4-D NHWC")
    return tuple(int(d) for d in tensor.shape)  # type: ignore[return-value]


def _resolve_conv(model: Model, operator: Operator) -> dict[str, Any]:
    source, weights, output = _input(model, operator, 0), _input(model, operator, 1), _output(model, operator)
    _require_int8_activation(source, "input")
    _require_int8_activation(output, "output")
    batches, in_h, in_w, in_c = _nhwc(source, "input")
    out_c, k_h, k_w, filter_in_c = _nhwc(weights, "weights")
    out_shape = _nhwc(output, "output")
    if out_shape[0] != batches or out_shape[3] != out_c:
        _refuse(f"output shape {list(out_shape)} does not match input and weights")
    if filter_in_c < 1 or in_c % filter_in_c or out_c % (in_c // filter_in_c):
        _refuse(f"input depth {in_c} is not a multiple of the weights' depth {filter_in_c}")
    scales = _weights(weights, out_c, 0)
    _bias(model, operator, out_c)
    multipliers, shifts = quant.conv_per_channel_multipliers(_scale(source), scales, _scale(output), out_c)
    params = _spatial(operator, (in_h, in_w), (k_h, k_w), out_shape[1:3], dilated=True)
    params.update(
        input_offset=-_zero_point(source),
        output_offset=_zero_point(output),
        output_multiplier=multipliers,
        output_shift=shifts,
        groups=in_c // filter_in_c,
        **_activation(operator, output),
    )
    return params


def _resolve_depthwise(model: Model, operator: Operator) -> dict[str, Any]:
    source, weights, output = _input(model, operator, 0), _input(model, operator, 1), _output(model, operator)
    _require_int8_activation(source, "input")
    _require_int8_activation(output, "output")
    batches, in_h, in_w, in_c = _nhwc(source, "input")
    one, k_h, k_w, out_c = _nhwc(weights, "weights")
    out_shape = _nhwc(output, "output")
    if one != 1 or out_shape[0] != batches or out_shape[3] != out_c:
        _refuse(f"weights {list(weights.shape)} and output {list(out_shape)} do not match")
    if out_c % in_c:
        _refuse(f"output depth {out_c} is not a multiple of input depth {in_c}")
    depth_multiplier = out_c // in_c
    declared = int(operator.options.get("depth_multiplier", depth_multiplier))
    if declared != depth_multiplier:
        _refuse(f"depth_multiplier option {declared} contradicts the shapes ({out_c} / {in_c})")
    scales = _weights(weights, out_c, 3)
    _bias(model, operator, out_c)
    multipliers, shifts = quant.conv_per_channel_multipliers(_scale(source), scales, _scale(output), out_c)
    params = _spatial(operator, (in_h, in_w), (k_h, k_w), out_shape[1:3], dilated=True)
    params.update(
        depth_multiplier=depth_multiplier,
        input_offset=-_zero_point(source),
        output_offset=_zero_point(output),
        output_multiplier=multipliers,
        output_shift=shifts,
        **_activation(operator, output),
    )
    return params


def _resolve_transpose_conv(model: Model, operator: Operator) -> dict[str, Any]:
    """TFLM TRANSPOSE_CONV int8: inputs (output shape, filter [out_c, kh, kw, in_c], input,
    bias); padding is ComputePaddingHeightWidth run from the output size, stride as given,
    no dilation; per-channel multipliers as CONV_2D."""
    shape_tensor, weights = _input(model, operator, 0), _input(model, operator, 1)
    source, output = _input(model, operator, 2), _output(model, operator)
    _require_int8_activation(source, "input")
    _require_int8_activation(output, "output")
    batches, in_h, in_w, in_c = _nhwc(source, "input")
    out_c, k_h, k_w, filter_in_c = _nhwc(weights, "weights")
    out_shape = _nhwc(output, "output")
    if filter_in_c != in_c or out_shape[0] != batches or out_shape[3] != out_c:
        _refuse(f"input {list(source.shape)}, weights {list(weights.shape)} and output {list(out_shape)} do not match")
    if _constant_ints(shape_tensor, "output shape") != list(out_shape):
        _refuse(f"output shape operand does not match the output tensor {list(out_shape)}")
    scales = _weights(weights, out_c, 0)
    bias = _input(model, operator, 3, optional=True)
    if bias is not None and (bias.dtype != "int32" or not bias.is_constant or bias.num_elements != out_c):
        _refuse(f"bias '{bias.name}' must be a constant int32 vector of {out_c} values")
    padding = operator.options.get("padding", "SAME")
    if padding not in ("SAME", "VALID"):
        _refuse(f"padding {padding} is not supported")
    stride_h, stride_w = _positive_option(operator, "stride_h"), _positive_option(operator, "stride_w")
    forward = (quant.compute_out_size(padding, out_shape[1], k_h, stride_h, 1),
               quant.compute_out_size(padding, out_shape[2], k_w, stride_w, 1))
    if forward != (in_h, in_w):
        _refuse(f"output size {list(out_shape[1:3])} does not give the input size {[in_h, in_w]} with {padding} padding")
    pad_h, _ = quant.compute_padding_with_offset(stride_h, 1, out_shape[1], k_h, in_h)
    pad_w, _ = quant.compute_padding_with_offset(stride_w, 1, out_shape[2], k_w, in_w)
    multipliers, shifts = quant.conv_per_channel_multipliers(_scale(source), scales, _scale(output), out_c)
    return {
        "stride_h": stride_h,
        "stride_w": stride_w,
        "padding_h": pad_h,
        "padding_w": pad_w,
        "input_offset": -_zero_point(source),
        "output_offset": _zero_point(output),
        "output_multiplier": multipliers,
        "output_shift": shifts,
        **_activation(operator, output),
    }


def _resolve_fully_connected(model: Model, operator: Operator) -> dict[str, Any]:
    source, weights, output = _input(model, operator, 0), _input(model, operator, 1), _output(model, operator)
    _require_int8_activation(source, "input")
    _require_int8_activation(output, "output")
    if len(weights.shape) != 2:
        _refuse(f"weights '{weights.name}' have shape {list(weights.shape)}, expected [units, depth]")
    if int(operator.options.get("weights_format", 0)) != 0:
        _refuse("shuffled weights formats are not supported")
    units, depth = (int(d) for d in weights.shape)
    if depth < 1 or source.num_elements % depth:
        _refuse(f"input of {source.num_elements} values is not a multiple of the weights' depth {depth}")
    batches = source.num_elements // depth
    if output.num_elements != batches * units:
        _refuse(f"output of {output.num_elements} values, expected {batches * units}")
    if not output.shape or int(output.shape[-1]) != units:
        # TFLM takes the output depth from the output's last dimension (MatchingDim, unchecked
        # in release builds) and then reads input rows that do not exist
        _refuse(f"output '{output.name}' has shape {list(output.shape)}; its last dimension must be the {units} units")
    scales = _weights(weights, units, 0)
    _bias(model, operator, units)
    per_channel = len(scales) > 1
    multipliers, shifts = quant.conv_per_channel_multipliers(
        _scale(source), scales, _scale(output), units if per_channel else 1
    )
    return {
        "input_offset": -_zero_point(source),
        "weights_offset": -weights.quantization.zero_point[0] if weights.quantization.zero_point else 0,
        "output_offset": _zero_point(output),
        "output_multiplier": multipliers,
        "output_shift": shifts,
        "per_channel": per_channel,
        "batches": batches,
        "accum_depth": depth,
        "output_depth": units,
        **_activation(operator, output),
    }


def _resolve_pool(model: Model, operator: Operator) -> dict[str, Any]:
    source, output = _input(model, operator, 0), _output(model, operator)
    _require_int8_activation(source, "input")
    _require_int8_activation(output, "output")
    _require_same_quantization(source, output)
    batches, in_h, in_w, channels = _nhwc(source, "input")
    out_shape = _nhwc(output, "output")
    if out_shape[0] != batches or out_shape[3] != channels:
        _refuse(f"output shape {list(out_shape)} does not match input {list(source.shape)}")
    filter_h, filter_w = _positive_option(operator, "filter_height"), _positive_option(operator, "filter_width")
    params = _spatial(operator, (in_h, in_w), (filter_h, filter_w), out_shape[1:3], dilated=False)
    params.update(filter_h=filter_h, filter_w=filter_w, **_activation(operator, output))
    return params


# ---------------------------------------------------------------------------- elementwise


def _broadcast_shapes(first: Tensor, second: Tensor, output: Tensor) -> dict[str, Any]:
    a, b, out = _shape4(first.shape), _shape4(second.shape), _shape4(output.shape)
    for dim in range(4):
        sizes = {a[dim], b[dim]} - {1}
        if len(sizes) > 1 or out[dim] != max(a[dim], b[dim]):
            _refuse(f"shapes {list(first.shape)} and {list(second.shape)} do not broadcast to {list(output.shape)}")
    return {"input1_shape4": a, "input2_shape4": b, "output_shape4": out}


def _requires_broadcast(first: Tensor, second: Tensor) -> bool:
    """ADD and MUL take the plain elementwise loop only for identical shapes (as TFLM's
    HaveSameShapes); equal element counts are not enough ([1,4] x [4,1] -> [4,4])."""
    return tuple(first.shape) != tuple(second.shape)


def _binary_tensors(model: Model, operator: Operator) -> tuple[Tensor, Tensor, Tensor]:
    first, second, output = _input(model, operator, 0), _input(model, operator, 1), _output(model, operator)
    _require_int8_activation(first, "input1")
    _require_int8_activation(second, "input2")
    _require_int8_activation(output, "output")
    return first, second, output


def _resolve_binary(model: Model, operator: Operator, rescale: Callable[[float, float, float], dict[str, int]]) -> dict[str, Any]:
    """ADD and MUL share everything but their rescaling (TFLM's ArithmeticParams)."""
    first, second, output = _binary_tensors(model, operator)
    params = rescale(_scale(first), _scale(second), _scale(output))
    params.update(
        input1_offset=-_zero_point(first),
        input2_offset=-_zero_point(second),
        output_offset=_zero_point(output),
        requires_broadcast=_requires_broadcast(first, second),
        **_broadcast_shapes(first, second, output),
        **_activation(operator, output),
    )
    return params


def _resolve_add(model: Model, operator: Operator) -> dict[str, Any]:
    return _resolve_binary(model, operator, quant.add_params)


def _resolve_mul(model: Model, operator: Operator) -> dict[str, Any]:
    return _resolve_binary(model, operator, quant.mul_params)


def _resolve_sub(model: Model, operator: Operator) -> dict[str, Any]:
    """TFLM's int8 SUB rescales exactly like ADD (CalculateOpDataSub), then subtracts."""
    return _resolve_binary(model, operator, quant.add_params)


def _resolve_maximum_minimum(model: Model, operator: Operator) -> dict[str, Any]:
    """TFLM's MAXIMUM / MINIMUM compare the raw int8 values (no rescaling, no activation): only
    the broadcast shapes are resolved; the rest of the shared binary params struct is zero."""
    first, second, output = _binary_tensors(model, operator)
    return {
        "input1_offset": 0, "input2_offset": 0, "output_offset": 0, "output_multiplier": 0, "output_shift": 0,
        "activation_min": -128, "activation_max": 127,
        "requires_broadcast": _requires_broadcast(first, second),
        **_broadcast_shapes(first, second, output),
    }


def _resolve_prelu(model: Model, operator: Operator) -> dict[str, Any]:
    """TFLM CalculatePreluParams: multiplier 1 = in / out for x >= 0, multiplier 2 =
    in * alpha / out for x < 0 (both in double); alpha broadcasts (Keras PReLU gives one per
    channel, or one per element without shared_axes). ADD's params struct carries them:
    input2 is alpha."""
    source, alpha, output = _binary_tensors(model, operator)
    identity = quant.quantize_multiplier(float(quant.f32(_scale(source))) / float(quant.f32(_scale(output))))
    negative = quant.quantize_multiplier(
        float(quant.f32(_scale(source))) * float(quant.f32(_scale(alpha))) / float(quant.f32(_scale(output))))
    return {
        "input1_offset": -_zero_point(source), "input2_offset": -_zero_point(alpha),
        "output_offset": _zero_point(output),
        "input1_multiplier": identity[0], "input1_shift": identity[1],
        "input2_multiplier": negative[0], "input2_shift": negative[1],
        "output_multiplier": 0, "output_shift": 0,
        "activation_min": quant.INT8_MIN, "activation_max": quant.INT8_MAX,
        "requires_broadcast": _requires_broadcast(source, alpha),
        **_broadcast_shapes(source, alpha, output),
    }


def _resolve_reshape(model: Model, operator: Operator) -> dict[str, Any]:
    source, output = _input(model, operator, 0), _output(model, operator)
    _require_int8_activation(source, "input")
    _require_int8_activation(output, "output")
    _require_static_shape_agrees(model, operator, output)
    if source.num_elements != output.num_elements:
        _refuse(f"reshape from {source.num_elements} to {output.num_elements} values")
    return {"aliased": False}


def _require_static_shape_agrees(model: Model, operator: Operator, output: Tensor) -> None:
    """A RESHAPE whose (constant or folded) shape operand contradicts its output tensor's shape:
    the converter wrote placeholder shapes for a graph whose sizes it left to run time (an
    open batch size through TILE / UpSampling2D). kit plans static shapes only."""
    shape_tensor = _input(model, operator, 1, optional=True)
    if shape_tensor is None or not shape_tensor.is_constant or shape_tensor.dtype not in ("int32", "int64"):
        return
    wanted = [int(v) for v in shape_tensor.array().reshape(-1)]
    actual = [int(d) for d in output.shape]
    if len(wanted) == len(actual) and all(w in (-1, a) for w, a in zip(wanted, actual)):
        return
    raise ModelError(
        f"node {operator.index} (RESHAPE): its shape operand {wanted} contradicts the file's shape {actual} "
        f"for tensor '{output.name}' (the converter left this graph's sizes to run time)",
        "export the model with a fixed batch size (keras.Input(shape=..., batch_size=1)), so every shape is static",
    )


def _require_same_size(source: Tensor, output: Tensor) -> None:
    """Elementwise ops write one output per input value: a larger output would hand back arena
    bytes nobody wrote, a smaller one be overrun."""
    if source.num_elements != output.num_elements:
        _refuse(f"output '{output.name}' has shape {list(output.shape)}, its input '{source.name}' "
                f"{list(source.shape)}; this op writes one output value per input value")


def _require_probability_output(output: Tensor) -> None:
    if _zero_point(output) != -128 or quant.f32(_scale(output)) != quant.f32(1.0 / 256):
        _refuse(f"output '{output.name}' must have scale 1/256 and zero point -128 (TFLM's int8 requirement)")


def _resolve_softmax(model: Model, operator: Operator) -> dict[str, Any]:
    source, output = _input(model, operator, 0), _output(model, operator)
    _require_int8_activation(source, "input")
    _require_int8_activation(output, "output")
    _require_same_size(source, output)
    _require_probability_output(output)
    if not source.shape:
        _refuse("softmax of a scalar")
    depth = int(source.shape[-1])
    params: dict[str, Any] = quant.softmax_params(float(operator.options.get("beta", 1.0)), _scale(source))
    params.update(depth=depth, outer_size=source.num_elements // max(depth, 1))
    return params


def _resolve_logistic(model: Model, operator: Operator) -> dict[str, Any]:
    source, output = _input(model, operator, 0), _output(model, operator)
    _require_int8_activation(source, "input")
    _require_int8_activation(output, "output")
    _require_same_size(source, output)
    _require_probability_output(output)
    params: dict[str, Any] = quant.logistic_params(_scale(source))
    params.update(input_zero_point=_zero_point(source), output_zero_point=_zero_point(output), size=source.num_elements)
    return params


def _resolve_tanh(model: Model, operator: Operator) -> dict[str, Any]:
    """TFLM int8 TANH: LOGISTIC's input rescaling (Q4.27); the output must be scale 1/128,
    zero point 0, which TFLM's kernel assumes without reading it."""
    source, output = _unary_int8(model, operator)
    if _zero_point(output) != 0 or quant.f32(_scale(output)) != quant.f32(1.0 / 128):
        _refuse(f"output '{output.name}' must have scale 1/128 and zero point 0 (TFLM's int8 TANH writes that scale)")
    params: dict[str, Any] = quant.logistic_params(_scale(source))
    params.update(input_zero_point=_zero_point(source), output_zero_point=0, size=source.num_elements)
    return params


def _resolve_mean(model: Model, operator: Operator) -> dict[str, Any]:
    """TFLM int8 MEAN: QuantizeMultiplier(in_scale / out_scale); emit_c folds 1/count into it and
    the kernel sums each output's slice in int32 (no scratch; see the MEAN entry in plan.py)."""
    source, axis_tensor, output = _input(model, operator, 0), _input(model, operator, 1), _output(model, operator)
    _require_int8_activation(source, "input")
    _require_int8_activation(output, "output")
    rank = len(source.shape)
    axes = sorted({a + rank if a < 0 else a for a in _constant_ints(axis_tensor, "axis")})
    if any(not 0 <= a < rank for a in axes):
        _refuse(f"axis {axes} out of range for rank {rank}")
    if len(axes) > 2:
        _refuse(f"mean over {len(axes)} axes; TFLM reduces at most 2 axes at once")
    count = int(np.prod([source.shape[a] for a in axes], dtype=np.int64)) if axes else 1
    if output.num_elements * count != source.num_elements:
        _refuse(f"output '{output.name}' has {output.num_elements} values; the mean of {source.num_elements} "
                f"over {count} per output gives {source.num_elements // count}")
    params: dict[str, Any] = quant.requantize_params(_scale(source), _scale(output))
    params.update(
        axes=axes,
        keep_dims=bool(operator.options.get("keep_dims", False)),
        input_zero_point=_zero_point(source),
        output_zero_point=_zero_point(output),
        input_shape=list(source.shape),
        output_shape=list(output.shape),
        num_elements_in_axis=count,
    )
    return params


def _resolve_sum(model: Model, operator: Operator) -> dict[str, Any]:
    """TFLM int8 SUM: MEAN's integer path without the 1/count (same Prepare multiplier)."""
    params = _resolve_mean(model, operator)
    params["compute_sum"] = True
    return params


def _resolve_pad(model: Model, operator: Operator) -> dict[str, Any]:
    if len(operator.inputs) > 2:
        _refuse("PAD with a constant_values input (PADV2) is not supported; pad with the zero point")
    source, paddings_tensor, output = _input(model, operator, 0), _input(model, operator, 1), _output(model, operator)
    _require_int8_activation(source, "input")
    _require_int8_activation(output, "output")
    _require_same_quantization(source, output)
    values = _constant_ints(paddings_tensor, "paddings")
    rank = len(source.shape)
    if len(values) != 2 * rank or rank > 4 or any(v < 0 for v in values):
        _refuse(f"paddings {values} do not fit an input of rank {rank}")
    pairs = [[0, 0]] * (4 - rank) + [[values[2 * i], values[2 * i + 1]] for i in range(rank)]
    expected = [d + before + after for d, (before, after) in zip(_shape4(source.shape), pairs)]
    if expected != _shape4(output.shape):
        _refuse(f"output shape {list(output.shape)} does not match the paddings")
    return {
        "paddings": pairs,
        "pad_value": _zero_point(output),
        "input_shape4": _shape4(source.shape),
        "output_shape4": _shape4(output.shape),
    }


def _resolve_concatenation(model: Model, operator: Operator) -> dict[str, Any]:
    output = _output(model, operator)
    _require_int8_activation(output, "output")
    rank = len(output.shape)
    axis = int(operator.options.get("axis", 0))
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank:
        _refuse(f"axis {axis} out of range for rank {rank}")
    activation = operator.options.get("fused_activation_function", "NONE")
    if activation != "NONE":
        _refuse(f"fused activation {activation} on CONCATENATION is not supported by TFLM")
    inner = int(np.prod(output.shape[axis + 1 :], dtype=np.int64))
    outer = int(np.prod(output.shape[:axis], dtype=np.int64))
    copy_sizes, total = [], 0
    for position in range(len(operator.inputs)):
        source = _input(model, operator, position)
        _require_int8_activation(source, f"input{position}")
        _require_same_quantization(source, output)
        if len(source.shape) != rank or any(
            source.shape[d] != output.shape[d] for d in range(rank) if d != axis
        ):
            _refuse(f"input '{source.name}' shape {list(source.shape)} does not fit output {list(output.shape)}")
        copy_sizes.append(int(source.shape[axis]) * inner)
        total += int(source.shape[axis])
    if total != output.shape[axis]:
        _refuse(f"inputs sum to {total} along axis {axis}, output has {output.shape[axis]}")
    return {"axis": axis, "outer_size": outer, "copy_sizes": copy_sizes}


def _resolve_quantize(model: Model, operator: Operator) -> dict[str, Any]:
    source, output = _input(model, operator, 0), _output(model, operator)
    if source.dtype == "float32":
        _refuse("float32 input: kit models take int8 input (convert with inference_input_type=tf.int8)")
    _require_int8_activation(source, "input")
    _require_int8_activation(output, "output")
    _require_same_size(source, output)
    params: dict[str, Any] = quant.requantize_params(_scale(source), _scale(output))
    params.update(input_zero_point=_zero_point(source), output_zero_point=_zero_point(output), size=source.num_elements)
    return params


def _resolve_dequantize(model: Model, operator: Operator) -> dict[str, Any]:
    source, output = _input(model, operator, 0), _output(model, operator)
    _require_int8_activation(source, "input")
    _require_same_size(source, output)
    if output.dtype != "float32":
        _refuse(f"output is {output.dtype}; DEQUANTIZE must produce float32")
    if model.outputs != [operator.outputs[0]]:
        _refuse("DEQUANTIZE is supported only as the op producing the model output")
    return {"zero_point": _zero_point(source), "scale": quant.f32(_scale(source)), "size": source.num_elements}


# ---------------------------------------------------------------------------- activations


def _unary_int8(model: Model, operator: Operator) -> tuple[Tensor, Tensor]:
    source, output = _input(model, operator, 0), _output(model, operator)
    _require_int8_activation(source, "input")
    _require_int8_activation(output, "output")
    _require_same_size(source, output)
    return source, output


def _float32_quotient(numerator: float, denominator: float) -> float:
    """A float32 division widened to double, as TFLM's Prepare computes `float / float`."""
    return float(np.float32(numerator) / np.float32(denominator))


def _resolve_relu(model: Model, operator: Operator) -> dict[str, Any]:
    """TFLM CalculateReluOpData: QuantizeMultiplier(double(in) / double(out)), clamp from the
    output's quantized 0 to 127."""
    source, output = _unary_int8(model, operator)
    rescale = quant.requantize_params(_scale(source), _scale(output))
    low, high = quant.activation_range("RELU", _scale(output), _zero_point(output))
    return {
        "input_zero_point": _zero_point(source),
        "output_zero_point": _zero_point(output),
        "identity_multiplier": rescale["output_multiplier"],
        "identity_shift": rescale["output_shift"],
        "activation_min": low,
        "activation_max": high,
        "size": source.num_elements,
    }


def _int8_bound(output: Tensor, value: float) -> int:
    """`value` in the output's quantization (float32 quotient, round half away), clamped to int8."""
    return max(quant.INT8_MIN, min(quant.INT8_MAX, quant.quantize_value(_scale(output), _zero_point(output), value)))


def _resolve_relu_n1_to_1(model: Model, operator: Operator) -> dict[str, Any]:
    """TFLM has no RELU_N1_TO_1 kernel: this is TensorFlow Lite's (ReluPrepare + QuantizedReluX),
    which differs from TFLM's RELU in two roundings: the multiplier is the float32 quotient
    in / out, and the bounds are out_zp + roundf(-+1.0f / out_scale), clamped to int8."""
    source, output = _unary_int8(model, operator)
    multiplier, shift = quant.quantize_multiplier(_float32_quotient(_scale(source), _scale(output)))
    return {
        "input_zero_point": _zero_point(source),
        "output_zero_point": _zero_point(output),
        "identity_multiplier": multiplier,
        "identity_shift": shift,
        "activation_min": _int8_bound(output, -1.0),
        "activation_max": _int8_bound(output, 1.0),
        "size": source.num_elements,
    }


def _resolve_relu6(model: Model, operator: Operator) -> dict[str, Any]:
    """TFLM Relu6Prepare: clamp bounds are the input's quantized 0 and 6 (FloatToQuantizedType,
    which saturates to int8). TFLM never reads the output quantization, and the converter
    often gives the output its own: TFLM (so kit, which matches it bit for bit) then differs
    from TensorFlow Lite, which requantizes."""
    source, output = _unary_int8(model, operator)
    six = quant.quantize_value(_scale(source), _zero_point(source), 6.0)
    return {
        "lower": _zero_point(source),
        "upper": max(quant.INT8_MIN, min(quant.INT8_MAX, six)),
        "size": source.num_elements,
    }


def _resolve_leaky_relu(model: Model, operator: Operator) -> dict[str, Any]:
    """TFLM CalculateOpDataLeakyRelu: both multipliers from float32 arithmetic, then double."""
    source, output = _unary_int8(model, operator)
    alpha = float(operator.options.get("alpha", 0.0))
    if not math.isfinite(alpha):
        _refuse(f"alpha {alpha} is not a finite number")
    in_scale, out_scale = _scale(source), _scale(output)
    identity = quant.quantize_multiplier(_float32_quotient(in_scale, out_scale))
    alpha_multiplier = quant.quantize_multiplier(_float32_quotient(float(np.float32(in_scale) * np.float32(alpha)), out_scale))
    return {
        "input_zero_point": _zero_point(source),
        "output_zero_point": _zero_point(output),
        "identity_multiplier": identity[0],
        "identity_shift": identity[1],
        "alpha_multiplier": alpha_multiplier[0],
        "alpha_shift": alpha_multiplier[1],
        "activation_min": quant.INT8_MIN,
        "activation_max": quant.INT8_MAX,
        "size": source.num_elements,
    }


def _int16_multiplier(real_multiplier: float) -> tuple[int, int]:
    """QuantizeMultiplier, then DownScaleInt32ToInt16Multiplier (round the Q31 to Q15, saturating)."""
    multiplier, exponent = quant.quantize_multiplier(real_multiplier)
    if multiplier >= 2**31 - 1 - (1 << 15):
        return 2**15 - 1, exponent
    return (multiplier + (1 << 15)) >> 16, exponent


def _resolve_hard_swish(model: Model, operator: Operator) -> dict[str, Any]:
    """TFLM HardSwishPrepare: a 'high-resolution' input scale (input scale / 128) rescaled to
    the output scale and to the 'relu-ish' scale (3 / 32768), both as 16-bit multipliers."""
    source, output = _unary_int8(model, operator)
    hires_scale = float(np.float32(1.0 / 128.0) * np.float32(_scale(source)))
    output_multiplier, output_exponent = _int16_multiplier(_float32_quotient(hires_scale, _scale(output)))
    if output_exponent > 0:
        _refuse(f"output scale {_scale(output):.6g} is too small for input scale {_scale(source):.6g} "
                "(TFLM requires a non-positive output exponent)")
    reluish_multiplier, reluish_exponent = _int16_multiplier(
        _float32_quotient(hires_scale, float(np.float32(3.0) / np.float32(32768.0)))
    )
    if output_exponent < -15 or reluish_exponent < -15:
        # gemmlowp's int16 RoundingDivideByPOT truncates its mask past 15 bits; kit does not
        # reproduce that corner, which needs scales 100x apart
        _refuse(f"input scale {_scale(source):.6g} and output scale {_scale(output):.6g} need a right shift "
                "beyond 15 bits in TFLM's 16-bit hard-swish arithmetic")
    return {
        "input_zero_point": _zero_point(source),
        "output_zero_point": _zero_point(output),
        "reluish_multiplier": reluish_multiplier,
        "reluish_exponent": reluish_exponent,
        "output_multiplier": output_multiplier,
        "output_exponent": output_exponent,
        "size": source.num_elements,
    }


_TRANSPOSE_MAX_DIMS = 6


def _resolve_transpose(model: Model, operator: Operator) -> dict[str, Any]:
    """A permutation of up to 6 dims (TFLM's limit); a byte gather, quantization unchanged."""
    source, perm_tensor, output = _input(model, operator, 0), _input(model, operator, 1), _output(model, operator)
    _require_int8_activation(source, "input")
    _require_int8_activation(output, "output")
    _require_same_quantization(source, output)
    rank = len(source.shape)
    perm = [p + rank if p < 0 else p for p in _constant_ints(perm_tensor, "perm")]
    if sorted(perm) != list(range(rank)):
        _refuse(f"perm {perm} is not a permutation of the {rank} input dims")
    if rank > _TRANSPOSE_MAX_DIMS:
        _refuse(f"transpose of {rank} dims; TFLM transposes at most {_TRANSPOSE_MAX_DIMS}")
    expected = [int(source.shape[p]) for p in perm]
    if expected != [int(d) for d in output.shape]:
        _refuse(f"output shape {list(output.shape)} is not the input {list(source.shape)} permuted by {perm}")
    strides = [int(np.prod(source.shape[d + 1 :], dtype=np.int64)) for d in range(rank)]
    return {"perm": perm, "output_shape": expected, "input_stride": [strides[p] for p in perm]}


def _gather_of(source: Tensor, output: Tensor, index: tuple[object, ...]) -> dict[str, Any]:
    """The strided gather (start, per-output-dim input strides) that numpy's basic indexing of
    the input with `index` performs: TFLite's slices follow Python's rules (negative begins,
    clamped ends, negative strides), so the map is taken from an index array, then checked."""
    offsets = np.arange(int(source.num_elements), dtype=np.int64).reshape([int(d) for d in source.shape])[index]
    shape = [int(d) for d in offsets.shape]
    if offsets.size == 0:
        _refuse(f"the slice of {list(source.shape)} is empty")
    if int(np.prod(shape, dtype=np.int64)) != output.num_elements:
        _refuse(f"the slice of {list(source.shape)} has shape {shape}, the file says {list(output.shape)}")
    if len(shape) > _TRANSPOSE_MAX_DIMS:
        _refuse(f"slice with {len(shape)} output dims; kit gathers at most {_TRANSPOSE_MAX_DIMS}")
    start = int(offsets.reshape(-1)[0])
    strides = [int(np.take(offsets, 1, axis=d).reshape(-1)[0]) - start if shape[d] > 1 else 0 for d in range(len(shape))]
    grid = np.indices(shape).reshape(len(shape), -1) if shape else np.zeros((0, 1), np.int64)
    if not np.array_equal(start + np.asarray(strides, np.int64) @ grid, offsets.reshape(-1)):
        _refuse("the slice is not a strided gather")
    return {"output_shape": shape or [1], "input_stride": strides or [0], "start": start}


def _slice_tensors(model: Model, operator: Operator) -> tuple[Tensor, Tensor]:
    source, output = _input(model, operator, 0), _output(model, operator)
    _require_int8_activation(source, "input")
    _require_int8_activation(output, "output")
    _require_same_quantization(source, output)
    return source, output


def _resolve_strided_slice(model: Model, operator: Operator) -> dict[str, Any]:
    """STRIDED_SLICE of an activation (slices of constants were folded): begin/end masks,
    shrink axes and negative strides, evaluated on the host into one gather."""
    source, output = _slice_tensors(model, operator)
    options = operator.options
    if options.get("ellipsis_mask", 0) or options.get("new_axis_mask", 0) or options.get("offset", False):
        _refuse("ellipsis, new-axis and offset masks are not supported (slice each axis explicitly)")
    begin, end, strides = (_constant_ints(_input(model, operator, i), name)
                           for i, name in ((1, "begin"), (2, "end"), (3, "strides")))
    if not len(begin) == len(end) == len(strides) == len(source.shape) or 0 in strides:
        _refuse(f"begin {begin}, end {end} and strides {strides} do not fit an input of rank {len(source.shape)}")
    index: list[object] = []
    for dim, (first, last, step) in enumerate(zip(begin, end, strides)):
        if options.get("shrink_axis_mask", 0) >> dim & 1:
            if not -source.shape[dim] <= first < source.shape[dim]:
                _refuse(f"shrunk axis {dim} index {first} outside 0..{source.shape[dim] - 1}")
            index.append(first)
            continue
        index.append(slice(None if options.get("begin_mask", 0) >> dim & 1 else first,
                           None if options.get("end_mask", 0) >> dim & 1 else last, step))
    return _gather_of(source, output, tuple(index))


def _resolve_slice(model: Model, operator: Operator) -> dict[str, Any]:
    """SLICE(input, begin, size): size -1 runs to the end of the dim."""
    source, output = _slice_tensors(model, operator)
    begin = _constant_ints(_input(model, operator, 1), "begin")
    size = _constant_ints(_input(model, operator, 2), "size")
    rank = len(source.shape)
    if len(begin) != rank or len(size) != rank:
        _refuse(f"begin {begin} and size {size} do not fit an input of rank {rank}")
    index = []
    for dim, (first, count) in enumerate(zip(begin, size)):
        stop = int(source.shape[dim]) if count == -1 else first + count
        if not 0 <= first <= stop <= source.shape[dim]:
            _refuse(f"slice of dim {dim} from {first} size {count} leaves 0..{source.shape[dim]}")
        index.append(slice(first, stop))
    return _gather_of(source, output, tuple(index))


def _resize_tensors(model: Model, operator: Operator) -> tuple[Tensor, Tensor, bool, bool]:
    """Input, output and the two coordinate flags of a RESIZE_* op, checked as TFLM's Prepare
    checks them: a constant [height, width] size, 4-D NHWC, equal quantization (int8 resizes
    copy and blend raw values)."""
    source, size_tensor, output = _input(model, operator, 0), _input(model, operator, 1), _output(model, operator)
    _require_int8_activation(source, "input")
    _require_int8_activation(output, "output")
    _require_same_quantization(source, output)
    batches, _, _, channels = _nhwc(source, "input")
    size = _constant_ints(size_tensor, "size")
    if len(size) != 2 or min(size) < 1:
        _refuse(f"size {size} must be a positive [height, width]")
    if list(_nhwc(output, "output")) != [batches, size[0], size[1], channels]:
        _refuse(f"output shape {list(output.shape)} does not match size {size}")
    align_corners = bool(operator.options.get("align_corners", False))
    half_pixel_centers = bool(operator.options.get("half_pixel_centers", False))
    if align_corners and half_pixel_centers:
        _refuse("align_corners and half_pixel_centers together are not supported by TFLM")
    return source, output, align_corners, half_pixel_centers


def _nearest_indices(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> list[int]:
    """TFLM GetNearestNeighbor for every output index, in float32 as TFLM computes it."""
    f32 = np.float32
    scale = f32(in_size - 1) / f32(out_size - 1) if align_corners and out_size > 1 else f32(in_size) / f32(out_size)
    offset = f32(0.5) if half_pixel_centers else f32(0.0)
    indices = []
    for value in range(out_size):
        scaled = float((f32(value) + offset) * scale)
        index = min(quant.round_half_away(scaled) if align_corners else math.floor(scaled), in_size - 1)
        indices.append(max(0, index) if half_pixel_centers else index)
    return indices


def _resolve_resize_nearest_neighbor(model: Model, operator: Operator) -> dict[str, Any]:
    source, output, align_corners, half_pixel_centers = _resize_tensors(model, operator)
    return {
        "y_map": _nearest_indices(source.shape[1], output.shape[1], align_corners, half_pixel_centers),
        "x_map": _nearest_indices(source.shape[2], output.shape[2], align_corners, half_pixel_centers),
    }


def _scale_10(in_size: int, out_size: int, align_corners: bool) -> int:
    """TFLM ResizeBilinearInteger's input/output ratio in 1/1024, rounded (C integer division)."""
    if align_corners and out_size > 1:
        return ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    return ((1 << 10) * in_size + out_size // 2) // out_size


def _resolve_resize_bilinear(model: Model, operator: Operator) -> dict[str, Any]:
    source, output, align_corners, half_pixel_centers = _resize_tensors(model, operator)
    return {
        "height_scale_10": _scale_10(source.shape[1], output.shape[1], align_corners),
        "width_scale_10": _scale_10(source.shape[2], output.shape[2], align_corners),
        "half_pixel_centers": half_pixel_centers,
    }


def _resolve_tile(model: Model, operator: Operator) -> dict[str, Any]:
    """TILE of an int8 activation by constant multiples (TFLM has no TILE kernel; TensorFlow
    Lite's is a copy, so is kit's)."""
    source, multiples_tensor, output = _input(model, operator, 0), _input(model, operator, 1), _output(model, operator)
    _require_int8_activation(source, "input")
    _require_int8_activation(output, "output")
    _require_same_quantization(source, output)
    rank = len(source.shape)
    multiples = _constant_ints(multiples_tensor, "multiples")
    if not 1 <= rank <= _TRANSPOSE_MAX_DIMS or len(multiples) != rank or min(multiples) < 1:
        _refuse(f"multiples {multiples} do not fit an input of rank {rank} (at most {_TRANSPOSE_MAX_DIMS} dims)")
    expected = [int(d) * m for d, m in zip(source.shape, multiples)]
    if expected != [int(d) for d in output.shape]:
        _refuse(f"output shape {list(output.shape)} is not the input {list(source.shape)} tiled {multiples}")
    strides = [int(np.prod(source.shape[d + 1 :], dtype=np.int64)) for d in range(rank)]
    return {"input_shape": [int(d) for d in source.shape], "output_shape": expected, "input_stride": strides}


_Lowering = Callable[[Model, Operator], dict[str, Any]]


def _lowering(spec: OpSpec) -> _Lowering:
    """The function kit.compile.ops names for `spec`; looked up once at import, so an entry
    without its function fails every test at once instead of one model at a time."""
    function = globals().get(spec.planner)
    if not callable(function):
        raise LookupError(f"kit.compile.ops names {spec.planner} as the planner function of {spec.name}, "
                          "but kit.compile.planner defines no such function")
    return function


_RESOLVERS: dict[str, _Lowering] = {spec.name: _lowering(spec) for spec in OPS}


# ---------------------------------------------------------------------------- whole model


def _check_input_count(operator: Operator) -> None:
    fewest, most = OPS_BY_NAME[operator.op].inputs
    count = len(operator.inputs)
    if count < fewest or (most is not None and count > most):
        expected = f"{fewest}" if fewest == most else f"{fewest} to {most}" if most else f"at least {fewest}"
        _refuse(f"{count} inputs, {operator.op} takes {expected}")


def _padded_inputs(operator: Operator) -> list[int]:
    """The op's inputs with absent optional ones as -1, so kernels may read every position
    (a FULLY_CONNECTED written without its bias has two inputs; its kernel reads the third)."""
    inputs = [int(i) for i in operator.inputs]
    return inputs + [-1] * (OPS_BY_NAME[operator.op].padded_inputs - len(inputs))


def _check_ops_known(model: Model) -> None:
    for operator in model.operators:
        if operator.op not in _RESOLVERS:
            name = operator.custom_code if operator.op == "CUSTOM" and operator.custom_code else operator.op
            raise ModelError(
                f"node {operator.index} ({name}): op {name} is not supported by kit "
                f"(supported: {', '.join(SUPPORTED_OPS)})",
                _SUPPORTED_HINT,
            )


def _check_graph(model: Model) -> None:
    if model.num_subgraphs != 1:
        raise ModelError(
            f"the model has {model.num_subgraphs} subgraphs; kit supports single-graph models (no control flow)",
            _SUPPORTED_HINT,
        )
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ModelError(
            f"the model has {len(model.inputs)} inputs and {len(model.outputs)} outputs; kit supports one of each",
            "export a model with a single input tensor and a single output tensor",
        )
    if not model.operators:
        raise ModelError("the model has no operators", "export a model that computes something")
    _check_graph_io(model)
    _check_data_flow(model)
    for tensor in model.tensors:
        if any(d == 0 for d in tensor.shape):
            raise ModelError(
                f"tensor {tensor.index} ('{tensor.name}') has a zero-size dimension {list(tensor.shape)}",
                "the model file is damaged or exported with an empty dimension; export it again",
            )
        if any(d < 0 for d in tensor.shape):
            raise ModelError(
                f"tensor {tensor.index} ('{tensor.name}') has a dynamic shape {list(tensor.shape)}",
                "export the model with a fixed input shape (batch size 1)",
            )
        if any(d > _MAX_DIM for d in tensor.shape) or _elements_bound(tensor.shape) > _MAX_TENSOR_ELEMENTS:
            raise ModelError(
                f"tensor {tensor.index} ('{tensor.name}') has an impossible shape {list(tensor.shape)}",
                "the model file is damaged or far too large for a microcontroller",
            )
        if tensor.is_constant and tensor.dtype in DTYPE_NUMPY and len(tensor.data or b"") != tensor.nbytes:
            raise ModelError(
                f"tensor {tensor.index} ('{tensor.name}') holds {len(tensor.data or b'')} bytes for shape "
                f"{list(tensor.shape)} ({tensor.nbytes} expected)",
                "the model file is damaged; export it again",
            )


_DAMAGED_GRAPH_HINT = "the model file is damaged or hand-edited; export it again with the TensorFlow Lite converter"


def _check_graph_io(model: Model) -> None:
    """The model input is written by the caller and the output read by it: neither may be a
    constant (TFLM would hand back the weights; kit's arena has no place for them)."""
    for role, index in (("input", model.inputs[0]), ("output", model.outputs[0])):
        tensor = model.tensors[index]
        if tensor.is_constant:
            raise ModelError(
                f"the model {role} is tensor {index} ('{tensor.name}'), a constant (weights or a shape operand)",
                _DAMAGED_GRAPH_HINT,
            )


def _check_data_flow(model: Model) -> None:
    """Ops run in file order: each one must read only the model input, constants or what an
    earlier op wrote, and no op may overwrite the model input. TFLM runs such graphs anyway
    and reads whatever bytes its arena holds, so nothing defined can be matched."""
    written = {model.inputs[0]}
    for operator in model.operators:
        for index in operator.inputs:
            if index < 0 or index in written or model.tensors[index].is_constant:
                continue
            raise ModelError(
                f"node {operator.index} ({operator.op}) reads tensor {index} ('{model.tensors[index].name}') "
                "before any op writes it (operators out of order, or a second model input)",
                _DAMAGED_GRAPH_HINT,
            )
        for index in operator.outputs:
            if index == model.inputs[0] or model.tensors[index].is_constant:
                raise ModelError(
                    f"node {operator.index} ({operator.op}) writes tensor {index} ('{model.tensors[index].name}'), "
                    "which is the model input or a constant",
                    _DAMAGED_GRAPH_HINT,
                )
            written.add(index)
    if model.outputs[0] not in written:
        index = model.outputs[0]
        raise ModelError(
            f"the model output, tensor {index} ('{model.tensors[index].name}'), is written by no op",
            _DAMAGED_GRAPH_HINT,
        )


_MAX_DIM = 1 << 24
_MAX_TENSOR_ELEMENTS = 1 << 31


def _elements_bound(shape: tuple[int, ...]) -> int:
    """Element count with Python integers (numpy's int64 product could overflow)."""
    count = 1
    for dim in shape:
        count *= int(dim)
    return count


_INT16_HINT = (
    "quantize the model to int8 instead: `kit train` does (kit.train.quantize); with TensorFlow's "
    "converter, give target_spec.supported_ops only tf.lite.OpsSet.TFLITE_BUILTINS_INT8 (not "
    "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8) and set inference_input_type and "
    "inference_output_type to tf.int8; `kit import MODEL.onnx` writes int8 too"
)


def _check_no_int16_activations(model: Model) -> None:
    """16x8 quantization (int16 activations, int8 weights, picked for audio) is refused at the
    first op that reads or writes an int16 activation, before folding, so the node index and
    tensor are the file's own."""
    for operator in model.operators:
        for index in (*operator.inputs, *operator.outputs):
            tensor = model.tensors[index] if 0 <= index < len(model.tensors) else None
            if tensor is not None and tensor.dtype == "int16" and not tensor.is_constant:
                raise ModelError(
                    f"node {operator.index} ({operator.op}): tensor '{tensor.name}' is an int16 activation: the "
                    "model uses 16x8 quantization (int16 activations, int8 weights), which kit does not run "
                    "(kit runs int8 activations only)",
                    _INT16_HINT,
                )


def resolve_params(model: Model) -> list[dict[str, Any]]:
    """Check every op and resolve its parameters; ModelError names the first refused node.
    The params belong to the folded graph (kit.compile.fold), one per op of fold_model(model)."""
    _check_no_int16_activations(model)
    return _resolve_folded(fold_model(model))


def _resolve_folded(model: Model) -> list[dict[str, Any]]:
    _check_ops_known(model)
    _check_graph(model)
    resolved = []
    for operator in model.operators:
        try:
            _check_input_count(operator)
            resolved.append(_RESOLVERS[operator.op](model, operator))
        except _Refusal as refusal:
            raise _model_error(operator, str(refusal)) from None
        except (ValueError, ArithmeticError) as error:  # the quant math on values that parse but make no sense
            raise _model_error(operator, f"cannot resolve its parameters ({error})") from None
    return resolved


def check_supported(model: Model) -> None:
    """Raise ModelError if kit cannot compile this model (op, type, option or graph shape)."""
    resolve_params(model)


def _arena_tensors(model: Model) -> list[int]:
    used = set(model.inputs) | set(model.outputs)
    for operator in model.operators:
        used.update(t for t in operator.inputs + operator.outputs if t >= 0)
    return sorted(t for t in used if not model.tensors[t].is_constant)


def _lifetimes(model: Model, tensors: list[int]) -> dict[int, list[int]]:
    """First and last op position (in the folded graph, not node index) using each tensor."""
    last_op = len(model.operators) - 1
    spans = {t: [last_op + 1, -1] for t in tensors}
    for position, operator in enumerate(model.operators):
        for t in operator.inputs + operator.outputs:
            if t in spans:
                spans[t][0] = min(spans[t][0], position)
                spans[t][1] = max(spans[t][1], position)
    for t in model.inputs:
        spans[t][0] = 0
    for t in model.outputs:
        spans[t][1] = last_op
    return spans


def _allow_in_place(model: Model, params: list[dict[str, Any]], owner: dict[int, int],
                    buffers: dict[str, Buffer]) -> None:
    """Let each op's output share bytes with the inputs that die at it, as far below them as
    kit.compile.overlap finds safe for the op's kernel."""
    for position, (operator, op_params) in enumerate(zip(model.operators, params)):
        if operator.op == "RESHAPE" or len(operator.outputs) != 1 or operator.outputs[0] not in owner:
            continue
        output = buffers[f"t{owner[operator.outputs[0]]}"]
        if output.first != position:
            continue
        for index, delta in input_deltas(model, operator, op_params).items():
            source = buffers.get(f"t{owner[index]}") if index in owner else None
            if source is not None and source is not output and source.last == position:
                output.below[source.key] = max(delta, output.below.get(source.key, 0))
        for index in same_offset_inputs(operator, op_params):
            source = buffers.get(f"t{owner[index]}") if index in owner else None
            # an input read in another role too (a residual of the convolution's own input) keeps
            # only that role's `below` constraint: permissions of one buffer must all hold
            roles = [i for i in operator.inputs if i >= 0 and owner.get(i) == owner.get(index)]
            if (source is not None and source is not output and source.last == position
                    and source.size == output.size and len(roles) == 1):
                output.same.add(source.key)


def plan_arena(model: Model, params: list[dict[str, Any]]) -> tuple[dict[int, int], int, list[Buffer]]:
    """Offsets for every arena tensor (RESHAPE outputs share their input, in-place outputs may
    overlap a dying input); the kernels' scratch gets its own buffers (params scratch_offset /
    scratch_bytes)."""
    tensors = _arena_tensors(model)
    spans = _lifetimes(model, tensors)
    owner = {t: t for t in tensors}
    for operator, op_params in zip(model.operators, params):
        if operator.op == "RESHAPE" and operator.inputs[0] in owner:
            source, target = owner[operator.inputs[0]], operator.outputs[0]
            owner[target] = source
            op_params["aliased"] = True
    buffers: dict[str, Buffer] = {}
    for t in tensors:
        root = owner[t]
        key = f"t{root}"
        first, last = spans[t]
        if key not in buffers:
            buffers[key] = Buffer(key, model.tensors[root].nbytes, first, last)
        buffer = buffers[key]
        buffer.first, buffer.last = min(buffer.first, first), max(buffer.last, last)
        buffer.size = max(buffer.size, model.tensors[t].nbytes)
    _allow_in_place(model, params, owner, buffers)
    scratch = _scratch_buffers(model, params)
    arena_bytes = place_buffers([*buffers.values(), *scratch.values()])
    for position, buffer in scratch.items():
        params[position].update(scratch_offset=buffer.offset, scratch_bytes=buffer.size)
    offsets = {t: buffers[f"t{owner[t]}"].offset for t in tensors}
    return offsets, arena_bytes, [*buffers.values(), *scratch.values()]


def _scratch_buffers(model: Model, params: list[dict[str, Any]]) -> dict[int, Buffer]:
    """One buffer per op whose kernel uses scratch (kit.compile.scratch), live during that op only."""
    scratch = {}
    for position, (operator, op_params) in enumerate(zip(model.operators, params)):
        size = scratch_bytes(model, operator, op_params)
        if size > 0:
            scratch[position] = Buffer(f"s{position}", size, position, position)
    return scratch


def _tensor_plan(tensor: Tensor, offset: int | None) -> TensorPlan:
    q = tensor.quantization
    return TensorPlan(
        index=tensor.index,
        name=tensor.name,
        shape=tuple(tensor.shape),
        dtype=tensor.dtype,
        scale=[float(s) for s in q.scale] if q else [],
        zero_point=[int(z) for z in q.zero_point] if q else [],
        quantized_dimension=q.quantized_dimension if q else 0,
        offset=offset,
        data=tensor.data if tensor.is_constant else None,
        nbytes=len(tensor.data) if tensor.is_constant and tensor.data is not None else tensor.nbytes,
    )


def build_plan(model: Model, model_id: str = "model") -> Plan:
    """The whole static plan: checked ops with resolved params, tensors with arena offsets.
    Constant shape arithmetic is folded first (kit.compile.fold), so every op is a kernel op."""
    _check_no_int16_activations(model)
    model = fold_model(model)
    model, params = fuse_conv_add(*run_shortcuts_early(model, _resolve_folded(model)))
    input_tensor = model.tensors[model.inputs[0]]
    if input_tensor.dtype != "int8":
        raise ModelError(
            f"the model input '{input_tensor.name}' is {input_tensor.dtype}; kit models take int8 input",
            "convert with inference_input_type=tf.int8 (and inference_output_type=tf.int8)",
        )
    offsets, arena_bytes, buffers = plan_arena(model, params)
    tensors = [_tensor_plan(tensor, offsets.get(tensor.index)) for tensor in model.tensors]
    ops = [
        OpPlan(index=operator.index, op=operator.op, inputs=_padded_inputs(operator), outputs=list(operator.outputs), params=p)
        for operator, p in zip(model.operators, params)
    ]
    return Plan(
        tensors=tensors,
        ops=ops,
        input_index=model.inputs[0],
        output_index=model.outputs[0],
        arena_bytes=arena_bytes,
        model_sha256=model.sha256,
        model_id=model_id,
    )
