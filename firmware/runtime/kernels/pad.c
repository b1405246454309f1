/* PAD int8 (4-D): fill with pad_value, then copy each input row to its padded place. */
#include <string.h>

#include "kit_kernels.h"

int kit_op_pad(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    const kit_pad_params_t *p = (const kit_pad_params_t *)op->params;
    const int8_t *input = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    int8_t *output = (int8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    const kit_shape4_t *in = &p->input, *out = &p->output;
    int32_t n, h, w;
    memset(output, (int8_t)p->pad_value, (size_t)kit_shape4_elements(out));
    for (n = 0; n < in->n; ++n) {
        for (h = 0; h < in->h; ++h) {
            for (w = 0; w < in->w; ++w) {
                const size_t src = (((size_t)n * in->h + h) * in->w + w) * in->c;
                const size_t dst = ((((size_t)n + p->before[0]) * out->h + h + p->before[1]) * out->w + w +
                                    p->before[2]) * out->c + p->before[3];
                memcpy(output + dst, input + src, (size_t)in->c);
            }
        }
    }
    return KIT_OK;
}
