/* LOGISTIC int8 (TFLM reference_integer_ops::Logistic): inputs beyond +-input_range_radius
 * saturate, the rest go through gemmlowp's fixed-point logistic in Q4.27. */
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

#define INPUT_INTEGER_BITS 4
#define OUTPUT_INTEGER_BITS 8

int kit_op_logistic(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
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
            const int32_t out_q0 = kit_logistic_fixed(in_q4, INPUT_INTEGER_BITS);
            const int32_t out_q23 = kit_rounding_divide_by_pot(out_q0, 31 - OUTPUT_INTEGER_BITS);
            output[i] = (int8_t)kit_clamp_i32(out_q23 - 128, -128, 127);
        }
    }
    return KIT_OK;
}
