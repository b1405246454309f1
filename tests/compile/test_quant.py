"""Host-side quantization math, against hand-computed values of TFLM's formulas."""

from __future__ import annotations

import math

import pytest

from kit.compile import quant


def test_round_half_away_from_zero_like_std_round():
    assert quant.round_half_away(2.5) == 3
    assert quant.round_half_away(-2.5) == -3
    assert quant.round_half_away(0.5) == 1
    assert quant.round_half_away(0.49999) == 0
    assert quant.round_half_away(-0.4) == 0


@pytest.mark.parametrize(
    "real, expected",
    [
        (0.0, (0, 0)),  # zero is special-cased
        (0.5, (1 << 30, 0)),
        (1.0, (1 << 30, 1)),  # > 0.5 significand: shift 1
        (3.0, (1_610_612_736, 2)),  # 0.75 * 2^2
        (0.001, (1_099_511_628, -9)),  # 0.512 * 2^-9, rounded half away
        (2.0**-40, (0, 0)),  # shift < -31 flushes to zero
        (2.0**-31, (1 << 30, -30)),  # smallest kept exponent
        (1.0 - 2.0**-40, (1 << 30, 1)),  # significand rounds up to 2^31 and is halved
    ],
)
def test_quantize_multiplier_edge_cases(real, expected):
    assert quant.quantize_multiplier(real) == expected


def test_quantize_multiplier_reconstructs_the_value():
    for real in (1e-6, 0.0123, 0.7, 1.9, 37.5, 1234.0):
        multiplier, shift = quant.quantize_multiplier(real)
        assert (1 << 30) <= multiplier < (1 << 31)
        assert math.isclose(multiplier * 2.0 ** (shift - 31), real, rel_tol=1e-9)


def test_smaller_and_greater_than_one_guards():
    assert quant.quantize_multiplier_smaller_than_one(0.25)[1] == -1
    with pytest.raises(ValueError):
        quant.quantize_multiplier_smaller_than_one(1.0)
    assert quant.quantize_multiplier_greater_than_one(5.0)[1] == 3
    with pytest.raises(ValueError):
        quant.quantize_multiplier_greater_than_one(0.5)


def test_activation_ranges():
    assert quant.activation_range("NONE", 0.1, 3) == (-128, 127)
    assert quant.activation_range("RELU", 0.1, -128) == (-128, 127)
    assert quant.activation_range("RELU", 0.1, 10) == (10, 127)
    assert quant.activation_range("RELU6", 0.05, -128) == (-128, -8)  # 6 / 0.05 = 120
    assert quant.activation_range("RELU_N1_TO_1", 0.01, 0) == (-100, 100)
    assert quant.activation_range("RELU6", 0.01, 0) == (0, 127)  # 600 clamps to int8 max


def test_padding_matches_tflm_formulas():
    # kws first conv: 49x10 input, 10x4 kernel, stride 2, SAME
    assert quant.compute_out_size("SAME", 49, 10, 2, 1) == 25
    assert quant.compute_padding_with_offset(2, 1, 49, 10, 25) == (4, 1)
    assert quant.compute_out_size("VALID", 10, 3, 1, 2) == 6  # dilated kernel spans 5
    assert quant.compute_padding_with_offset(1, 2, 10, 3, 6) == (0, 0)
    assert quant.compute_out_size("SAME", 7, 3, 3, 1) == 3
    assert quant.compute_padding_with_offset(3, 1, 7, 3, 3) == (1, 0)


def test_input_radius_and_softmax_params():
    assert quant.calculate_input_radius(5, 20) == 31 * 64
    params = quant.softmax_params(1.0, 0.5)
    # beta * scale * 2^26 = 2^25 -> significand 0.5, shift 26
    assert params == {"input_multiplier": 1 << 30, "input_left_shift": 26, "diff_min": -quant.calculate_input_radius(5, 26)}
    capped = quant.softmax_params(1.0, 1e9)  # huge scale: the real multiplier is capped at 2^31 - 1
    assert capped["input_left_shift"] == 31


def test_logistic_params_keep_unnormalised_significand():
    params = quant.logistic_params(1.0 / 16)
    # 2^-4 * 2^27 = 2^23 = 0.5 * 2^24
    assert params["input_multiplier"] == 1 << 30 and params["input_left_shift"] == 24
    assert params["input_range_radius"] == quant.calculate_input_radius(4, 24, 31)


def test_add_params_use_left_shift_20():
    params = quant.add_params(0.5, 0.25, 1.0)
    assert params["left_shift"] == 20
    assert (params["input1_multiplier"], params["input1_shift"]) == (1 << 30, 0)  # 0.5 / 1.0
    assert (params["input2_multiplier"], params["input2_shift"]) == (1 << 30, -1)  # 0.25 / 1.0
    # 1.0 / (2^20 * 1.0) = 0.5 * 2^-19
    assert (params["output_multiplier"], params["output_shift"]) == (1 << 30, -19)


def test_mul_and_requantize_params():
    assert quant.mul_params(0.5, 0.5, 0.125) == {"output_multiplier": 1 << 30, "output_shift": 2}
    assert quant.requantize_params(0.1, 0.1) == {"output_multiplier": 1 << 30, "output_shift": 1}
