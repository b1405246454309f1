/* MEAN and SUM int8 over any set of axes (TFLM reference QuantizedMeanOrSum, integer version).
 * Each output element sums its input slice in int32 and requantizes once; one pass per
 * output element, so no scratch buffer. */
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

static int8_t finish(const kit_mean_params_t *p, int32_t sum) {
    const int32_t shifted_sum = sum - p->input_zero_point * p->num_elements_in_axis;
    const int32_t result = kit_mbqm(shifted_sum, p->multiplier, p->shift) + p->output_zero_point;
    return (int8_t)kit_clamp_i32(result, -128, 127);
}

static int reduce(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    const kit_mean_params_t *p = (const kit_mean_params_t *)op->params;
    const int8_t *input = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    int8_t *output = (int8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    const kit_shape4_t *in = &p->input;
    const int32_t span_n = (p->axis_mask & 1) ? in->n : 1;
    const int32_t span_h = (p->axis_mask & 2) ? in->h : 1;
    const int32_t span_w = (p->axis_mask & 4) ? in->w : 1;
    const int32_t span_c = (p->axis_mask & 8) ? in->c : 1;
    int32_t on, oh, ow, oc;
    size_t o = 0;
    if (p->num_elements_in_axis <= 0) {
        return KIT_ERR_BAD_PARAMS;
    }
    for (on = 0; on < p->output.n; ++on) {
        for (oh = 0; oh < p->output.h; ++oh) {
            for (ow = 0; ow < p->output.w; ++ow) {
                for (oc = 0; oc < p->output.c; ++oc) {
                    int32_t sum = 0;
                    int32_t n, h, w, c;
                    for (n = 0; n < span_n; ++n) {
                        for (h = 0; h < span_h; ++h) {
                            for (w = 0; w < span_w; ++w) {
                                for (c = 0; c < span_c; ++c) {
                                    const size_t i = ((((size_t)on + n) * in->h + oh + h) * in->w + ow + w) *
                                                         in->c + oc + c;
                                    sum += input[i];
                                }
                            }
                        }
                    }
                    output[o++] = finish(p, sum);
                }
            }
        }
    }
    return KIT_OK;
}

int kit_op_mean(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    return reduce(op, m, arena);
}

/* SUM: the same pass; the host left 1/count out of the multiplier. */
int kit_op_sum(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    return reduce(op, m, arena);
}
