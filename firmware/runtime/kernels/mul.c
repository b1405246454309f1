/* MUL int8 (TFLM reference_integer_ops::Mul / BroadcastMul4DSlow): product of the offset
 * inputs, requantized once.
 * Without broadcast, element i is read before element i is written and never again, so the
 * output may sit on an input (kit.compile.overlap). */
#include "kit_broadcast.h"
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

static int8_t mul_one(const kit_binary_params_t *p, int32_t a, int32_t b) {
    const int32_t product = (p->input1_offset + a) * (p->input2_offset + b);
    const int32_t raw = p->output_offset + kit_mbqm(product, p->output_multiplier, p->output_shift);
    return (int8_t)kit_clamp_i32(raw, p->activation_min, p->activation_max);
}

int kit_op_mul(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    const kit_binary_params_t *p = (const kit_binary_params_t *)op->params;
    const int8_t *in1 = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    const int8_t *in2 = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[1]);
    int8_t *out = (int8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    const kit_strides4_t s1 = kit_broadcast_strides(&p->input1, &p->output);
    const kit_strides4_t s2 = kit_broadcast_strides(&p->input2, &p->output);
    int32_t n, h, w, c;
    size_t o = 0;
    if (!p->requires_broadcast) {
        const int32_t size = kit_shape4_elements(&p->output);
        int32_t i;
        for (i = 0; i < size; ++i) {
            out[i] = mul_one(p, in1[i], in2[i]);
        }
        return KIT_OK;
    }
    for (n = 0; n < p->output.n; ++n) {
        for (h = 0; h < p->output.h; ++h) {
            for (w = 0; w < p->output.w; ++w) {
                for (c = 0; c < p->output.c; ++c) {
                    const int32_t i1 = n * s1.n + h * s1.h + w * s1.w + c * s1.c;
                    const int32_t i2 = n * s2.n + h * s2.h + w * s2.w + c * s2.c;
                    out[o++] = mul_one(p, in1[i1], in2[i2]);
                }
            }
        }
    }
    return KIT_OK;
}
