/* PRELU int8 (TFLM reference_ops::BroadcastPrelu4DSlow): x >= 0 (after the input offset) is
 * rescaled by multiplier 1 (in / out), x < 0 is multiplied by the offset alpha and rescaled
 * by multiplier 2 (in * alpha / out); alpha broadcasts in 4-D (one per channel, or one for
 * all). The params are ADD's struct: input1 = x, input2 = alpha, their offsets and
 * multipliers. */
#include "kit_broadcast.h"
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

int kit_op_prelu(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    const kit_binary_params_t *p = (const kit_binary_params_t *)op->params;
    const int8_t *input = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    const int8_t *alpha = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[1]);
    int8_t *out = (int8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    const kit_strides4_t s1 = kit_broadcast_strides(&p->input1, &p->output);
    const kit_strides4_t s2 = kit_broadcast_strides(&p->input2, &p->output);
    int32_t n, h, w, c;
    size_t o = 0;
    for (n = 0; n < p->output.n; ++n) {
        for (h = 0; h < p->output.h; ++h) {
            for (w = 0; w < p->output.w; ++w) {
                for (c = 0; c < p->output.c; ++c) {
                    const int32_t x = p->input1_offset + input[n * s1.n + h * s1.h + w * s1.w + c * s1.c];
                    int32_t y;
                    if (x >= 0) {
                        y = kit_mbqm(x, p->input1_multiplier, p->input1_shift);
                    } else {
                        const int32_t a = p->input2_offset + alpha[n * s2.n + h * s2.h + w * s2.w + c * s2.c];
                        y = kit_mbqm(x * a, p->input2_multiplier, p->input2_shift);
                    }
                    out[o++] = (int8_t)kit_clamp_i32(y + p->output_offset, p->activation_min, p->activation_max);
                }
            }
        }
    }
    return KIT_OK;
}
