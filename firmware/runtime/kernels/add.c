/* ADD and SUB int8 (TFLM reference_integer_ops::Add / BroadcastAdd and reference_ops::Sub for
 * int8): both inputs are shifted left by left_shift, rescaled to a common scale, summed (or
 * the second subtracted) and rescaled to the output. SUB's Prepare computes the same
 * multipliers as ADD's, so the two share one params struct and one loop.
 * Without broadcast, element i is read before element i is written and never again, so the
 * output may sit on an input (kit.compile.overlap). */
#include "kit_add.h"
#include "kit_broadcast.h"
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

static int8_t add_one(const kit_binary_params_t *p, int32_t a, int32_t b, int subtract) {
    const int32_t in1 = kit_wrap_shl(p->input1_offset + a, p->left_shift);
    const int32_t in2 = kit_wrap_shl(p->input2_offset + b, p->left_shift);
    const int32_t scaled1 = kit_mbqm(in1, p->input1_multiplier, p->input1_shift);
    const int32_t scaled2 = kit_mbqm(in2, p->input2_multiplier, p->input2_shift);
    const int32_t combined = subtract ? kit_wrap_add(scaled1, -scaled2) : kit_wrap_add(scaled1, scaled2);
    const int32_t raw = kit_mbqm(combined, p->output_multiplier, p->output_shift) + p->output_offset;
    return (int8_t)kit_clamp_i32(raw, p->activation_min, p->activation_max);
}

int8_t kit_add_element(const kit_binary_params_t *p, int32_t a, int32_t b) {
    return add_one(p, a, b, 0);
}

/* The element loop with the constants prepared once (kit_add.h), copied to a local whose
 * address never escapes: the int8 stores cannot alias it, so its fields stay in registers.
 * Inlined once per operation, so the loop tests no flag. */
static KIT_ALWAYS_INLINE void add_fast_loop(const kit_add_fast_t *prepared, const int8_t *in1, const int8_t *in2,
                                            int8_t *out, int32_t size, int subtract) {
    const kit_add_fast_t q = *prepared;
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t s1 = kit_add_term_a(&q, in1[i]), s2 = kit_add_term_b(&q, in2[i]);
        out[i] = kit_add_output(&q, subtract ? s1 - s2 : s1 + s2);
    }
}

static void add_fast(const kit_add_fast_t *q, const int8_t *in1, const int8_t *in2, int8_t *out, int32_t size,
                     int subtract) {
    if (subtract) {
        add_fast_loop(q, in1, in2, out, size, 1);
    } else {
        add_fast_loop(q, in1, in2, out, size, 0);
    }
}

static int add_or_sub(const kit_op_t *op, const kit_model_t *m, uint8_t *arena, int subtract) {
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
        kit_add_fast_t fast;
        if (kit_add_fast_prepare(p, 0, &fast)) {
            add_fast(&fast, in1, in2, out, size, subtract);
            return KIT_OK;
        }
        for (i = 0; i < size; ++i) {
            out[i] = add_one(p, in1[i], in2[i], subtract);
        }
        return KIT_OK;
    }
    for (n = 0; n < p->output.n; ++n) {
        for (h = 0; h < p->output.h; ++h) {
            for (w = 0; w < p->output.w; ++w) {
                for (c = 0; c < p->output.c; ++c) {
                    const int32_t i1 = n * s1.n + h * s1.h + w * s1.w + c * s1.c;
                    const int32_t i2 = n * s2.n + h * s2.h + w * s2.w + c * s2.c;
                    out[o++] = add_one(p, in1[i1], in2[i2], subtract);
                }
            }
        }
    }
    return KIT_OK;
}

int kit_op_add(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    return add_or_sub(op, m, arena, 0);
}

int kit_op_sub(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    return add_or_sub(op, m, arena, 1);
}
