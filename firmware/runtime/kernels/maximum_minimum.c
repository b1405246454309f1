/* MAXIMUM and MINIMUM int8 (TFLM reference_ops::MaximumMinimumBroadcastSlow): the raw int8
 * values are compared as they are, without rescaling (the converter gives both inputs and the
 * output one quantization), with 4-D broadcasting. */
#include "kit_broadcast.h"
#include "kit_kernels.h"

static int8_t pick(int8_t a, int8_t b, int maximum) {
    if (maximum) {
        return a > b ? a : b;
    }
    return a < b ? a : b;
}

static int maximum_minimum(const kit_op_t *op, const kit_model_t *m, uint8_t *arena, int maximum) {
    const kit_binary_params_t *p = (const kit_binary_params_t *)op->params;
    const int8_t *in1 = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    const int8_t *in2 = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[1]);
    int8_t *out = (int8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    const kit_strides4_t s1 = kit_broadcast_strides(&p->input1, &p->output);
    const kit_strides4_t s2 = kit_broadcast_strides(&p->input2, &p->output);
    int32_t n, h, w, c;
    size_t o = 0;
    for (n = 0; n < p->output.n; ++n) {
        for (h = 0; h < p->output.h; ++h) {
            for (w = 0; w < p->output.w; ++w) {
                for (c = 0; c < p->output.c; ++c) {
                    const int32_t i1 = n * s1.n + h * s1.h + w * s1.w + c * s1.c;
                    const int32_t i2 = n * s2.n + h * s2.h + w * s2.w + c * s2.c;
                    out[o++] = pick(in1[i1], in2[i2], maximum);
                }
            }
        }
    }
    return KIT_OK;
}

int kit_op_maximum(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    return maximum_minimum(op, m, arena, 1);
}

int kit_op_minimum(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    return maximum_minimum(op, m, arena, 0);
}
