/*
 * Inner products of the int8 kernels. Two forms:
 * - kit_dot_s8: acc + sum_i w[i] * (x[i] + input_offset), TFLM's form, for the general paths;
 * - kit_mat_2x2 / kit_mat_1x4: raw sums sum_i a[i] * w[i] for blocks of 2 columns x 2 filter
 *   rows (CONV_2D on im2col columns) and 1 column x 4 rows (FULLY_CONNECTED). The input
 *   offset is folded into the bias at compile time (kernel_bias = bias + input_offset *
 *   sum(w), emitted by kit.compile.emit_c), and padded taps hold the input zero point, so
 *   the int32 result is the same sum of the same products as TFLM's: two's complement
 *   addition is associative, so the result is identical bit for bit.
 * With the Arm DSP extension (Cortex-M4/M7) two int8 pairs go through one SMLAD after
 * SXTB16 widening: bytes 0,2 and (rotated by 8) 1,3 of both operands, so the pairs match
 * without reordering either operand. With Helium (Cortex-M55, -DKIT_HELIUM_KERNELS from the
 * board file's kernels = "helium") 16 int8 products per VMLADAVA (DEPTHWISE_CONV_2D has its
 * own MVE loop in depthwise_conv_2d.c). tests/runtime/ checks every
 * path against TFLM.
 */
#ifndef KIT_DOT_H
#define KIT_DOT_H

#include <stdint.h>
#include <string.h>

/* On functions whose short copy loops must stay loops: GCC's -O2 turns them into calls of
 * memcpy / memset, which newlib-nano (optimised for size) runs a byte at a time. */
#if defined(__GNUC__) && !defined(__clang__)
#define KIT_COPY_LOOPS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define KIT_COPY_LOOPS
#endif

/* for the helpers the KIT_NO_PRESCHED block kernels call: GCC does not inline a plain
 * inline function into a function with other optimisation options */
#if defined(__GNUC__) && !defined(__clang__)
#define KIT_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define KIT_ALWAYS_INLINE inline
#endif

/* dst[0, n) = src[0, n): words, then the n % 4 tail bytes (any alignment). */
static inline void kit_copy_s8(int8_t *dst, const int8_t *src, int32_t n) {
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t v;
        memcpy(&v, src + i, sizeof v);
        memcpy(dst + i, &v, sizeof v);
    }
    for (; i < n; ++i) {
        dst[i] = src[i];
    }
}

/* dst[0, n) = value */
static inline void kit_fill_s8(int8_t *dst, int value, int32_t n) {
    const uint32_t v = ((uint32_t)value & 0xFFu) * 0x01010101u;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        memcpy(dst + i, &v, sizeof v);
    }
    for (; i < n; ++i) {
        dst[i] = (int8_t)value;
    }
}

/* TFLM's requantization of a CONV / DEPTHWISE / FC sum (MultiplyByQuantizedMultiplier,
 * double rounding) in straight-line code: the same SRDHM and rounding shift as
 * kit_fixedpoint.h, without branches. It omits SRDHM's INT32_MIN * INT32_MIN saturation:
 * these multipliers are in [2^30, 2^31) or 0 (TFLM's QuantizeMultiplier), and
 * kit.compile.emit_c refuses any other. */
static KIT_ALWAYS_INLINE int32_t kit_requantize(int32_t acc, int32_t multiplier, int32_t shift) {
    const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    const int32_t x = (int32_t)((uint32_t)acc << left);
    const int32_t y = (int32_t)(((int64_t)x * multiplier + ((int64_t)1 << 30)) >> 31);
    const int32_t mask = (int32_t)((1u << right) - 1u);
    const int32_t threshold = (mask >> 1) - (y >> 31); /* + 1 for a negative y */
    return (y >> right) + ((y & mask) > threshold);
}

/* Portable requantization with the per-channel constants prepared once (kit_rq_prepare),
 * for loops that requantize many outputs of one channel. TFLM's SRDHM (x * m + 2^30) >> 31
 * is (x * 2m + 2^31) >> 32: the high word of a 32 x 32 signed-by-unsigned product (2m < 2^32)
 * plus the low word's top bit (MULHSU + MUL + SRLI + ADD on rv32). Its rounding division by
 * 2^e (e >= 1) is (y + 2^(e-1) - (y < 0)) >> e, which does not overflow since y <= m and
 * kit_rq_prepare takes this path only when m + 2^(e-1) <= INT32_MAX; a channel with a left
 * shift, no right shift or such a multiplier keeps kit_requantize. Same int32 result. */
typedef struct {
    uint32_t m2;      /* 2 * multiplier */
    int32_t e;        /* right shift (-shift) */
    int32_t round;    /* 2^(e-1); 0 when the channel is not `fast` */
    int32_t fast;
    int32_t multiplier, shift;
} kit_rq_t;

/* kit_requantize out of line, for the channels kit_rq_fast does not take (rare: a left
 * shift, no right shift, or a multiplier within 2^(e-1) of 2^31): keeps the block kernels small. */
#if defined(__GNUC__)
__attribute__((noinline, unused))
#endif
static int32_t kit_requantize_cold(int32_t acc, int32_t multiplier, int32_t shift) {
    return kit_requantize(acc, multiplier, shift);
}

static KIT_ALWAYS_INLINE kit_rq_t kit_rq_prepare(int32_t multiplier, int32_t shift) {
    kit_rq_t q;
    q.m2 = (uint32_t)multiplier << 1;
    q.e = -shift;
    q.round = shift < 0 && shift >= -31 ? (int32_t)(1u << (-shift - 1)) : 0;
    q.fast = q.round != 0 && multiplier >= 0 && multiplier <= INT32_MAX - q.round;
    q.multiplier = multiplier;
    q.shift = shift;
    return q;
}

/* y = SRDHM(acc, multiplier), then the rounding shift: the fast channels' form */
static KIT_ALWAYS_INLINE int32_t kit_rq_fast(int32_t acc, uint32_t m2, int32_t e, int32_t round) {
    const int64_t p = (int64_t)acc * (int64_t)(uint64_t)m2;
    const int32_t y = (int32_t)(p >> 32) + (int32_t)((uint32_t)p >> 31);
    return (y + round - (int32_t)((uint32_t)y >> 31)) >> e;
}

/* r clamped to [lo, hi] */
static KIT_ALWAYS_INLINE int8_t kit_clamp_s8(int32_t r, int32_t lo, int32_t hi) {
    return (int8_t)(r < lo ? lo : (r > hi ? hi : r));
}

/* Three sums of one channel to int8 bytes out0[c], out1[c], out2[c] (kit_requantize_s8),
 * in straight-line code: the constants are read into registers first, since int8 stores
 * may alias them and GCC would reload them per byte. */
static KIT_ALWAYS_INLINE void kit_rq_store3(int32_t s0, int32_t s1, int32_t s2, int32_t multiplier, int32_t shift,
                                 int32_t offset, int32_t lo, int32_t hi, int8_t *out0, int8_t *out1, int8_t *out2) {
    const kit_rq_t q = kit_rq_prepare(multiplier, shift);
    if (q.fast) {
        const uint32_t m2 = q.m2;
        const int32_t e = q.e, round = q.round;
        s0 = kit_rq_fast(s0, m2, e, round);
        s1 = kit_rq_fast(s1, m2, e, round);
        s2 = kit_rq_fast(s2, m2, e, round);
    } else {
        s0 = kit_requantize_cold(s0, multiplier, shift);
        s1 = kit_requantize_cold(s1, multiplier, shift);
        s2 = kit_requantize_cold(s2, multiplier, shift);
    }
    *out0 = kit_clamp_s8(s0 + offset, lo, hi);
    *out1 = kit_clamp_s8(s1 + offset, lo, hi);
    *out2 = kit_clamp_s8(s2 + offset, lo, hi);
}

/* kit_rq_store3 for four sums */
static KIT_ALWAYS_INLINE void kit_rq_store4(int32_t s0, int32_t s1, int32_t s2, int32_t s3, int32_t multiplier,
                                            int32_t shift, int32_t offset, int32_t lo, int32_t hi, int8_t *out0,
                                            int8_t *out1, int8_t *out2, int8_t *out3) {
    const kit_rq_t q = kit_rq_prepare(multiplier, shift);
    if (q.fast) {
        const uint32_t m2 = q.m2;
        const int32_t e = q.e, round = q.round;
        s0 = kit_rq_fast(s0, m2, e, round);
        s1 = kit_rq_fast(s1, m2, e, round);
        s2 = kit_rq_fast(s2, m2, e, round);
        s3 = kit_rq_fast(s3, m2, e, round);
    } else {
        s0 = kit_requantize_cold(s0, multiplier, shift);
        s1 = kit_requantize_cold(s1, multiplier, shift);
        s2 = kit_requantize_cold(s2, multiplier, shift);
        s3 = kit_requantize_cold(s3, multiplier, shift);
    }
    *out0 = kit_clamp_s8(s0 + offset, lo, hi);
    *out1 = kit_clamp_s8(s1 + offset, lo, hi);
    *out2 = kit_clamp_s8(s2 + offset, lo, hi);
    *out3 = kit_clamp_s8(s3 + offset, lo, hi);
}

/* kit_requantize_s8 with prepared constants */
static KIT_ALWAYS_INLINE int32_t kit_rq_s8(int32_t acc, const kit_rq_t *q, int32_t offset, int32_t lo, int32_t hi) {
    int32_t r = q->fast ? kit_rq_fast(acc, q->m2, q->e, q->round) : kit_requantize_cold(acc, q->multiplier, q->shift);
    r += offset;
    return r < lo ? lo : (r > hi ? hi : r);
}

/* Pre-RA instruction scheduling (on at -O2 for RISC-V) interleaves the loads of unrolled
 * register-blocked loops and then spills their accumulators; these loops keep it off. A
 * function with it is not inlined into one without, so it goes on whole block kernels. */
#if defined(__GNUC__) && !defined(__clang__)
#define KIT_NO_PRESCHED __attribute__((noinline, optimize("no-schedule-insns")))
#else
#define KIT_NO_PRESCHED
#endif

#if defined(KIT_HELIUM_KERNELS) && defined(__ARM_FEATURE_MVE) && !defined(KIT_PORTABLE_KERNELS)
/* Helium (M-profile Vector Extension, Cortex-M55): 16 int8 lanes per VMLADAVA, which sums
 * the 16 products into a 32-bit scalar; the last partial vector is tail-predicated
 * (VCTP8: inactive lanes load as 0 and add nothing). Same products, same int32 sum. */
#include <arm_mve.h>

static inline int32_t kit_dot_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t input_offset) {
    int32_t xw = 0, wsum = 0;
    while (n > 0) {
        const mve_pred16_t p = vctp8q((uint32_t)n);
        const int8x16_t xv = vldrbq_z_s8(x, p), wv = vldrbq_z_s8(w, p);
        xw = vmladavaq_s8(xw, xv, wv);
        wsum = vaddvaq_s8(wsum, wv);
        x += 16;
        w += 16;
        n -= 16;
    }
    return (int32_t)((uint32_t)xw + (uint32_t)input_offset * (uint32_t)wsum);
}

/* acc[0] += a0.w0, acc[1] += a0.w1, acc[2] += a1.w0, acc[3] += a1.w1 (n int8 each) */
static inline void kit_mat_2x2(const int8_t *a0, const int8_t *a1, const int8_t *w0, const int8_t *w1,
                               int32_t n, int32_t acc[4]) {
    int32_t s00 = acc[0], s01 = acc[1], s10 = acc[2], s11 = acc[3];
    while (n > 0) {
        const mve_pred16_t p = vctp8q((uint32_t)n);
        const int8x16_t x0 = vldrbq_z_s8(a0, p), x1 = vldrbq_z_s8(a1, p);
        const int8x16_t v0 = vldrbq_z_s8(w0, p), v1 = vldrbq_z_s8(w1, p);
        s00 = vmladavaq_s8(s00, x0, v0);
        s01 = vmladavaq_s8(s01, x0, v1);
        s10 = vmladavaq_s8(s10, x1, v0);
        s11 = vmladavaq_s8(s11, x1, v1);
        a0 += 16;
        a1 += 16;
        w0 += 16;
        w1 += 16;
        n -= 16;
    }
    acc[0] = s00;
    acc[1] = s01;
    acc[2] = s10;
    acc[3] = s11;
}

/* acc[r] += a . w[r * stride .. + n) for r = 0..3 */
static inline void kit_mat_1x4(const int8_t *a, const int8_t *w, int32_t stride, int32_t n, int32_t acc[4]) {
    int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
    const int8_t *w1 = w + stride, *w2 = w1 + stride, *w3 = w2 + stride;
    while (n > 0) {
        const mve_pred16_t p = vctp8q((uint32_t)n);
        const int8x16_t x = vldrbq_z_s8(a, p);
        s0 = vmladavaq_s8(s0, x, vldrbq_z_s8(w, p));
        s1 = vmladavaq_s8(s1, x, vldrbq_z_s8(w1, p));
        s2 = vmladavaq_s8(s2, x, vldrbq_z_s8(w2, p));
        s3 = vmladavaq_s8(s3, x, vldrbq_z_s8(w3, p));
        a += 16;
        w += 16;
        w1 += 16;
        w2 += 16;
        w3 += 16;
        n -= 16;
    }
    acc[0] = s0;
    acc[1] = s1;
    acc[2] = s2;
    acc[3] = s3;
}

/* kit_mat_1x4 on a block of 4 rows stored interleaved by the compiler
 * (kit.compile.emit_c.interleave_fc_weights): per 4 taps the 4 rows' words follow each
 * other, then the rows' n % 4 tail bytes. 16 taps of one row are gathered from 64 bytes
 * (lane j at (j / 4) * 16 + row * 4 + j % 4). */
static inline void kit_mat_1x4_blocked(const int8_t *a, const int8_t *w, int32_t n, int32_t acc[4]) {
    static const uint8_t lanes[16] = {0, 1, 2, 3, 16, 17, 18, 19, 32, 33, 34, 35, 48, 49, 50, 51};
    const uint8x16_t row0 = vld1q_u8(lanes);
    int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3], t;
    const int32_t tail = n & 3;
    int32_t words = n >> 2;
    for (; words >= 4; words -= 4) {
        const int8x16_t x = vld1q_s8(a);
        s0 = vmladavaq_s8(s0, x, vldrbq_gather_offset_s8(w, row0));
        s1 = vmladavaq_s8(s1, x, vldrbq_gather_offset_s8(w, vaddq_n_u8(row0, 4)));
        s2 = vmladavaq_s8(s2, x, vldrbq_gather_offset_s8(w, vaddq_n_u8(row0, 8)));
        s3 = vmladavaq_s8(s3, x, vldrbq_gather_offset_s8(w, vaddq_n_u8(row0, 12)));
        a += 16;
        w += 64;
    }
    for (; words > 0; --words) {
        for (t = 0; t < 4; ++t) {
            const int32_t x = a[t];
            s0 += x * w[t];
            s1 += x * w[4 + t];
            s2 += x * w[8 + t];
            s3 += x * w[12 + t];
        }
        a += 4;
        w += 16;
    }
    for (t = 0; t < tail; ++t) {
        const int32_t x = a[t];
        s0 += x * w[t];
        s1 += x * w[tail + t];
        s2 += x * w[2 * tail + t];
        s3 += x * w[3 * tail + t];
    }
    acc[0] = s0;
    acc[1] = s1;
    acc[2] = s2;
    acc[3] = s3;
}

#elif defined(__ARM_FEATURE_DSP) && !defined(KIT_PORTABLE_KERNELS)
#define KIT_DSP_KERNELS 1
#include <arm_acle.h>

static inline uint32_t kit_read_u32(const int8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint32_t kit_ror8(uint32_t v) { return (v >> 8) | (v << 24); }

/* bytes 1 and 3 sign-extended to two int16 lanes: one SXTB16 with ROR #8 (GCC does not
 * fold the rotation into the instruction by itself) */
static inline uint32_t kit_sxtb16_odd(uint32_t v) {
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* Two columns of n bytes (n a multiple of 4) widened to int16 lanes, interleaved per 4
 * taps: a0 bytes 0,2 | a0 bytes 1,3 | a1 bytes 0,2 | a1 bytes 1,3, the operand order of
 * kit_mat_2x2_q15. */
static inline void kit_widen_pair(const int8_t *a0, const int8_t *a1, int32_t n, uint32_t *dst) {
    const int8_t *const end = a0 + n;
    while (a0 != end) {
        const uint32_t x0 = kit_read_u32(a0), x1 = kit_read_u32(a1);
        dst[0] = __sxtb16(x0);
        dst[1] = kit_sxtb16_odd(x0);
        dst[2] = __sxtb16(x1);
        dst[3] = kit_sxtb16_odd(x1);
        dst += 4;
        a0 += 4;
        a1 += 4;
    }
}

/* kit_mat_2x2 over n (a multiple of 4) taps, the columns given widened by kit_widen_pair:
 * per 4 taps two double-word loads, two weight words widened, eight SMLADs; 16 taps per
 * loop pass, then 8 and 4. In assembly: in C, GCC spills and spends 21 instructions per 4
 * taps; this loop spends 16.75 with 13 registers (so it also builds where r7 is the frame
 * pointer). */
#define KIT_MAT_2X2_Q15_TAPS                              \
    "ldrd %[x0e], %[x0o], [%[a]], #16\n\t"               \
    "ldrd %[x1e], %[x1o], [%[a], #-8]\n\t"               \
    "ldr %[w], [%[w0]], #4\n\t"                          \
    "sxtb16 %[t], %[w]\n\t"                              \
    "sxtb16 %[w], %[w], ror #8\n\t"                      \
    "smlad %[s00], %[x0e], %[t], %[s00]\n\t"             \
    "smlad %[s00], %[x0o], %[w], %[s00]\n\t"             \
    "smlad %[s10], %[x1e], %[t], %[s10]\n\t"             \
    "smlad %[s10], %[x1o], %[w], %[s10]\n\t"             \
    "ldr %[w], [%[w1]], #4\n\t"                          \
    "sxtb16 %[t], %[w]\n\t"                              \
    "sxtb16 %[w], %[w], ror #8\n\t"                      \
    "smlad %[s01], %[x0e], %[t], %[s01]\n\t"             \
    "smlad %[s01], %[x0o], %[w], %[s01]\n\t"             \
    "smlad %[s11], %[x1e], %[t], %[s11]\n\t"             \
    "smlad %[s11], %[x1o], %[w], %[s11]\n\t"

static KIT_ALWAYS_INLINE void kit_mat_2x2_q15(const uint32_t *a, const int8_t *w0, const int8_t *w1, int32_t n,
                                   int32_t acc[4]) {
    int32_t s00 = acc[0], s01 = acc[1], s10 = acc[2], s11 = acc[3];
    uint32_t x0e, x0o, x1e, x1o, w, t;
    const uint32_t *const end = a + (n & ~15); /* in memory: 13 registers are live without it */
    if (a != end) {
        __asm__("1:\n\t" KIT_MAT_2X2_Q15_TAPS KIT_MAT_2X2_Q15_TAPS KIT_MAT_2X2_Q15_TAPS KIT_MAT_2X2_Q15_TAPS
                "ldr %[t], %[end]\n\t"
                "cmp %[a], %[t]\n\t"
                "bne 1b\n\t"
                : [s00] "+r"(s00), [s01] "+r"(s01), [s10] "+r"(s10), [s11] "+r"(s11), [a] "+r"(a), [w0] "+r"(w0),
                  [w1] "+r"(w1), [x0e] "=&r"(x0e), [x0o] "=&r"(x0o), [x1e] "=&r"(x1e), [x1o] "=&r"(x1o),
                  [w] "=&r"(w), [t] "=&r"(t)
                : [end] "m"(end)
                : "cc", "memory");
    }
    if (n & 8) {
        __asm__(KIT_MAT_2X2_Q15_TAPS KIT_MAT_2X2_Q15_TAPS
                : [s00] "+r"(s00), [s01] "+r"(s01), [s10] "+r"(s10), [s11] "+r"(s11), [a] "+r"(a), [w0] "+r"(w0),
                  [w1] "+r"(w1), [x0e] "=&r"(x0e), [x0o] "=&r"(x0o), [x1e] "=&r"(x1e), [x1o] "=&r"(x1o),
                  [w] "=&r"(w), [t] "=&r"(t)
                :
                : "memory");
    }
    if (n & 4) {
        __asm__(KIT_MAT_2X2_Q15_TAPS
                : [s00] "+r"(s00), [s01] "+r"(s01), [s10] "+r"(s10), [s11] "+r"(s11), [a] "+r"(a), [w0] "+r"(w0),
                  [w1] "+r"(w1), [x0e] "=&r"(x0e), [x0o] "=&r"(x0o), [x1e] "=&r"(x1e), [x1o] "=&r"(x1o),
                  [w] "=&r"(w), [t] "=&r"(t)
                :
                : "memory");
    }
    acc[0] = s00;
    acc[1] = s01;
    acc[2] = s10;
    acc[3] = s11;
}
#undef KIT_MAT_2X2_Q15_TAPS

static inline int32_t kit_dot_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t input_offset) {
    int32_t xw = 0, wsum = 0, i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t xv = kit_read_u32(x + i), wv = kit_read_u32(w + i);
        const uint32_t w02 = __sxtb16(wv), w13 = kit_sxtb16_odd(wv);
        xw = __smlad(__sxtb16(xv), w02, xw);
        xw = __smlad(kit_sxtb16_odd(xv), w13, xw);
        wsum = __smlad(w02, 0x00010001u, wsum);
        wsum = __smlad(w13, 0x00010001u, wsum);
    }
    for (; i < n; ++i) {
        xw += (int32_t)x[i] * w[i];
        wsum += w[i];
    }
    return (int32_t)((uint32_t)xw + (uint32_t)input_offset * (uint32_t)wsum);
}

/* acc[0] += a0.w0, acc[1] += a0.w1, acc[2] += a1.w0, acc[3] += a1.w1 (n int8 each) */
static inline void kit_mat_2x2(const int8_t *a0, const int8_t *a1, const int8_t *w0, const int8_t *w1,
                               int32_t n, int32_t acc[4]) {
    int32_t s00 = acc[0], s01 = acc[1], s10 = acc[2], s11 = acc[3];
    const int8_t *const end = a0 + (n & ~3);
    while (a0 != end) {
        const uint32_t x0 = kit_read_u32(a0), x1 = kit_read_u32(a1);
        const uint32_t x0e = __sxtb16(x0), x0o = kit_sxtb16_odd(x0);
        const uint32_t x1e = __sxtb16(x1), x1o = kit_sxtb16_odd(x1);
        uint32_t w = kit_read_u32(w0), we = __sxtb16(w), wo = kit_sxtb16_odd(w);
        s00 = __smlad(x0e, we, s00);
        s00 = __smlad(x0o, wo, s00);
        s10 = __smlad(x1e, we, s10);
        s10 = __smlad(x1o, wo, s10);
        w = kit_read_u32(w1);
        we = __sxtb16(w);
        wo = kit_sxtb16_odd(w);
        s01 = __smlad(x0e, we, s01);
        s01 = __smlad(x0o, wo, s01);
        s11 = __smlad(x1e, we, s11);
        s11 = __smlad(x1o, wo, s11);
        a0 += 4;
        a1 += 4;
        w0 += 4;
        w1 += 4;
    }
    for (n &= 3; n > 0; --n) {
        const int32_t x0 = *a0++, x1 = *a1++, v0 = *w0++, v1 = *w1++;
        s00 += x0 * v0;
        s01 += x0 * v1;
        s10 += x1 * v0;
        s11 += x1 * v1;
    }
    acc[0] = s00;
    acc[1] = s01;
    acc[2] = s10;
    acc[3] = s11;
}

/* acc[r] += a . w[r * stride .. + n) for r = 0..3 */
static inline void kit_mat_1x4(const int8_t *a, const int8_t *w, int32_t stride, int32_t n, int32_t acc[4]) {
    int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
    const int8_t *w1 = w + stride, *w2 = w1 + stride, *w3 = w2 + stride;
    const int8_t *const end = a + (n & ~3);
    while (a != end) {
        const uint32_t x = kit_read_u32(a);
        const uint32_t xe = __sxtb16(x), xo = kit_sxtb16_odd(x);
        uint32_t v = kit_read_u32(w);
        s0 = __smlad(xe, __sxtb16(v), s0);
        s0 = __smlad(xo, kit_sxtb16_odd(v), s0);
        v = kit_read_u32(w1);
        s1 = __smlad(xe, __sxtb16(v), s1);
        s1 = __smlad(xo, kit_sxtb16_odd(v), s1);
        v = kit_read_u32(w2);
        s2 = __smlad(xe, __sxtb16(v), s2);
        s2 = __smlad(xo, kit_sxtb16_odd(v), s2);
        v = kit_read_u32(w3);
        s3 = __smlad(xe, __sxtb16(v), s3);
        s3 = __smlad(xo, kit_sxtb16_odd(v), s3);
        a += 4;
        w += 4;
        w1 += 4;
        w2 += 4;
        w3 += 4;
    }
    for (n &= 3; n > 0; --n) {
        const int32_t x = *a++;
        s0 += x * *w++;
        s1 += x * *w1++;
        s2 += x * *w2++;
        s3 += x * *w3++;
    }
    acc[0] = s0;
    acc[1] = s1;
    acc[2] = s2;
    acc[3] = s3;
}

/* kit_mat_1x4 on a block of 4 rows stored interleaved by the compiler
 * (kit.compile.emit_c.interleave_fc_weights): per 4 taps the 4 rows' words follow each
 * other, then the rows' n % 4 tail bytes. One weight pointer, so no register spills. */
static inline void kit_mat_1x4_blocked(const int8_t *a, const int8_t *w, int32_t n, int32_t acc[4]) {
    int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3], t;
    const int32_t tail = n & 3;
    const int8_t *const end = a + (n & ~3);
    while (a != end) {
        const uint32_t x = kit_read_u32(a);
        const uint32_t xe = __sxtb16(x), xo = kit_sxtb16_odd(x);
        uint32_t v = kit_read_u32(w);
        s0 = __smlad(xe, __sxtb16(v), s0);
        s0 = __smlad(xo, kit_sxtb16_odd(v), s0);
        v = kit_read_u32(w + 4);
        s1 = __smlad(xe, __sxtb16(v), s1);
        s1 = __smlad(xo, kit_sxtb16_odd(v), s1);
        v = kit_read_u32(w + 8);
        s2 = __smlad(xe, __sxtb16(v), s2);
        s2 = __smlad(xo, kit_sxtb16_odd(v), s2);
        v = kit_read_u32(w + 12);
        s3 = __smlad(xe, __sxtb16(v), s3);
        s3 = __smlad(xo, kit_sxtb16_odd(v), s3);
        a += 4;
        w += 16;
    }
    for (t = 0; t < tail; ++t) {
        const int32_t x = a[t];
        s0 += x * w[t];
        s1 += x * w[tail + t];
        s2 += x * w[2 * tail + t];
        s3 += x * w[3 * tail + t];
    }
    acc[0] = s0;
    acc[1] = s1;
    acc[2] = s2;
    acc[3] = s3;
}

#else
#define KIT_PORTABLE_PATH 1 /* neither Arm DSP nor Helium: the register-blocked C loops */

static inline int32_t kit_dot_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t input_offset) {
    int32_t acc = 0, i;
    for (i = 0; i < n; ++i) {
        acc += (int32_t)w[i] * ((int32_t)x[i] + input_offset);
    }
    return acc;
}

/* acc[0] += a0.w0, acc[1] += a0.w1, acc[2] += a1.w0, acc[3] += a1.w1 (n int8 each) */
static inline void kit_mat_2x2(const int8_t *a0, const int8_t *a1, const int8_t *w0, const int8_t *w1,
                               int32_t n, int32_t acc[4]) {
    int32_t s00 = acc[0], s01 = acc[1], s10 = acc[2], s11 = acc[3];
    const int8_t *const end = a0 + (n & ~1);
    while (a0 != end) {  /* two taps per pass: half the loop overhead */
        int32_t x0 = a0[0], x1 = a1[0], v0 = w0[0], v1 = w1[0];
        s00 += x0 * v0;
        s01 += x0 * v1;
        s10 += x1 * v0;
        s11 += x1 * v1;
        x0 = a0[1];
        x1 = a1[1];
        v0 = w0[1];
        v1 = w1[1];
        s00 += x0 * v0;
        s01 += x0 * v1;
        s10 += x1 * v0;
        s11 += x1 * v1;
        a0 += 2;
        a1 += 2;
        w0 += 2;
        w1 += 2;
    }
    if (n & 1) {
        const int32_t x0 = *a0, x1 = *a1, v0 = *w0, v1 = *w1;
        s00 += x0 * v0;
        s01 += x0 * v1;
        s10 += x1 * v0;
        s11 += x1 * v1;
    }
    acc[0] = s00;
    acc[1] = s01;
    acc[2] = s10;
    acc[3] = s11;
}

/* acc[r] += a . w[r * stride .. + n) for r = 0..3 */
static inline void kit_mat_1x4(const int8_t *a, const int8_t *w, int32_t stride, int32_t n, int32_t acc[4]) {
    int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
    const int8_t *w1 = w + stride, *w2 = w1 + stride, *w3 = w2 + stride;
    const int8_t *const end = a + n;
    while (a != end) {
        const int32_t x = *a++;
        s0 += x * *w++;
        s1 += x * *w1++;
        s2 += x * *w2++;
        s3 += x * *w3++;
    }
    acc[0] = s0;
    acc[1] = s1;
    acc[2] = s2;
    acc[3] = s3;
}

/* kit_mat_1x4 on a block of 4 rows stored interleaved by the compiler
 * (kit.compile.emit_c.interleave_fc_weights): per 4 taps the 4 rows' words follow each
 * other, then the rows' n % 4 tail bytes. */
static inline void kit_mat_1x4_blocked(const int8_t *a, const int8_t *w, int32_t n, int32_t acc[4]) {
    int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3], t;
    const int32_t tail = n & 3;
    const int8_t *const end = a + (n & ~3);
    while (a != end) {
        for (t = 0; t < 4; ++t) {
            const int32_t x = a[t];
            s0 += x * w[t];
            s1 += x * w[4 + t];
            s2 += x * w[8 + t];
            s3 += x * w[12 + t];
        }
        a += 4;
        w += 16;
    }
    for (t = 0; t < tail; ++t) {
        const int32_t x = a[t];
        s0 += x * w[t];
        s1 += x * w[tail + t];
        s2 += x * w[2 * tail + t];
        s3 += x * w[3 * tail + t];
    }
    acc[0] = s0;
    acc[1] = s1;
    acc[2] = s2;
    acc[3] = s3;
}

#endif

/* kit_requantize + output offset + clamp to [lo, hi] (int8: -128 <= lo <= hi <= 127), with a
 * short path on the DSP cores for right shifts of 1..23 (every TFLM conv / depthwise / FC
 * multiplier seen):
 * the rounding division of the SRDHM result y by 2^e is (y + 2^(e-1) - (y < 0)) >> e, which
 * is RoundingDivideByPOT's round half away from zero exactly while the add does not
 * overflow. The add saturates (QADD) instead: that happens only for
 * y > INT32_MAX - 2^(e-1), whose quotient is then 2^(31-e) - 1 instead of 2^(31-e); both are
 * >= 255 for e <= 23, so after adding an int8 zero point both clamp to hi: the same byte. */
static inline int32_t kit_requantize_s8(int32_t acc, int32_t multiplier, int32_t shift, int32_t offset, int32_t lo,
                                        int32_t hi) {
    int32_t r;
#if KIT_DSP_KERNELS
    const uint32_t e1 = (uint32_t)(-shift - 1); /* right shift - 1 */
    if (e1 < 23u) {
        const int32_t y = (int32_t)(((int64_t)acc * multiplier + ((int64_t)1 << 30)) >> 31);
        r = __qadd(y, (int32_t)(1u << e1) + (y >> 31)) >> (e1 + 1u);
    } else {
        r = kit_requantize(acc, multiplier, shift);
    }
#else /* without QADD the saturation test costs more than it saves (rv32, Helium builds) */
    r = kit_requantize(acc, multiplier, shift);
#endif
    r += offset;
    return r < lo ? lo : (r > hi ? hi : r);
}

#if KIT_DSP_KERNELS
/* TFLM's sum -> int32 before the clamp (kit_requantize_s8 less the clamp; the short path's
 * saturation is harmless for the same reason: it is followed by kit_clamp4_s8). */
static inline int32_t kit_requantize_raw(int32_t acc, int32_t multiplier, int32_t shift, int32_t offset) {
    const uint32_t e1 = (uint32_t)(-shift - 1);
    int32_t r;
    if (e1 < 23u) {
        const int32_t y = (int32_t)(((int64_t)acc * multiplier + ((int64_t)1 << 30)) >> 31);
        r = __qadd(y, (int32_t)(1u << e1) + (y >> 31)) >> (e1 + 1u);
    } else {
        r = kit_requantize(acc, multiplier, shift);
    }
    return r + offset;
}

/* Four requantized channels c..c+3 to four int8 bytes at out, clamped to [lo, hi]: SSAT
 * saturates each to int8 (the clamp to [-128, 127] that [lo, hi] lies in), PKHBT + UXTB16 +
 * ORR pack the bytes, and SSUB8 / SEL take the bytewise max with lo and min with hi (lo4,
 * hi4: lo and hi in every byte). One word store. */
static inline void kit_store4_s8(int8_t *out, int32_t r0, int32_t r1, int32_t r2, int32_t r3, uint32_t lo4,
                                 uint32_t hi4) {
    const uint32_t p02 = ((uint32_t)__ssat(r0, 8) & 0xFFFFu) | ((uint32_t)__ssat(r2, 8) << 16); /* PKHBT */
    const uint32_t p13 = ((uint32_t)__ssat(r1, 8) & 0xFFFFu) | ((uint32_t)__ssat(r3, 8) << 16);
    const uint32_t even = __uxtb16(p02), odd = __uxtb16(p13);
    uint32_t v = even | (odd << 8);
    (void)__ssub8((int8x4_t)v, (int8x4_t)lo4); /* GE where v >= lo */
    v = (uint32_t)__sel((uint8x4_t)v, (uint8x4_t)lo4);
    (void)__ssub8((int8x4_t)v, (int8x4_t)hi4); /* GE where v >= hi */
    v = (uint32_t)__sel((uint8x4_t)hi4, (uint8x4_t)v);
    memcpy(out, &v, sizeof v);
}
#endif

#endif /* KIT_DOT_H */
