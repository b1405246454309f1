/* TILE: the input repeated multiples[d] times along every dim d, a copy (quantization
 * unchanged). Keras UpSampling2D(interpolation="nearest") converts to EXPAND_DIMS -> TILE ->
 * RESHAPE. Output elements in order; the input coordinate of dim d is the output's modulo
 * input_shape[d], tracked incrementally. */
#include "kit_kernels.h"

int kit_op_tile(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    const kit_tile_params_t *p = (const kit_tile_params_t *)op->params;
    const int8_t *input = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    int8_t *output = (int8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    int32_t out_index[KIT_TILE_MAX_DIMS] = {0, 0, 0, 0, 0, 0};
    int32_t in_index[KIT_TILE_MAX_DIMS] = {0, 0, 0, 0, 0, 0};
    int32_t total = 1, offset = 0, i, d;
    if (p->rank < 1 || p->rank > KIT_TILE_MAX_DIMS) {
        return KIT_ERR_BAD_PARAMS;
    }
    for (d = 0; d < p->rank; ++d) {
        total *= p->output_shape[d];
    }
    for (i = 0; i < total; ++i) {
        output[i] = input[offset];
        /* odometer step; output_shape[d] is a multiple of input_shape[d], so the input
         * coordinate has wrapped to 0 whenever the output one does */
        for (d = p->rank - 1; d >= 0; --d) {
            if (++in_index[d] == p->input_shape[d]) {
                in_index[d] = 0;
                offset -= p->input_stride[d] * (p->input_shape[d] - 1);
            } else {
                offset += p->input_stride[d];
            }
            if (++out_index[d] < p->output_shape[d]) {
                break;
            }
            out_index[d] = 0;
        }
    }
    return KIT_OK;
}
