/* FULLY_CONNECTED int8 (TFLM reference_integer_ops::FullyConnected and its per-channel
 * variant): one multiplier for per-tensor weights, one per output unit otherwise. Weights
 * are symmetric int8 (weights_offset is always 0: the planner refuses other zero points).
 *
 * With the compiler's kernel_bias (bias + input_offset * sum of the unit's weights) four
 * units share each input word and the inner loop has no offset to add; the compiler then
 * also stores each block of 4 units' weights interleaved (kit_mat_1x4_blocked), and units
 * past the last block in plain rows (kit_mat_1x4). */
#include "kit_dot.h"
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

static inline int8_t requantize(const kit_fc_params_t *p, int32_t acc, int32_t u) {
    const int32_t q = p->per_channel ? u : 0;
    acc = kit_mbqm(acc, p->output_multiplier[q], p->output_shift[q]) + p->output_offset;
    return (int8_t)kit_clamp_i32(acc, p->activation_min, p->activation_max);
}

static void fc_folded(const kit_fc_params_t *p, const int8_t *in_row, const int8_t *filter, int8_t *out_row) {
    const int32_t depth = p->accum_depth, units = p->output_depth;
    int32_t u, r;
    for (u = 0; u < units; u += 4) {
        const int32_t rows = units - u < 4 ? units - u : 4;
        const int8_t *w = filter + (size_t)u * depth;
        int32_t acc[4];
        if (rows == 4) {
            for (r = 0; r < 4; ++r) {
                acc[r] = p->kernel_bias[u + r];
            }
            kit_mat_1x4_blocked(in_row, w, depth, acc);
            for (r = 0; r < 4; ++r) {
                out_row[u + r] = requantize(p, acc[r], u + r);
            }
            continue;
        }
        for (r = 0; r < rows; ++r) {
            acc[0] = acc[1] = acc[2] = acc[3] = p->kernel_bias[u + r];
            kit_mat_1x4(in_row, w + (size_t)r * depth, 0, depth, acc);
            out_row[u + r] = requantize(p, acc[0], u + r);
        }
    }
}

int kit_op_fully_connected(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    const kit_fc_params_t *p = (const kit_fc_params_t *)op->params;
    const int8_t *input = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    const int8_t *filter = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[1]);
    const int32_t *bias = (const int32_t *)kit_tensor_const_ptr(m, arena, op->inputs[2]);
    int8_t *output = (int8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    const int32_t depth = p->accum_depth, units = p->output_depth;
    int32_t b, u;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_row = input + (size_t)b * depth;
        if (p->kernel_bias != NULL) {
            fc_folded(p, in_row, filter, output + (size_t)b * units);
            continue;
        }
        for (u = 0; u < units; ++u) {
            const int8_t *w_row = filter + (size_t)u * depth;
            /* weights are symmetric (the planner refuses non-zero weight zero points) */
            int32_t acc = kit_dot_s8(in_row, w_row, depth, p->input_offset);
            if (bias != NULL) {
                acc += bias[u];
            }
            output[(size_t)b * units + u] = requantize(p, acc, u);
        }
    }
    return KIT_OK;
}
