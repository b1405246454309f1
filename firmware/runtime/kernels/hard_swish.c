/* HARD_SWISH int8, x * relu6(x + 3) / 6, in TFLM's 16-bit fixed point
 * (reference_ops::HardSwish): the input on a 'high-resolution' scale (x * 2^7) is rescaled
 * once to the output scale and once to a 'relu-ish' value in [0, 1] (3.0 = 2^15), and the
 * two are multiplied. Every intermediate is an int16 as in TFLM; the planner keeps both
 * exponents within 15, where these int16 helpers agree with gemmlowp's. */
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

#define KIT_INT16_MIN (-32768)
#define KIT_INT16_MAX 32767

/* gemmlowp SaturatingRoundingDoublingHighMul for int16. */
static int32_t kit_srdhm16(int32_t a, int32_t b) {
    const int32_t ab = a * b;
    const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    if (a == KIT_INT16_MIN && b == KIT_INT16_MIN) {
        return KIT_INT16_MAX;
    }
    return (int32_t)(int16_t)((ab + nudge) / (1 << 15));
}

/* TFLM SaturatingDoublingHighMul: like the above but truncating toward zero. */
static int32_t kit_sdhm16(int32_t a, int32_t b) {
    if (a == KIT_INT16_MIN && b == KIT_INT16_MIN) {
        return KIT_INT16_MAX;
    }
    return (int32_t)(int16_t)((a * b) / (1 << 15));
}

static int32_t kit_saturating_left_shift16(int32_t value, int32_t amount) {
    const int64_t shifted = (int64_t)value * ((int64_t)1 << amount);
    return shifted > KIT_INT16_MAX ? KIT_INT16_MAX : shifted < KIT_INT16_MIN ? KIT_INT16_MIN : (int32_t)shifted;
}

int kit_op_hard_swish(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    const kit_hard_swish_params_t *p = (const kit_hard_swish_params_t *)op->params;
    const int8_t *input = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    int8_t *output = (int8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        const int32_t hires = ((int32_t)input[i] - p->input_zero_point) * (1 << 7);
        const int32_t preshift_output = kit_srdhm16(hires, p->output_multiplier);
        int32_t reluish = hires;
        int32_t value;
        if (p->reluish_exponent > 0) {
            reluish = kit_saturating_left_shift16(reluish, p->reluish_exponent - 1);
        }
        reluish = kit_srdhm16(reluish, p->reluish_multiplier);
        if (p->reluish_exponent > 0) {
            reluish = kit_saturating_left_shift16(reluish, 1);
        } else if (p->reluish_exponent < 0) {
            reluish = kit_rounding_divide_by_pot(reluish, -p->reluish_exponent);
        }
        reluish = (reluish + (1 << 15)) >> 1;
        value = kit_sdhm16(reluish, preshift_output);
        value = kit_rounding_divide_by_pot(value, -p->output_exponent) + p->output_zero_point;
        output[i] = (int8_t)kit_clamp_i32(value, -128, 127);
    }
    return KIT_OK;
}
