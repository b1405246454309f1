/* TANH int8 (TFLM reference_integer_ops::Tanh): inputs beyond +-input_range_radius saturate,
 * the rest go through gemmlowp's fixed-point tanh on a Q4.27 input; the output has scale
 * 1/128 and zero point 0 (the planner checks), so it is the Q0.31 result shifted down by 24. */
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

#define INPUT_INTEGER_BITS 4
#define OUTPUT_FRACTIONAL_BITS 7

/* (1 - a) / (1 + a) for a in [0, 1), Q0.31 in and out: Newton-Raphson for 1 / (1 + a) in
 * Q2.29 (as kit_one_over_one_plus_x_for_x_in_0_1), then x - 1 rescaled from Q2 to Q0. */
static int32_t kit_one_minus_x_over_one_plus_x_for_x_in_0_1(int32_t a) {
    const int32_t half_denominator = kit_rounding_half_sum(a, INT32_MAX);
    const int32_t constant_48_over_17 = 1515870810;
    const int32_t constant_neg_32_over_17 = -1010580540;
    const int32_t f2_one = (int32_t)1 << 29;
    int32_t x = kit_wrap_add(constant_48_over_17, kit_srdhm(half_denominator, constant_neg_32_over_17));
    int i;
    for (i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = kit_srdhm(half_denominator, x);
        const int32_t one_minus = kit_wrap_sub(f2_one, half_denominator_times_x);
        x = kit_wrap_add(x, kit_rescale(kit_srdhm(x, one_minus), 4, 2));
    }
    return kit_rescale(kit_wrap_sub(x, f2_one), 2, 0);
}

/* gemmlowp tanh(a), a in Q(integer_bits): -tanh(-|a|) from exp(-2|a|), sign restored. */
static int32_t kit_tanh_fixed(int32_t a, int integer_bits) {
    const int32_t negative = a < 0 ? a : kit_wrap_sub(0, a);
    /* ExactMulByPot<1>: the same raw value read with one more integer bit, i.e. 2 * n */
    const int32_t t = kit_one_minus_x_over_one_plus_x_for_x_in_0_1(kit_exp_on_negative_values(negative, integer_bits + 1));
    if (a == 0) {
        return 0;
    }
    return a < 0 ? kit_wrap_sub(0, t) : t;
}

int kit_op_tanh(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    const kit_logistic_params_t *p = (const kit_logistic_params_t *)op->params;
    const int8_t *input = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    int8_t *output = (int8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        const int32_t x = (int32_t)input[i] - p->input_zero_point;
        if (x <= -p->input_range_radius) {
            output[i] = -128;
        } else if (x >= p->input_range_radius) {
            output[i] = 127;
        } else {
            const int32_t in_q4 = kit_mbqm(x, p->input_multiplier, p->input_left_shift);
            const int32_t out_q0 = kit_tanh_fixed(in_q4, INPUT_INTEGER_BITS);
            const int32_t out_q7 = kit_rounding_divide_by_pot(out_q0, 31 - OUTPUT_FRACTIONAL_BITS);
            output[i] = (int8_t)kit_clamp_i32(out_q7, -128, 127);
        }
    }
    return KIT_OK;
}
