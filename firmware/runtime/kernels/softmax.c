/* SOFTMAX int8 -> int8 (TFLM reference_ops::Softmax<int8_t, int8_t>): differences to the
 * row max in Q5.26, gemmlowp exp, sum in Q12.19, fixed-point reciprocal. Output scale is
 * 1/256 with zero point -128. */
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

#define SCALED_DIFF_INTEGER_BITS 5
#define ACCUMULATION_INTEGER_BITS 12

static int32_t exp_of_diff(const kit_softmax_params_t *p, int32_t input_diff) {
    const int32_t rescaled = kit_mbqm_greater_than_one(input_diff, p->input_multiplier, p->input_left_shift);
    return kit_exp_on_negative_values(rescaled, SCALED_DIFF_INTEGER_BITS);
}

int kit_op_softmax(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    const kit_softmax_params_t *p = (const kit_softmax_params_t *)op->params;
    const int8_t *input = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    int8_t *output = (int8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    const int32_t depth = p->depth;
    int32_t row, c;
    for (row = 0; row < p->outer_size; ++row) {
        const int8_t *in = input + (size_t)row * depth;
        int8_t *out = output + (size_t)row * depth;
        int32_t max_in_row = -128;
        int32_t sum_of_exps = 0;
        int32_t shifted_scale;
        int num_bits_over_unit;
        int exponent;
        for (c = 0; c < depth; ++c) {
            max_in_row = kit_max_i32(max_in_row, in[c]);
        }
        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= p->diff_min) {
                sum_of_exps = kit_wrap_add(sum_of_exps, kit_rescale(exp_of_diff(p, diff), 0,
                                                                    ACCUMULATION_INTEGER_BITS));
            }
        }
        shifted_scale = kit_get_reciprocal(sum_of_exps, ACCUMULATION_INTEGER_BITS, &num_bits_over_unit);
        exponent = num_bits_over_unit + 31 - 8;
        if (exponent < 0 || exponent > 31) {
            return KIT_ERR_BAD_PARAMS;
        }
        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t unsat = kit_rounding_divide_by_pot(kit_srdhm(shifted_scale, exp_of_diff(p, diff)),
                                                                 exponent);
                out[c] = (int8_t)kit_clamp_i32(unsat - 128, -128, 127);
            } else {
                out[c] = -128;
            }
        }
    }
    return KIT_OK;
}
