"""Fixed-point quantization math, computed on the host exactly as TFLM computes it in Prepare().

Bit-exactness with TensorFlow Lite Micro starts here: one ULP of difference in a multiplier
changes outputs. So each function mirrors the float/double precision TFLM uses (float32
where TFLM reads `params.scale` as float, double where it casts), and rounds like
TfLiteRound (std::round: halves away from zero, unlike Python's round()). TFLM is assumed
built without TFLITE_SINGLE_ROUNDING (its default).
"""

from __future__ import annotations

import math

import numpy as np

INT8_MIN, INT8_MAX = -128, 127


def round_half_away(value: float) -> int:
    """std::round: 2.5 -> 3, -2.5 -> -3 (Python's round() would give 2 and -2)."""
    return int(math.floor(abs(value) + 0.5)) * (1 if value >= 0 else -1)


MAX_LEFT_SHIFT = 30


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """QuantizeMultiplier: a double as (Q31 significand, power-of-two shift; >0 = left)."""
    q_fixed, shift = _significand_and_shift(real_multiplier)
    if shift > MAX_LEFT_SHIFT:
        # x * (1 << shift) overflows int32 in the reference kernels (undefined behaviour in C):
        # no int8 kernel can apply such a rescaling, so the model is refused, not miscomputed.
        raise ValueError(f"a requantization multiplier of {real_multiplier:.6g} needs a left shift of {shift} "
                         f"(the int8 kernels allow at most {MAX_LEFT_SHIFT}); the tensor scales are implausible")
    return q_fixed, shift


def _significand_and_shift(real_multiplier: float) -> tuple[int, int]:
    if real_multiplier == 0.0:
        return 0, 0
    significand, shift = math.frexp(real_multiplier)
    q_fixed = round_half_away(significand * (1 << 31))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:  # would shift every bit out: TFLM flushes such tiny multipliers to zero
        return 0, 0
    return q_fixed, shift


def quantize_multiplier_smaller_than_one(real_multiplier: float) -> tuple[int, int]:
    """QuantizeMultiplierSmallerThanOneExp: TFLM requires 0 < m < 1 (ADD's rescalings)."""
    if not 0.0 < real_multiplier < 1.0:
        raise ValueError(f"multiplier {real_multiplier} outside (0, 1)")
    return quantize_multiplier(real_multiplier)


def quantize_multiplier_greater_than_one(real_multiplier: float) -> tuple[int, int]:
    """QuantizeMultiplierGreaterThanOne: TFLM requires m > 1 (softmax input scaling)."""
    if not real_multiplier > 1.0:
        raise ValueError(f"multiplier {real_multiplier} not above 1")
    # Softmax caps this multiplier at 2^31 - 1 itself and its kernel takes a shift of 31.
    return _significand_and_shift(real_multiplier)


def f32(value: float) -> float:
    """Round a Python float to float32, as a C `float` field holds it."""
    return float(np.float32(value))


def quantize_value(scale: float, zero_point: int, value: float) -> int:
    """TFLM's Quantize() helper in kernel_util.cc: zero_point + round(value / scale) in float32."""
    quotient = np.float32(value) / np.float32(scale)
    return zero_point + round_half_away(float(quotient))


def activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for int8 outputs: clamp bounds of a fused activation."""
    if activation == "RELU":
        return max(INT8_MIN, quantize_value(scale, zero_point, 0.0)), INT8_MAX
    if activation == "RELU6":
        return (
            max(INT8_MIN, quantize_value(scale, zero_point, 0.0)),
            min(INT8_MAX, quantize_value(scale, zero_point, 6.0)),
        )
    if activation == "RELU_N1_TO_1":
        return (
            max(INT8_MIN, quantize_value(scale, zero_point, -1.0)),
            min(INT8_MAX, quantize_value(scale, zero_point, 1.0)),
        )
    return INT8_MIN, INT8_MAX


def conv_per_channel_multipliers(
    input_scale: float, filter_scales: list[float], output_scale: float, channels: int
) -> tuple[list[int], list[int]]:
    """PopulateConvolutionQuantizationParams: in*filter[c]/out in double, per output channel.

    A per-tensor filter scale is broadcast to every channel, as TFLM does.
    """
    multipliers, shifts = [], []
    for channel in range(channels):
        filter_scale = filter_scales[channel] if len(filter_scales) > 1 else filter_scales[0]
        effective = f32(input_scale) * f32(filter_scale) / f32(output_scale)
        multiplier, shift = quantize_multiplier(effective)
        multipliers.append(multiplier)
        shifts.append(shift)
    return multipliers, shifts


def convolution_multiplier_per_tensor(input_scale: float, filter_scale: float, output_scale: float) -> float:
    """GetQuantizedConvolutionMultipler: (double)in * (double)filter / (double)out."""
    return f32(input_scale) * f32(filter_scale) / f32(output_scale)


def compute_out_size(padding: str, image_size: int, filter_size: int, stride: int, dilation: int) -> int:
    """ComputeOutSize from TFLM's padding.h (C integer division truncates toward zero)."""
    effective_filter = (filter_size - 1) * dilation + 1
    if stride == 0:
        return 0
    if padding == "SAME":
        return _c_div(image_size + stride - 1, stride)
    if padding == "VALID":
        return _c_div(image_size + stride - effective_filter, stride)
    return 0


def compute_padding_with_offset(stride: int, dilation: int, in_size: int, filter_size: int, out_size: int) -> tuple[int, int]:
    """ComputePaddingWithOffset: (pad before, extra pad after) for one spatial dimension."""
    effective_filter = (filter_size - 1) * dilation + 1
    total = max((out_size - 1) * stride + effective_filter - in_size, 0)
    return total // 2, total % 2


def _c_div(a: int, b: int) -> int:
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b > 0) else -quotient


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    """CalculateInputRadius: the largest input difference that cannot overflow after rescaling."""
    max_input_rescaled = (
        1.0 * ((1 << input_integer_bits) - 1) * (1 << (total_signed_bits - input_integer_bits)) / (1 << input_left_shift)
    )
    return int(math.floor(max_input_rescaled))


SOFTMAX_SCALED_DIFF_INTEGER_BITS = 5


def softmax_params(beta: float, input_scale: float) -> dict[str, int]:
    """TFLM int8 softmax: PreprocessSoftmaxScaling + diff_min = -CalculateInputRadius(5, shift)."""
    bits = SOFTMAX_SCALED_DIFF_INTEGER_BITS
    real = min(f32(beta) * f32(input_scale) * (1 << (31 - bits)), (1 << 31) - 1.0)
    multiplier, left_shift = quantize_multiplier_greater_than_one(real)
    return {
        "input_multiplier": multiplier,
        "input_left_shift": left_shift,
        "diff_min": -calculate_input_radius(bits, left_shift),
    }


LOGISTIC_INPUT_INTEGER_BITS = 4


def logistic_params(input_scale: float) -> dict[str, int]:
    """TFLM int8 logistic: frexp of scale * 2^27, significand rounded to Q31 (no 2^31 fix-up)."""
    bits = LOGISTIC_INPUT_INTEGER_BITS
    real = f32(input_scale) * float(1 << (31 - bits))
    significand, left_shift = math.frexp(real)
    return {
        "input_multiplier": round_half_away(significand * (1 << 31)),
        "input_left_shift": left_shift,
        "input_range_radius": calculate_input_radius(bits, left_shift, 31),
    }


ADD_LEFT_SHIFT_INT8 = 20


def add_params(input1_scale: float, input2_scale: float, output_scale: float) -> dict[str, int]:
    """TFLM CalculateOpDataAdd for int8: rescale both inputs to 2*max scale with a 20-bit headroom."""
    left_shift = ADD_LEFT_SHIFT_INT8
    twice_max_input_scale = 2 * max(f32(input1_scale), f32(input2_scale))
    real_input1 = f32(input1_scale) / twice_max_input_scale
    real_input2 = f32(input2_scale) / twice_max_input_scale
    real_output = twice_max_input_scale / ((1 << left_shift) * f32(output_scale))
    input1_multiplier, input1_shift = quantize_multiplier_smaller_than_one(real_input1)
    input2_multiplier, input2_shift = quantize_multiplier_smaller_than_one(real_input2)
    output_multiplier, output_shift = quantize_multiplier_smaller_than_one(real_output)
    return {
        "left_shift": left_shift,
        "input1_multiplier": input1_multiplier,
        "input1_shift": input1_shift,
        "input2_multiplier": input2_multiplier,
        "input2_shift": input2_shift,
        "output_multiplier": output_multiplier,
        "output_shift": output_shift,
    }


def mul_params(input1_scale: float, input2_scale: float, output_scale: float) -> dict[str, int]:
    """TFLM CalculateOpDataMul for int8: one multiplier in1*in2/out (double)."""
    multiplier, shift = quantize_multiplier(f32(input1_scale) * f32(input2_scale) / f32(output_scale))
    return {"output_multiplier": multiplier, "output_shift": shift}


def requantize_params(input_scale: float, output_scale: float) -> dict[str, int]:
    """TFLM quantize (int8 -> int8) and reduce: QuantizeMultiplier(in / out) in double."""
    multiplier, shift = quantize_multiplier(f32(input_scale) / f32(output_scale))
    return {"output_multiplier": multiplier, "output_shift": shift}
