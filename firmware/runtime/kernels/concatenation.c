/* CONCATENATION: inputs share the output's quantization, so concatenation along any axis
 * is a sequence of byte copies (outer_size steps, copy_sizes[i] bytes from input i). */
#include <string.h>

#include "kit_kernels.h"

int kit_op_concatenation(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    const kit_concat_params_t *p = (const kit_concat_params_t *)op->params;
    uint8_t *out = (uint8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    int32_t outer, i;
    for (outer = 0; outer < p->outer_size; ++outer) {
        for (i = 0; i < p->num_inputs; ++i) {
            const uint8_t *in = (const uint8_t *)kit_tensor_const_ptr(m, arena, op->inputs[i]);
            const size_t size = (size_t)p->copy_sizes[i];
            memcpy(out, in + (size_t)outer * size, size);
            out += size;
        }
    }
    return KIT_OK;
}
