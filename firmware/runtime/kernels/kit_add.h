/* TFLM's int8 ADD of one element pair (reference_integer_ops::Add, double rounding) with its
 * constants prepared once, in straight-line code: the loop of the standalone ADD / SUB
 * (add.c) and the fused store of a CONV_2D whose ADD kit.compile.fuse folded into it
 * (conv_2d.c) both run it. kit_add_fast_prepare says when it applies (TFLM's int8 ADD
 * params always qualify); anything else, and a KIT_SINGLE_ROUNDING build, goes through
 * kit_add_element, the general form. */
#ifndef KIT_ADD_H
#define KIT_ADD_H

#include "kit_dot.h"
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

#define KIT_ADD_LEFT_SHIFT 20 /* TFLM's int8 ADD shifts both inputs left by 20 (kit.compile.quant) */

/* One rescaling x -> kit_mbqm(x, multiplier, -e) with 0 <= e <= 29, as SRDHM then the
 * rounding division of twice its result by 2^(e + 1): half = 2^e, shift = e + 1. */
typedef struct {
    int32_t multiplier, half, shift;
} kit_add_rescale_t;

/* Operand a's term is the rescaling of 2 * ((input offset + a) << 20) = a * 2^21 + offset_a
 * (offset_a = input offset * 2^21), doubled for kit_add_srdhm2. With `swapped`
 * (kit_add_fast_prepare) operand a is the ADD's input2: the two terms are summed, so which
 * one comes first does not change the sum. */
typedef struct {
    int32_t offset_a, offset_b;
    kit_add_rescale_t a, b, out;
    int32_t output_offset, lo, hi;
} kit_add_fast_t;

/* SRDHM(x, m) = (x * m + 2^30) >> 31 given x2 = 2x with |x| < 2^30 (its saturation needs
 * x = INT32_MIN): (x2 * m + 2^31) >> 32, one SMMULR on the Arm DSP cores; elsewhere the high
 * word of the product plus the low word's top bit (the carry of the + 2^31). */
static KIT_ALWAYS_INLINE int32_t kit_add_srdhm2(int32_t x2, int32_t m) {
#if KIT_DSP_KERNELS
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(x2), "r"(m));
    return r;
#else
    const int64_t product = (int64_t)x2 * m;
    return (int32_t)(product >> 32) + (int32_t)((uint32_t)product >> 31);
#endif
}

/* kit_mbqm(x, multiplier, -e) given x2 = 2x, |x| <= 2^29 + 2. RoundingDivideByPOT(y, e) (round
 * half away from zero) is that of z = 2y by 2^(e + 1), the same quotient, and with a shift of
 * at least 1 it is (z + 2^e - (z < 0)) >> (e + 1) for every e, 0 included: SRDHM's y has
 * |y| <= |x| + 1, so for e <= 29 the sum cannot overflow. */
static KIT_ALWAYS_INLINE int32_t kit_add_rescale(int32_t x2, const kit_add_rescale_t *r) {
    const int32_t z = kit_add_srdhm2(x2, r->multiplier) * 2;
    return (z + r->half + (z >> 31)) >> r->shift;
}

/* operand a's (b's) rescaled term: kit_mbqm((input offset + a) << 20, ...) */
static KIT_ALWAYS_INLINE int32_t kit_add_term_a(const kit_add_fast_t *q, int32_t a) {
    return kit_add_rescale(a * (1 << (KIT_ADD_LEFT_SHIFT + 1)) + q->offset_a, &q->a);
}

static KIT_ALWAYS_INLINE int32_t kit_add_term_b(const kit_add_fast_t *q, int32_t b) {
    return kit_add_rescale(b * (1 << (KIT_ADD_LEFT_SHIFT + 1)) + q->offset_b, &q->b);
}

/* the sum of the two terms (or their difference, for SUB) rescaled to the output, offset and
 * clamped to the activation range */
static KIT_ALWAYS_INLINE int8_t kit_add_output(const kit_add_fast_t *q, int32_t combined) {
    const int32_t v = kit_add_rescale(combined * 2, &q->out) + q->output_offset;
    return (int8_t)(v < q->lo ? q->lo : (v > q->hi ? q->hi : v));
}

/* TFLM's ADD of a and b (the operands in kit_add_fast_prepare's order) */
static KIT_ALWAYS_INLINE int8_t kit_add_fast_s8(const kit_add_fast_t *q, int32_t a, int32_t b) {
    return kit_add_output(q, kit_add_term_a(q, a) + kit_add_term_b(q, b));
}

static inline void kit_add_rounding(int32_t multiplier, int32_t shift, kit_add_rescale_t *r) {
    r->multiplier = multiplier;
    r->half = (int32_t)(1u << -shift);
    r->shift = 1 - shift;
}

/* The constants of p (operand a = input2 when `swapped`), or 0 where the short form would
 * not be exact (always 0 in a KIT_SINGLE_ROUNDING build: the form is double rounding's). It is while the values stay in its range: inputs (int8 + offset, |.| <= 256)
 * shifted left by 20 are at most 2^28, each rescaled term (any int32 multiplier is below 2^31)
 * at most 2^28 + 1, their sum or difference at most 2^29 + 2; every shift a right shift of at most 29
 * (TFLM's int8 ADD: left_shift 20, multipliers smaller than one, shifts near -20 at most). */
static inline int kit_add_fast_prepare(const kit_binary_params_t *p, int swapped, kit_add_fast_t *q) {
    const int32_t scale = (int32_t)1 << (KIT_ADD_LEFT_SHIFT + 1);
    if (KIT_SINGLE_ROUNDING || p->left_shift != KIT_ADD_LEFT_SHIFT || p->input1_shift > 0 || p->input2_shift > 0 || p->output_shift > 0 ||
        p->input1_shift < -29 || p->input2_shift < -29 || p->output_shift < -29 || p->input1_offset < -128 ||
        p->input1_offset > 128 || p->input2_offset < -128 || p->input2_offset > 128) {
        return 0;
    }
    q->offset_a = (swapped ? p->input2_offset : p->input1_offset) * scale;
    q->offset_b = (swapped ? p->input1_offset : p->input2_offset) * scale;
    kit_add_rounding(swapped ? p->input2_multiplier : p->input1_multiplier,
                     swapped ? p->input2_shift : p->input1_shift, &q->a);
    kit_add_rounding(swapped ? p->input1_multiplier : p->input2_multiplier,
                     swapped ? p->input1_shift : p->input2_shift, &q->b);
    kit_add_rounding(p->output_multiplier, p->output_shift, &q->out);
    q->output_offset = p->output_offset;
    q->lo = p->activation_min;
    q->hi = p->activation_max;
    return 1;
}

#endif /* KIT_ADD_H */
