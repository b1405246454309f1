/* FULLY_CONNECTED int8 (TFLM reference_integer_ops::FullyConnected and its per-channel
 * variant): one multiplier for per-tensor weights, one per output unit otherwise. Weights
 * are symmetric int8 (weights_offset is always 0: the planner refuses other zero points).
 *
 * With the compiler's kernel_bias (bias + input_offset * sum of the unit's weights) four
 * units share each input word and the inner loop has no offset to add; the compiler then
 * also stores each block of 4 units' weights interleaved (kit_mat_1x4_blocked), and units
 * past the last block in plain rows (kit_mat_1x4). Portable builds take two blocks (8 units)
 * per pass first (fc_block_8). */
#include "kit_dot.h"
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

static inline int8_t requantize(const kit_fc_params_t *p, int32_t acc, int32_t u) {
    const int32_t q = p->per_channel ? u : 0;
    acc = kit_mbqm(acc, p->output_multiplier[q], p->output_shift[q]) + p->output_offset;
    return (int8_t)kit_clamp_i32(acc, p->activation_min, p->activation_max);
}

#if KIT_PORTABLE_PATH
/* 4 taps of the 8 units of two interleaved blocks (kit_mat_1x4_blocked's layout), at byte
 * o of the input word and of each unit's 4-byte group. */
#define KIT_FC_TAP(o)                                                            \
    do {                                                                         \
        const int32_t x = a[o];                                                  \
        s0 += x * w[o]; s1 += x * w[4 + (o)]; s2 += x * w[8 + (o)]; s3 += x * w[12 + (o)]; \
        s4 += x * v[o]; s5 += x * v[4 + (o)]; s6 += x * v[8 + (o)]; s7 += x * v[12 + (o)]; \
    } while (0)

/* Units u..u+7 (two interleaved blocks of 4) over the whole input row: 8 sums in
 * registers, 4 taps per pass (the portable loop GCC would not unroll), so each input byte
 * is loaded once for 8 products. */
static KIT_NO_PRESCHED void fc_block_8(const kit_fc_params_t *p, const int8_t *a, const int8_t *w, int32_t u,
                                       int8_t *out_row) {
    const int32_t depth = p->accum_depth, tail = depth & 3;
    const int32_t *kb = p->kernel_bias + u;
    const int8_t *v = w + (size_t)4 * depth;
    const int8_t *const end = a + (depth & ~3);
    int32_t s0 = kb[0], s1 = kb[1], s2 = kb[2], s3 = kb[3], s4 = kb[4], s5 = kb[5], s6 = kb[6], s7 = kb[7], t;
    int32_t sums[8];
    while (a != end) {
        KIT_FC_TAP(0);
        KIT_FC_TAP(1);
        KIT_FC_TAP(2);
        KIT_FC_TAP(3);
        a += 4;
        w += 16;
        v += 16;
    }
    for (t = 0; t < tail; ++t) { /* each block's rows end with their depth % 4 tail bytes */
        const int32_t x = a[t];
        s0 += x * w[t];
        s1 += x * w[tail + t];
        s2 += x * w[2 * tail + t];
        s3 += x * w[3 * tail + t];
        s4 += x * v[t];
        s5 += x * v[tail + t];
        s6 += x * v[2 * tail + t];
        s7 += x * v[3 * tail + t];
    }
    sums[0] = s0; sums[1] = s1; sums[2] = s2; sums[3] = s3;
    sums[4] = s4; sums[5] = s5; sums[6] = s6; sums[7] = s7;
    {
        const int32_t offset = p->output_offset, lo = p->activation_min, hi = p->activation_max;
        const int32_t step = p->per_channel ? 1 : 0; /* one multiplier per unit, or one for all */
        const int32_t *mult = p->output_multiplier + step * u, *shift = p->output_shift + step * u;
        for (t = 0; t < 8; ++t) {
            const kit_rq_t q = kit_rq_prepare(mult[step * t], shift[step * t]);
            out_row[u + t] = (int8_t)kit_rq_s8(sums[t], &q, offset, lo, hi);
        }
    }
}
#undef KIT_FC_TAP
#endif

static void fc_folded(const kit_fc_params_t *p, const int8_t *in_row, const int8_t *filter, int8_t *out_row) {
    const int32_t depth = p->accum_depth, units = p->output_depth;
    int32_t u, r;
    u = 0;
#if KIT_PORTABLE_PATH
    for (; u + 8 <= units; u += 8) {
        fc_block_8(p, in_row, filter + (size_t)u * depth, u, out_row);
    }
#endif
    for (; u < units; u += 4) {
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
