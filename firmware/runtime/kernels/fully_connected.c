/* FULLY_CONNECTED int8 (TFLM reference_integer_ops::FullyConnected and its per-channel
 * variant): one multiplier for per-tensor weights, one per output unit otherwise. Weights
 * are symmetric int8 (weights_offset is always 0: the planner refuses other zero points). */
#include "kit_dot.h"
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

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
        for (u = 0; u < units; ++u) {
            const int8_t *w_row = filter + (size_t)u * depth;
            const int32_t q = p->per_channel ? u : 0;
            /* weights are symmetric (the planner refuses non-zero weight zero points) */
            int32_t acc = kit_dot_s8(in_row, w_row, depth, p->input_offset);
            if (bias != NULL) {
                acc += bias[u];
            }
            acc = kit_mbqm(acc, p->output_multiplier[q], p->output_shift[q]);
            acc += p->output_offset;
            acc = kit_clamp_i32(acc, p->activation_min, p->activation_max);
            output[(size_t)b * units + u] = (int8_t)acc;
        }
    }
    return KIT_OK;
}
