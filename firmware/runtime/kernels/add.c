/* ADD and SUB int8 (TFLM reference_integer_ops::Add / BroadcastAdd and reference_ops::Sub for
 * int8): both inputs are shifted left by left_shift, rescaled to a common scale, summed (or
 * the second subtracted) and rescaled to the output. SUB's Prepare computes the same
 * multipliers as ADD's, so the two share one params struct and one loop.
 * Without broadcast, element i is read before element i is written and never again, so the
 * output may sit on an input (kit.compile.overlap). */
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

#if !KIT_SINGLE_ROUNDING
/* The three rescalings' constants, hoisted out of the element loop (add_fast). */
typedef struct {
    int32_t half1, fix1, e1, half2, fix2, e2, half_out, fix_out, e_out;
} add_rounding_t;

/* kit_mbqm(x, multiplier, -e) for |x| < 2^30 and 0 <= e <= 31: SRDHM is
 * (x * m + 2^30) >> 31 (its saturation needs x = INT32_MIN) with |result| <= |x| + 1, so
 * y + 2^(e-1) cannot overflow and (y + 2^(e-1) - (y < 0)) >> e is RoundingDivideByPOT's
 * round half away from zero exactly (half = 2^(e-1), fix = -1, or both 0 when e = 0). */
static inline int32_t rescale_small(int32_t x, int32_t multiplier, int32_t half, int32_t fix, int32_t e) {
    const int32_t y = (int32_t)(((int64_t)x * multiplier + ((int64_t)1 << 30)) >> 31);
    return (y + half + ((y >> 31) & fix)) >> e;
}

static void rounding_of(int32_t shift, int32_t *half, int32_t *fix, int32_t *e) {
    *e = -shift;
    *half = shift < 0 ? (int32_t)(1u << (-shift - 1)) : 0;
    *fix = shift < 0 ? -1 : 0;
}

/* The rescalings stay in kit_mbqm's small-operand range: inputs (int8 + offset, |.| <= 255)
 * shifted left by at most 20 are below 2^28, each rescaled one no larger, their sum below
 * 2^29; every shift a right shift of at most 31 (TFLM's ADD: left_shift 20, multipliers
 * smaller than one). */
static int add_fast_applies(const kit_binary_params_t *p, add_rounding_t *r) {
    if (p->left_shift < 0 || p->left_shift > 20 || p->input1_shift > 0 || p->input2_shift > 0 ||
        p->output_shift > 0 || p->input1_shift < -31 || p->input2_shift < -31 || p->output_shift < -31 ||
        p->input1_offset < -128 || p->input1_offset > 128 || p->input2_offset < -128 || p->input2_offset > 128) {
        return 0;
    }
    rounding_of(p->input1_shift, &r->half1, &r->fix1, &r->e1);
    rounding_of(p->input2_shift, &r->half2, &r->fix2, &r->e2);
    rounding_of(p->output_shift, &r->half_out, &r->fix_out, &r->e_out);
    return 1;
}

static void add_fast(const kit_binary_params_t *p, const add_rounding_t *r, const int8_t *in1, const int8_t *in2,
                     int8_t *out, int32_t size, int subtract) {
    const int32_t o1 = p->input1_offset, o2 = p->input2_offset, ls = p->left_shift;
    const int32_t m1 = p->input1_multiplier, m2 = p->input2_multiplier, mo = p->output_multiplier;
    const int32_t offset = p->output_offset, lo = p->activation_min, hi = p->activation_max;
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t s1 = rescale_small((o1 + in1[i]) * (1 << ls), m1, r->half1, r->fix1, r->e1);
        int32_t s2 = rescale_small((o2 + in2[i]) * (1 << ls), m2, r->half2, r->fix2, r->e2);
        int32_t v;
        s2 = subtract ? -s2 : s2;
        v = rescale_small(s1 + s2, mo, r->half_out, r->fix_out, r->e_out) + offset;
        out[i] = (int8_t)(v < lo ? lo : (v > hi ? hi : v));
    }
}
#endif

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
#if !KIT_SINGLE_ROUNDING
        add_rounding_t rounding;
        if (add_fast_applies(p, &rounding)) {
            add_fast(p, &rounding, in1, in2, out, size, subtract);
            return KIT_OK;
        }
#endif
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
