/* TRANSPOSE (TFLM reference_ops::Transpose), STRIDED_SLICE and SLICE (reference_ops::
 * StridedSlice / Slice): one gather; output elements in order, each read from the input
 * offset start + sum(index_d * input_stride_d) (strides may be negative). Quantization is
 * unchanged. */
#include <string.h>

#include "kit_kernels.h"

static int gather(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    const kit_transpose_params_t *p = (const kit_transpose_params_t *)op->params;
    const uint8_t *input = (const uint8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    uint8_t *output = (uint8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    int32_t index[KIT_TRANSPOSE_MAX_DIMS] = {0, 0, 0, 0, 0, 0};
    int32_t total = 1, offset = p->start, i, d;
    if (p->rank < 1 || p->rank > KIT_TRANSPOSE_MAX_DIMS || p->element_bytes < 1) {
        return KIT_ERR_BAD_PARAMS;
    }
    for (d = 0; d < p->rank; ++d) {
        total *= p->output_shape[d];
    }
    for (i = 0; i < total; ++i) {
        memcpy(output + (size_t)i * (size_t)p->element_bytes, input + (size_t)offset * (size_t)p->element_bytes,
               (size_t)p->element_bytes);
        for (d = p->rank - 1; d >= 0; --d) { /* odometer step over the output index */
            offset += p->input_stride[d];
            if (++index[d] < p->output_shape[d]) {
                break;
            }
            offset -= p->input_stride[d] * p->output_shape[d];
            index[d] = 0;
        }
    }
    return KIT_OK;
}

int kit_op_transpose(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    return gather(op, m, arena);
}

int kit_op_strided_slice(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    return gather(op, m, arena);
}

int kit_op_slice(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    return gather(op, m, arena);
}
