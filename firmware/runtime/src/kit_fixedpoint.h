/*
 * Integer fixed-point helpers with the exact rounding of TensorFlow Lite Micro's reference
 * kernels (gemmlowp semantics). Bit-exactness with TFLM depends on every function here
 * rounding the same way, so each one documents the rule it follows, never "close enough".
 *
 * Raw values are int32 "Qm.n" numbers: m integer bits, n = 31 - m fractional bits.
 * Overflowing shifts/adds are done in uint32 so that wrapping is defined behaviour (TFLM
 * relies on two's complement wrapping in the same places).
 */
#ifndef KIT_FIXEDPOINT_H
#define KIT_FIXEDPOINT_H

#include <stdint.h>

/* TFLM's MultiplyByQuantizedMultiplier has two builds: double rounding (gemmlowp:
 * rounding doubling high multiply, then rounding right shift) and single rounding (one
 * 64-bit multiply with one rounding). The tflite-micro reference uses double rounding
 * unless TFLITE_SINGLE_ROUNDING is defined; kit follows the same switch. */
#ifndef KIT_SINGLE_ROUNDING
#define KIT_SINGLE_ROUNDING 0
#endif

static inline int32_t kit_wrap_add(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline int32_t kit_wrap_sub(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

static inline int32_t kit_wrap_shl(int32_t x, int shift) {
    return (int32_t)((uint32_t)x << shift);
}

static inline int32_t kit_min_i32(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t kit_max_i32(int32_t a, int32_t b) { return a > b ? a : b; }

static inline int32_t kit_clamp_i32(int32_t x, int32_t lo, int32_t hi) {
    return x < lo ? lo : (x > hi ? hi : x);
}

/* gemmlowp SaturatingRoundingDoublingHighMul: (a * b + nudge) / 2^31 truncated, nudge
 * 2^30 for a product >= 0 and 1 - 2^30 below; saturating INT32_MIN * INT32_MIN (VQRDMULH).
 * Both cases equal floor((a * b + 2^30) / 2^31) (for a negative product t = ab + 1 - 2^30,
 * trunc(t / 2^31) = ceil(t / 2^31) = floor((ab + 2^30) / 2^31)): one multiply, add, shift. */
static inline int32_t kit_srdhm(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* x / 2^exponent rounded to nearest, ties away from zero (rounding arithmetic shift). */
static inline int32_t kit_rounding_divide_by_pot(int32_t x, int exponent) {
    const int32_t mask = (int32_t)((1u << exponent) - 1u); /* exponent <= 31 */
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * 2^exponent with saturation for exponent > 0, rounding for exponent < 0. */
static inline int32_t kit_saturating_rounding_mul_by_pot(int32_t x, int exponent) {
    if (exponent > 0) {
        const int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1u);
        if (x > threshold) {
            return INT32_MAX;
        }
        if (x < -threshold) {
            return INT32_MIN;
        }
        return kit_wrap_shl(x, exponent);
    }
    if (exponent < 0) {
        return kit_rounding_divide_by_pot(x, -exponent);
    }
    return x;
}

/* x * multiplier * 2^shift (multiplier is Q31, shift > 0 is a left shift): TFLM's
 * MultiplyByQuantizedMultiplier. */
static inline int32_t kit_mbqm(int32_t x, int32_t multiplier, int32_t shift) {
#if KIT_SINGLE_ROUNDING
    const int total_shift = 31 - shift;
    const int64_t round = (int64_t)1 << (total_shift - 1);
    return (int32_t)(((int64_t)x * (int64_t)multiplier + round) >> total_shift);
#else
    const int left_shift = shift > 0 ? shift : 0;
    const int right_shift = shift > 0 ? 0 : -shift;
    return kit_rounding_divide_by_pot(kit_srdhm(kit_wrap_shl(x, left_shift), multiplier),
                                      right_shift);
#endif
}

/* TFLM's MultiplyByQuantizedMultiplierGreaterThanOne (softmax input scaling). */
static inline int32_t kit_mbqm_greater_than_one(int32_t x, int32_t multiplier, int32_t left_shift) {
#if KIT_SINGLE_ROUNDING
    return kit_mbqm(x, multiplier, left_shift);
#else
    return kit_srdhm(kit_wrap_shl(x, left_shift), multiplier);
#endif
}

/* gemmlowp RoundingHalfSum: (a + b) / 2 rounded away from zero. */
static inline int32_t kit_rounding_half_sum(int32_t a, int32_t b) {
    const int64_t sum = (int64_t)a + (int64_t)b;
    const int64_t sign = sum >= 0 ? 1 : -1;
    return (int32_t)((sum + sign) / 2);
}

/* Rescale a raw value from src to dst integer bits (gemmlowp Rescale). */
static inline int32_t kit_rescale(int32_t x, int src_integer_bits, int dst_integer_bits) {
    return kit_saturating_rounding_mul_by_pot(x, src_integer_bits - dst_integer_bits);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor series around -1/8. */
static inline int32_t kit_exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a) {
    const int32_t constant_term = 1895147668;     /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883;  /* 1/3 */
    const int32_t x = kit_wrap_add(a, 1 << 28);   /* a + 1/8 */
    const int32_t x2 = kit_srdhm(x, x);
    const int32_t x3 = kit_srdhm(x2, x);
    const int32_t x4 = kit_srdhm(x2, x2);
    const int32_t x4_over_4 = kit_saturating_rounding_mul_by_pot(x4, -2);
    const int32_t poly = kit_saturating_rounding_mul_by_pot(
        kit_wrap_add(kit_srdhm(kit_wrap_add(x4_over_4, x3), constant_1_over_3), x2), -1);
    return kit_wrap_add(constant_term, kit_srdhm(constant_term, kit_wrap_add(x, poly)));
}

/* exp(a) for a <= 0 given in Q(integer_bits).(31-integer_bits); result Q0.31. */
static inline int32_t kit_exp_on_negative_values(int32_t a, int integer_bits) {
    static const int32_t barrel_multipliers[7] = {
        1672461947, /* exp(-1/4) */
        1302514674, /* exp(-1/2) */
        790015084,  /* exp(-1)   */
        290630308,  /* exp(-2)   */
        39332535,   /* exp(-4)   */
        720401,     /* exp(-8)   */
        242,        /* exp(-16)  */
    };
    const int fractional_bits = 31 - integer_bits;
    const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_one_quarter = kit_wrap_sub(a & mask, one_quarter);
    int32_t result = kit_exp_on_interval_between_negative_one_quarter_and_0_excl(
        kit_rescale(a_mod_quarter_minus_one_quarter, integer_bits, 0));
    const int32_t remainder = kit_wrap_sub(a_mod_quarter_minus_one_quarter, a);
    int exponent;
    for (exponent = -2; exponent <= 4; ++exponent) {
        if (integer_bits > exponent) {
            const int shift_amount = fractional_bits + exponent;
            if (remainder & (int32_t)((uint32_t)1 << shift_amount)) {
                result = kit_srdhm(result, barrel_multipliers[exponent + 2]);
            }
        }
    }
    if (integer_bits > 5) {
        const int32_t clamp = -((int32_t)1 << (36 - integer_bits));
        if (a < clamp) {
            result = 0;
        }
    }
    if (a == 0) {
        result = INT32_MAX;
    }
    return result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out: three Newton-Raphson steps in Q2.29. */
static inline int32_t kit_one_over_one_plus_x_for_x_in_0_1(int32_t a) {
    const int32_t half_denominator = kit_rounding_half_sum(a, INT32_MAX);
    const int32_t constant_48_over_17 = 1515870810;
    const int32_t constant_neg_32_over_17 = -1010580540;
    const int32_t f2_one = (int32_t)1 << 29;
    int32_t x = kit_wrap_add(constant_48_over_17, kit_srdhm(half_denominator, constant_neg_32_over_17));
    int i;
    for (i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = kit_srdhm(half_denominator, x);
        const int32_t one_minus = kit_wrap_sub(f2_one, half_denominator_times_x);
        x = kit_wrap_add(x, kit_rescale(kit_srdhm(x, one_minus), 4, 2));
    }
    /* ExactMulByPot<-1> turns Q2 into Q1 without touching the raw value. */
    return kit_rescale(x, 1, 0);
}

/* logistic(a) = 1 / (1 + exp(-a)), a in Q(integer_bits), result Q0.31. */
static inline int32_t kit_logistic_fixed(int32_t a, int integer_bits) {
    if (a == 0) {
        return (int32_t)1 << 30;
    }
    {
        const int32_t abs_input = a > 0 ? a : kit_wrap_sub(0, a);
        const int32_t result_if_positive = kit_one_over_one_plus_x_for_x_in_0_1(
            kit_exp_on_negative_values(kit_wrap_sub(0, abs_input), integer_bits));
        return a > 0 ? result_if_positive : kit_wrap_sub(INT32_MAX, result_if_positive);
    }
}

static inline int kit_count_leading_zeros_u32(uint32_t x) {
    int n = 0;
    if (x == 0) {
        return 32;
    }
    while ((x & 0x80000000u) == 0) {
        x <<= 1;
        ++n;
    }
    return n;
}

/* 1 / x for x in Q(x_integer_digits), returned as Q0.31 scaled by 2^-num_bits_over_unit
 * (TFLM's GetReciprocal). */
static inline int32_t kit_get_reciprocal(int32_t x, int x_integer_digits, int *num_bits_over_unit) {
    const int headroom_plus_one = kit_count_leading_zeros_u32((uint32_t)x);
    const int32_t shifted_sum_minus_one =
        (int32_t)(((uint32_t)x << headroom_plus_one) - ((uint32_t)1 << 31));
    *num_bits_over_unit = x_integer_digits - headroom_plus_one;
    return kit_one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);
}

#endif /* KIT_FIXEDPOINT_H */
