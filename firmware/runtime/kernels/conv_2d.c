/* CONV_2D int8, per-channel requantization (TFLM reference_integer_ops::ConvPerChannel),
 * including grouped convolutions (filter input depth < input depth).
 *
 * Fast path (non-grouped, with the compiler's kernel_bias): a matrix multiply of filter rows
 * by input columns, two output pixels x two output channels per block (kit_mat_2x2). A 1x1
 * convolution without padding reads its columns straight from the input; any other filter
 * copies the two windows into im2col columns, padded taps set to the input zero point (they
 * then add 0, as TFLM's skipped taps do). Windows larger than KIT_IM2COL_MAX bytes take the
 * general path, and so does an op the compiler gave less scratch than im2col_scratch_bytes
 * (the columns live in the arena, not on the stack).
 *
 * Arm DSP builds (Cortex-M4/M7) run conv_dsp where no ADD is fused: the two columns' taps
 * widened to int16 lanes once per pixel pair (kit_widen_pair / widen_column), every channel
 * pair through kit_mat_2x2_q15 (8 SMLADs per 4 taps, 16 taps per pass), then per block the
 * two channels' constants read once, an exact requantization in a few instructions per
 * output (dsp_requantize: SMMULR, or a 64-bit SMLAL sum where a bias is near 2^30) and the
 * four bytes clamped together (dsp_store2x2). With a fused ADD conv_dsp_add runs the same
 * blocks for an even channel count and 31-bit sums, each byte then added to its shortcut byte
 * (kit_add.h); other fused convs take conv_pairs.
 *
 * Portable builds (no Arm DSP, no Helium: rv32, Xtensa, the host) run conv_swar instead: two
 * pixels per 32-bit word, so one MUL gives two products (conv_block_swar), or for more than
 * KIT_SWAR_TAPS taps or a -128 weight 4-channel x 3-pixel blocks (conv_block_4x3), their
 * columns on the stack.
 *
 * A CONV_2D with a fused ADD (kit.compile.fuse) runs the same blocks, each requantized byte
 * then added to the shortcut's byte with ADD's own arithmetic in its short form (kit_add.h,
 * as the standalone ADD runs it) before it is stored; the blocks without one are separate
 * copies of the same code, so their loops test nothing more. An ADD whose params fall outside
 * that form (none TFLite writes), or a KIT_SINGLE_ROUNDING build, takes the general path.
 *
 * Memory order (kit.compile.overlap relies on it to write the output over a dying input):
 * output pixels in raster order, in blocks of at most four (conv_swar), three
 * (conv_portable) or two (conv_pairs, conv_dsp), each block reading only its pixels' input
 * windows. With a fused ADD, output element i's shortcut byte i is read before element i is
 * written, and a block reads all of a channel's shortcut bytes before writing any of them (so
 * the output may sit exactly on the shortcut, or CONV_BLOCK_PIXELS pixels below it).
 *
 * General path: the filter window is clipped to the input once per output pixel; the sum
 * is the same as TFLM's (int32 adds of the same products), only the skipped out-of-bounds
 * taps are never visited. */
#include <string.h>

#include "kit_add.h"
#include "kit_dot.h"
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

#ifndef KIT_IM2COL_MAX
#define KIT_IM2COL_MAX 576 /* bytes per column: a 3x3 window of 64 channels */
#endif

/* The input window of output pixel `pixel` as one column of `k` bytes. A filter row wholly
 * inside the image without dilation is one run of filter.w * in_c input bytes. */
static KIT_COPY_LOOPS void im2col(const kit_conv_params_t *p, const int8_t *input, int32_t pixel, int8_t *col) {
    const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
    const int32_t oy = pixel / p->output.w, ox = pixel % p->output.w;
    const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
    const int32_t row_bytes = p->filter.w * in_c;
    const int whole_rows = p->dilation_w == 1 && x0 >= 0 && x0 + p->filter.w <= in_w;
    const int pad = (int)(int8_t)(-p->input_offset);
    int32_t fy, fx;
    for (fy = 0; fy < p->filter.h; ++fy) {
        const int32_t y = y0 + fy * p->dilation_h;
        if (y < 0 || y >= in_h) {
            kit_fill_s8(col, pad, row_bytes);
        } else if (whole_rows) {
            kit_copy_s8(col, input + ((size_t)y * in_w + x0) * in_c, row_bytes);
        } else {
            for (fx = 0; fx < p->filter.w; ++fx) {
                const int32_t x = x0 + fx * p->dilation_w;
                if (x < 0 || x >= in_w) {
                    kit_fill_s8(col + fx * in_c, pad, in_c);
                } else {
                    kit_copy_s8(col + fx * in_c, input + ((size_t)y * in_w + x) * in_c, in_c);
                }
            }
        }
        col += row_bytes;
    }
}

#if !KIT_PORTABLE_PATH
/* Scratch of conv_pairs (kit.compile.scratch mirrors it, for the DSP layout, the larger; the
 * portable register blocks keep their columns on the stack).
 * Helium: the two im2col columns (2 * k bytes; none when a 1x1 reads the input directly).
 * DSP: the first k4 taps of both columns widened to int16 lanes (4 * k4 bytes at the start,
 * word aligned), then one im2col column (k bytes) the two pixels take in turn, then 4 bytes
 * keeping the first column's last k - k4 taps; a direct 1x1 needs the lanes only. */
static int32_t im2col_scratch_bytes(int32_t k, int direct) {
#if KIT_DSP_KERNELS
    const int32_t k4 = k <= KIT_IM2COL_MAX ? k & ~3 : 0;
    return 4 * k4 + (direct ? 0 : k + 4);
#else
    return direct ? 0 : 2 * k;
#endif
}
#endif

#if KIT_DSP_KERNELS
/* One column's first n taps (a multiple of 4) as int16 lanes in kit_widen_pair's layout:
 * lanes 0, 1 of every 4 words for the first column (dst = wide), 2, 3 for the second
 * (dst = wide + 2). */
static inline void widen_column(const int8_t *a, int32_t n, uint32_t *dst) {
    const int8_t *const end = a + n;
    while (a != end) {
        const uint32_t x = kit_read_u32(a);
        dst[0] = __sxtb16(x);
        dst[1] = kit_sxtb16_odd(x);
        dst += 4;
        a += 4;
    }
}
#endif

/* TFLM's requantization (kit_mbqm + offset + clamp): kit_requantize_s8 */
static inline int8_t requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t offset, int32_t lo,
                                int32_t hi) {
    return (int8_t)kit_requantize_s8(acc, multiplier, shift, offset, lo, hi);
}

#if KIT_PORTABLE_PATH
/* The fused stores of the register blocks (kit.compile.fuse): channel c's sums of three
 * (four) pixels requantized as kit_rq_store3 does, each byte then added to the shortcut's
 * byte (kit_add.h) and stored at o0[c], o1[c], ... Every shortcut byte is read before any output
 * byte is written: the output may sit on the shortcut, and a block's repeated pixel (the
 * last one of a short block, at the same address) must add the shortcut's byte, not the sum
 * just stored over it. A repeated channel is not stored twice, for the same reason. */
static KIT_ALWAYS_INLINE void fused_store3(int32_t s0, int32_t s1, int32_t s2, int32_t multiplier, int32_t shift,
                                           int32_t offset, int32_t lo, int32_t hi, const kit_add_fast_t *add,
                                           int8_t *o0, int8_t *o1, int8_t *o2, const int8_t *const sc[3],
                                           int32_t c) {
    const kit_rq_t q = kit_rq_prepare(multiplier, shift);
    const int32_t b0 = sc[0][c], b1 = sc[1][c], b2 = sc[2][c];
    if (q.fast) {
        s0 = kit_rq_fast(s0, q.m2, q.e, q.round);
        s1 = kit_rq_fast(s1, q.m2, q.e, q.round);
        s2 = kit_rq_fast(s2, q.m2, q.e, q.round);
    } else {
        s0 = kit_requantize_cold(s0, multiplier, shift);
        s1 = kit_requantize_cold(s1, multiplier, shift);
        s2 = kit_requantize_cold(s2, multiplier, shift);
    }
    o0[c] = kit_add_fast_s8(add, kit_clamp_s8(s0 + offset, lo, hi), b0);
    o1[c] = kit_add_fast_s8(add, kit_clamp_s8(s1 + offset, lo, hi), b1);
    o2[c] = kit_add_fast_s8(add, kit_clamp_s8(s2 + offset, lo, hi), b2);
}

static KIT_ALWAYS_INLINE void fused_store4(int32_t s0, int32_t s1, int32_t s2, int32_t s3, int32_t multiplier,
                                           int32_t shift, int32_t offset, int32_t lo, int32_t hi,
                                           const kit_add_fast_t *add, int8_t *o0, int8_t *o1, int8_t *o2,
                                           int8_t *o3, const int8_t *const sc[4], int32_t c) {
    const kit_rq_t q = kit_rq_prepare(multiplier, shift);
    const int32_t b0 = sc[0][c], b1 = sc[1][c], b2 = sc[2][c], b3 = sc[3][c];
    if (q.fast) {
        s0 = kit_rq_fast(s0, q.m2, q.e, q.round);
        s1 = kit_rq_fast(s1, q.m2, q.e, q.round);
        s2 = kit_rq_fast(s2, q.m2, q.e, q.round);
        s3 = kit_rq_fast(s3, q.m2, q.e, q.round);
    } else {
        s0 = kit_requantize_cold(s0, multiplier, shift);
        s1 = kit_requantize_cold(s1, multiplier, shift);
        s2 = kit_requantize_cold(s2, multiplier, shift);
        s3 = kit_requantize_cold(s3, multiplier, shift);
    }
    o0[c] = kit_add_fast_s8(add, kit_clamp_s8(s0 + offset, lo, hi), b0);
    o1[c] = kit_add_fast_s8(add, kit_clamp_s8(s1 + offset, lo, hi), b1);
    o2[c] = kit_add_fast_s8(add, kit_clamp_s8(s2 + offset, lo, hi), b2);
    o3[c] = kit_add_fast_s8(add, kit_clamp_s8(s3 + offset, lo, hi), b3);
}

/* One tap of the 4-channel x 3-column block: 3 input and 4 weight loads, 12 products. */
#define KIT_CONV_TAP(o)                                              \
    do {                                                             \
        const int32_t x0 = c0[o], x1 = c1[o], x2 = c2[o];            \
        int32_t v = w0[o];                                           \
        a00 += x0 * v; a01 += x1 * v; a02 += x2 * v;                 \
        v = w1[o];                                                   \
        a10 += x0 * v; a11 += x1 * v; a12 += x2 * v;                 \
        v = w2[o];                                                   \
        a20 += x0 * v; a21 += x1 * v; a22 += x2 * v;                 \
        v = w3[o];                                                   \
        a30 += x0 * v; a31 += x1 * v; a32 += x2 * v;                 \
    } while (0)

/* Output channels oc[0..3] of the three pixels whose k-byte columns are c0, c1, c2 (the
 * outputs out[0..2]): 12 sums in registers (rv32 has 31 GPRs: 12 sums, 7 pointers, 3
 * inputs and a weight fit), 4 taps per pass, then TFLM's requantization per channel with
 * its constants prepared once. A clamped (repeated) channel or pixel just writes the same
 * byte twice; with a fused ADD (add, the shortcut rows sc[0..2]) a repeated channel is
 * stored once (fused_store3 says why). */
static KIT_ALWAYS_INLINE void block_4x3(const kit_conv_params_t *p, const int8_t *c0, const int8_t *c1,
                                        const int8_t *c2, const int8_t *filter, int32_t k, const int32_t oc[4],
                                        int8_t *const out[3], const kit_add_fast_t *add, const int8_t *const sc[3]) {
    const int8_t *w0 = filter + (size_t)oc[0] * k, *w1 = filter + (size_t)oc[1] * k;
    const int8_t *w2 = filter + (size_t)oc[2] * k, *w3 = filter + (size_t)oc[3] * k;
    const int32_t *kb = p->kernel_bias;
    int32_t a00 = kb[oc[0]], a10 = kb[oc[1]], a20 = kb[oc[2]], a30 = kb[oc[3]];
    int32_t a01 = a00, a02 = a00, a11 = a10, a12 = a10, a21 = a20, a22 = a20, a31 = a30, a32 = a30;
    const int8_t *const end4 = c0 + (k & ~3), *const end = c0 + k;
    while (c0 != end4) {
        KIT_CONV_TAP(0);
        KIT_CONV_TAP(1);
        KIT_CONV_TAP(2);
        KIT_CONV_TAP(3);
        c0 += 4; c1 += 4; c2 += 4; w0 += 4; w1 += 4; w2 += 4; w3 += 4;
    }
    while (c0 != end) {
        KIT_CONV_TAP(0);
        ++c0; ++c1; ++c2; ++w0; ++w1; ++w2; ++w3;
    }
    {
        const int32_t offset = p->output_offset, lo = p->activation_min, hi = p->activation_max;
        const int32_t *mult = p->output_multiplier, *shift = p->output_shift;
        int8_t *const o0 = out[0], *const o1 = out[1], *const o2 = out[2];
        const int32_t q0 = oc[0], q1 = oc[1], q2 = oc[2], q3 = oc[3];
        if (add == NULL) {
            kit_rq_store3(a00, a01, a02, mult[q0], shift[q0], offset, lo, hi, o0 + q0, o1 + q0, o2 + q0);
            kit_rq_store3(a10, a11, a12, mult[q1], shift[q1], offset, lo, hi, o0 + q1, o1 + q1, o2 + q1);
            kit_rq_store3(a20, a21, a22, mult[q2], shift[q2], offset, lo, hi, o0 + q2, o1 + q2, o2 + q2);
            kit_rq_store3(a30, a31, a32, mult[q3], shift[q3], offset, lo, hi, o0 + q3, o1 + q3, o2 + q3);
        } else {
            fused_store3(a00, a01, a02, mult[q0], shift[q0], offset, lo, hi, add, o0, o1, o2, sc, q0);
            if (q1 != q0) {
                fused_store3(a10, a11, a12, mult[q1], shift[q1], offset, lo, hi, add, o0, o1, o2, sc, q1);
            }
            if (q2 != q1) {
                fused_store3(a20, a21, a22, mult[q2], shift[q2], offset, lo, hi, add, o0, o1, o2, sc, q2);
            }
            if (q3 != q2) {
                fused_store3(a30, a31, a32, mult[q3], shift[q3], offset, lo, hi, add, o0, o1, o2, sc, q3);
            }
        }
    }
}
#undef KIT_CONV_TAP

/* block_4x3 as it was before the fusion, and with a fused ADD: two copies, so the loop
 * without one tests nothing more */
static KIT_NO_PRESCHED void conv_block_4x3(const kit_conv_params_t *p, const int8_t *c0, const int8_t *c1,
                                           const int8_t *c2, const int8_t *filter, int32_t k, const int32_t oc[4],
                                           int8_t *const out[3]) {
    block_4x3(p, c0, c1, c2, filter, k, oc, out, NULL, NULL);
}

static KIT_NO_PRESCHED void conv_block_4x3_add(const kit_conv_params_t *p, const int8_t *c0, const int8_t *c1,
                                               const int8_t *c2, const int8_t *filter, int32_t k, const int32_t oc[4],
                                               int8_t *const out[3], const kit_add_fast_t *add,
                                               const int8_t *const sc[3]) {
    const kit_add_fast_t constants = *add; /* a local the byte stores cannot alias */
    block_4x3(p, c0, c1, c2, filter, k, oc, out, &constants, sc);
}

#ifndef KIT_SWAR_TAPS
#define KIT_SWAR_TAPS 288 /* taps per column of the two-pixel-lane path: 2 x 288 words on the stack */
#endif

/* Two pixels in one word: x0 + x1 * 2^16 (x0 sign-extended, so the high half holds x1 - 1
 * where x0 < 0). Times an int8 weight w it is x0 * w + x1 * w * 2^16, and a sum P of two such
 * products is exact in int32: |x * w| <= 128 * 127, so each half-sum L (pixel 0) and H
 * (pixel 1) lies in [-32512, 32512] and P = L + H * 2^16 does not overflow. H is then
 * (P + 2^15) >> 16 exactly (L + 2^15 lies in [0, 2^16)) and L = P - H * 2^16: one MUL per
 * two products. A block keeps per pixel pair the sum of the P words (mod 2^32) and the sum of
 * their H halves; the pixel-0 sum is the first less the second times 2^16, the same int32
 * (mod 2^32) as summing the products one by one. Needs weights in [-127, 127] (TFLite's
 * int8 weights; conv_has_min_weight sends any -128 to conv_block_4x3). */
static KIT_ALWAYS_INLINE uint32_t kit_pack_pair(int32_t x0, int32_t x1) {
    return ((uint32_t)x1 << 16) + (uint32_t)x0;
}

/* one channel's two taps into the pair sums (sum of P words, sum of H halves) */
#define KIT_SWAR_PAIR(xa, xb, wa, wb, sp, sh)                       \
    do {                                                            \
        const int32_t pr_ = (int32_t)(xa) * (wa) + (int32_t)(xb) * (wb); \
        sp += (uint32_t)pr_;                                        \
        sh += (pr_ + half) >> 16;                                   \
    } while (0)
#define KIT_SWAR_TAPS2(o)                                                               \
    do {                                                                                \
        const uint32_t x00 = x[4 * (o)], x10 = x[4 * (o) + 1];                          \
        const uint32_t x01 = x[4 * (o) + 2], x11 = x[4 * (o) + 3];                      \
        int32_t wa = w0[2 * (o)], wb = w0[2 * (o) + 1];                                 \
        KIT_SWAR_PAIR(x00, x01, wa, wb, p00, h00);                                      \
        KIT_SWAR_PAIR(x10, x11, wa, wb, p01, h01);                                      \
        wa = w1[2 * (o)];                                                               \
        wb = w1[2 * (o) + 1];                                                           \
        KIT_SWAR_PAIR(x00, x01, wa, wb, p10, h10);                                      \
        KIT_SWAR_PAIR(x10, x11, wa, wb, p11, h11);                                      \
    } while (0)

/* Every output channel of four pixels, two channels at a time (an odd last one runs
 * twice), given the pixels as two packed pairs interleaved per tap (x[2t + j]: pair j's
 * word of tap t); out[0..3] are the pixels' output rows. 8 sums, 4 words, 2 weights and 5
 * pointers stay in registers (3 channels at a time would spill on rv32). With a fused ADD
 * (add, the shortcut rows sc[0..3]) the odd last channel is stored once (fused_store3). */
static KIT_ALWAYS_INLINE void block_swar(const kit_conv_params_t *p, const uint32_t *const x_start,
                                         const int8_t *filter, int32_t k, int8_t *const out[4],
                                         const kit_add_fast_t *add, const int8_t *const sc[4]) {
    const int32_t out_c = p->output.c, half = 1 << 15;
    const int32_t offset = p->output_offset, lo = p->activation_min, hi = p->activation_max;
    const int32_t *const mult = p->output_multiplier, *const shift = p->output_shift, *const kb = p->kernel_bias;
    int8_t *const o0 = out[0], *const o1 = out[1], *const o2 = out[2], *const o3 = out[3];
    const uint32_t *const x_end4 = x_start + 2 * (k & ~3);
    int32_t oc;
    for (oc = 0; oc < out_c; oc += 2) {
        const int32_t q0 = oc, q1 = oc + 1 < out_c ? oc + 1 : oc;
        const int8_t *w0 = filter + (size_t)q0 * k, *w1 = filter + (size_t)q1 * k;
        const uint32_t *x = x_start;
        uint32_t p00 = 0, p01 = 0, p10 = 0, p11 = 0;
        int32_t h00 = 0, h01 = 0, h10 = 0, h11 = 0;
        while (x != x_end4) {
            KIT_SWAR_TAPS2(0);
            KIT_SWAR_TAPS2(1);
            x += 8;
            w0 += 4;
            w1 += 4;
        }
        if (k & 2) {
            KIT_SWAR_TAPS2(0);
            x += 4;
            w0 += 2;
            w1 += 2;
        }
        if (k & 1) { /* the last tap alone: its second word and weight are 0 */
            const uint32_t x00 = x[0], x10 = x[1];
            KIT_SWAR_PAIR(x00, 0, w0[0], 0, p00, h00);
            KIT_SWAR_PAIR(x10, 0, w0[0], 0, p01, h01);
            KIT_SWAR_PAIR(x00, 0, w1[0], 0, p10, h10);
            KIT_SWAR_PAIR(x10, 0, w1[0], 0, p11, h11);
        }
        {
            const int32_t b0 = kb[q0], b1 = kb[q1];
            /* pixel 0 of pair j: kb + (P sum - H sum * 2^16); pixel 1: kb + H sum (mod 2^32) */
#define KIT_SWAR_LO(b, sp, sh) ((int32_t)((uint32_t)(b) + (sp) - ((uint32_t)(sh) << 16)))
#define KIT_SWAR_HI(b, sh) ((int32_t)((uint32_t)(b) + (uint32_t)(sh)))
            if (add == NULL) {
                kit_rq_store4(KIT_SWAR_LO(b0, p00, h00), KIT_SWAR_HI(b0, h00), KIT_SWAR_LO(b0, p01, h01),
                              KIT_SWAR_HI(b0, h01), mult[q0], shift[q0], offset, lo, hi, o0 + q0, o1 + q0, o2 + q0,
                              o3 + q0);
                kit_rq_store4(KIT_SWAR_LO(b1, p10, h10), KIT_SWAR_HI(b1, h10), KIT_SWAR_LO(b1, p11, h11),
                              KIT_SWAR_HI(b1, h11), mult[q1], shift[q1], offset, lo, hi, o0 + q1, o1 + q1, o2 + q1,
                              o3 + q1);
            } else {
                fused_store4(KIT_SWAR_LO(b0, p00, h00), KIT_SWAR_HI(b0, h00), KIT_SWAR_LO(b0, p01, h01),
                             KIT_SWAR_HI(b0, h01), mult[q0], shift[q0], offset, lo, hi, add, o0, o1, o2, o3,
                             sc, q0);
                if (q1 != q0) {
                    fused_store4(KIT_SWAR_LO(b1, p10, h10), KIT_SWAR_HI(b1, h10), KIT_SWAR_LO(b1, p11, h11),
                                 KIT_SWAR_HI(b1, h11), mult[q1], shift[q1], offset, lo, hi, add, o0, o1, o2, o3,
                             sc, q1);
                }
            }
#undef KIT_SWAR_HI
#undef KIT_SWAR_LO
        }
    }
}
#undef KIT_SWAR_TAPS2
#undef KIT_SWAR_PAIR

/* block_swar without and with a fused ADD (as conv_block_4x3) */
static KIT_NO_PRESCHED void conv_block_swar(const kit_conv_params_t *p, const uint32_t *const x_start,
                                            const int8_t *filter, int32_t k, int8_t *const out[4]) {
    block_swar(p, x_start, filter, k, out, NULL, NULL);
}

static KIT_NO_PRESCHED void conv_block_swar_add(const kit_conv_params_t *p, const uint32_t *const x_start,
                                                const int8_t *filter, int32_t k, int8_t *const out[4],
                                                const kit_add_fast_t *add, const int8_t *const sc[4]) {
    const kit_add_fast_t constants = *add; /* a local the byte stores cannot alias */
    block_swar(p, x_start, filter, k, out, &constants, sc);
}

/* Does the filter hold an int8 -128 (outside TFLite's symmetric [-127, 127])? */
static int conv_has_min_weight(const int8_t *filter, size_t n) {
    size_t i;
    for (i = 0; i < n; ++i) {
        if (filter[i] == -128) {
            return 1;
        }
    }
    return 0;
}

/* The two-pixel-lane path: blocks of 4 pixels (two packed pairs) x 2 channels; with a fused
 * ADD (add, not NULL) the sums go over the shortcut (the output's shape). */
static KIT_ALWAYS_INLINE void swar_pixels(const kit_conv_params_t *p, const int8_t *input, const int8_t *filter,
                                          int8_t *output, const int8_t *shortcut, const kit_add_fast_t *add) {
    const int32_t k = p->filter.h * p->filter.w * p->input.c, out_c = p->output.c;
    const int32_t pixels = p->output.h * p->output.w;
    const int direct = p->filter.h == 1 && p->filter.w == 1 && p->pad_h == 0 && p->pad_w == 0;
    int8_t cols[2][KIT_SWAR_TAPS];
    uint32_t packed[2 * KIT_SWAR_TAPS];
    int32_t px, j, t;
    for (px = 0; px < pixels; px += 4) {
        int8_t *out[4];
        const int8_t *sc[4];
        for (j = 0; j < 4; j += 2) {
            const int8_t *col[2];
            int32_t i;
            for (i = 0; i < 2; ++i) {
                const int32_t q = px + j + i < pixels ? px + j + i : pixels - 1; /* a short group repeats */
                out[j + i] = output + (size_t)q * out_c;
                sc[j + i] = add != NULL ? shortcut + (size_t)q * out_c : NULL;
                if (direct) {
                    const int32_t w = p->output.w;
                    col[i] = input + ((size_t)(q / w) * p->stride_h * p->input.w + (size_t)(q % w) * p->stride_w) *
                                         p->input.c;
                } else {
                    im2col(p, input, q, cols[i]);
                    col[i] = cols[i];
                }
            }
            for (t = 0; t < k; ++t) {
                packed[2 * t + (j >> 1)] = kit_pack_pair(col[0][t], col[1][t]);
            }
        }
        if (add == NULL) {
            conv_block_swar(p, packed, filter, k, out);
        } else {
            conv_block_swar_add(p, packed, filter, k, out, add, sc);
        }
    }
}

/* The portable fast path: blocks of 3 pixels x 4 channels (conv_block_4x3); a 1x1 window
 * without padding reads its columns in place, any other is copied by im2col. A fused ADD
 * as in conv_swar. */
static KIT_ALWAYS_INLINE void portable_pixels(const kit_conv_params_t *p, const int8_t *input,
                                              const int8_t *filter, int8_t *output, const int8_t *shortcut,
                                              const kit_add_fast_t *add) {
    const int32_t k = p->filter.h * p->filter.w * p->input.c, out_c = p->output.c;
    const int32_t pixels = p->output.h * p->output.w;
    const int direct = p->filter.h == 1 && p->filter.w == 1 && p->pad_h == 0 && p->pad_w == 0;
    int8_t cols[3][KIT_IM2COL_MAX];
    int32_t px, oc, j;
    for (px = 0; px < pixels; px += 3) {
        const int8_t *col[3];
        int8_t *out[3];
        const int8_t *sc[3];
        for (j = 0; j < 3; ++j) {
            const int32_t q = px + j < pixels ? px + j : pixels - 1;  /* a short last group repeats its pixel */
            out[j] = output + (size_t)q * out_c;
            sc[j] = add != NULL ? shortcut + (size_t)q * out_c : NULL;
            if (direct) {
                const int32_t w = p->output.w;
                col[j] = input + ((size_t)(q / w) * p->stride_h * p->input.w + (size_t)(q % w) * p->stride_w) *
                                     p->input.c;
            } else {
                im2col(p, input, q, cols[j]);
                col[j] = cols[j];
            }
        }
        for (oc = 0; oc < out_c; oc += 4) {
            const int32_t last = out_c - 1;
            const int32_t ocs[4] = {oc, oc + 1 < out_c ? oc + 1 : last, oc + 2 < out_c ? oc + 2 : last,
                                    oc + 3 < out_c ? oc + 3 : last};
            if (add == NULL) {
                conv_block_4x3(p, col[0], col[1], col[2], filter, k, ocs, out);
            } else {
                conv_block_4x3_add(p, col[0], col[1], col[2], filter, k, ocs, out, add, sc);
            }
        }
    }
}

/* The two drivers without and with a fused ADD: the loops without one are the loops they
 * were (their registers and their packing loop untouched by the shortcut's pointers). */
static void conv_swar(const kit_conv_params_t *p, const int8_t *input, const int8_t *filter, int8_t *output) {
    swar_pixels(p, input, filter, output, NULL, NULL);
}

static void conv_swar_add(const kit_conv_params_t *p, const int8_t *input, const int8_t *filter, int8_t *output,
                          const int8_t *shortcut, const kit_add_fast_t *add) {
    swar_pixels(p, input, filter, output, shortcut, add);
}

static void conv_portable(const kit_conv_params_t *p, const int8_t *input, const int8_t *filter, int8_t *output) {
    portable_pixels(p, input, filter, output, NULL, NULL);
}

static void conv_portable_add(const kit_conv_params_t *p, const int8_t *input, const int8_t *filter,
                              int8_t *output, const int8_t *shortcut, const kit_add_fast_t *add) {
    portable_pixels(p, input, filter, output, shortcut, add);
}
#endif

/* Output element i of the general path: the requantized convolution, or with a fused ADD
 * (kit.compile.fuse) that ADD of it and the shortcut's element i, read just before element i
 * is written (the output may sit on the shortcut). */
static inline int8_t fused(const kit_conv_params_t *p, const int8_t *shortcut, size_t i, int8_t conv) {
    if (shortcut == NULL) {
        return conv;
    }
    return p->fused_conv_is_input2 ? kit_add_element((const kit_binary_params_t *)p->fused_add, shortcut[i], conv)
                                   : kit_add_element((const kit_binary_params_t *)p->fused_add, conv, shortcut[i]);
}

/* The fused ADD's constants in kit_add.h's short form, the convolution as operand a; 0 when
 * that form does not apply (the op then takes the general path, kit_add_element per output). */
static int fused_add_prepare(const kit_conv_params_t *p, kit_add_fast_t *add) {
    return kit_add_fast_prepare((const kit_binary_params_t *)p->fused_add, p->fused_conv_is_input2, add);
}

#if !KIT_PORTABLE_PATH
#if defined(__GNUC__)
#define KIT_NOINLINE __attribute__((noinline))
#else
#define KIT_NOINLINE
#endif

#if KIT_DSP_KERNELS
/* The sums of one 2x2 block out of line (kit_mat_2x2_q15 on the widened taps, kit_mat_2x2 on
 * the rest), for the rare variants (DSP_RQ_RAW, an odd last channel, conv_pairs: the fused ADDs conv_dsp_add
 * does not take): one copy of the
 * unrolled loops instead of one in each keeps the M4 runtime under 32 KB. */
static KIT_NOINLINE void dsp_block_sums(const uint32_t *wide, const int8_t *rest0, const int8_t *rest1,
                                        const int8_t *w0, const int8_t *w1, int32_t k4, int32_t rest, int32_t *acc) {
    kit_mat_2x2_q15(wide, w0, w1, k4, acc);
    if (rest > 0) {
        kit_mat_2x2(rest0, rest1, w0 + k4, w1 + k4, rest, acc);
    }
}

#endif

/* Two pixels x two channels per block (kit_mat_2x2 / kit_mat_2x2_q15). With a fused ADD
 * (add, not NULL) each block reads a channel's two shortcut bytes before writing either (a
 * repeated last pixel is the same address) and stores a repeated last channel once. */
static KIT_ALWAYS_INLINE void conv_pairs(const kit_conv_params_t *p, const int8_t *input, const int8_t *filter,
                                         int8_t *output, uint8_t *scratch, const int8_t *shortcut,
                                         const kit_add_fast_t *add) {
    const int32_t k = p->filter.h * p->filter.w * p->input.c, out_c = p->output.c;
    const int32_t pixels = p->output.h * p->output.w;
    const int32_t offset = p->output_offset, lo = p->activation_min, hi = p->activation_max;
    /* in locals: the byte stores may alias p's fields, which GCC would reload per block */
    const int32_t *const kb = p->kernel_bias, *const mult = p->output_multiplier, *const shift = p->output_shift;
    const int direct = p->filter.h == 1 && p->filter.w == 1 && p->pad_h == 0 && p->pad_w == 0;
#if KIT_DSP_KERNELS
    const int32_t k4 = k <= KIT_IM2COL_MAX ? k & ~3 : 0;  /* taps done on int16 lanes */
    uint32_t *const wide = (uint32_t *)(void *)scratch;  /* both columns' first k4 taps as int16 lanes */
    int8_t *const col = (int8_t *)scratch + 4 * k4, *const tail0 = col + k;
    /* below 4 taps (k4 = 0) the two columns fit in col and tail0 side by side (2 k <= k + 4) */
    int8_t *const cols[2] = {col, k4 > 0 ? col : col + k};
#else
    int8_t *const cols[2] = {(int8_t *)scratch, (int8_t *)scratch + k};
#endif
    int32_t px, oc;
    for (px = 0; px < pixels; px += 2) {
        const int32_t px1 = px + 1 < pixels ? px + 1 : px;  /* an odd last pixel runs twice */
        const int8_t *a0, *a1;
        int8_t *out0 = output + (size_t)px * out_c, *out1 = output + (size_t)px1 * out_c;
        if (direct) {
            const int32_t w = p->output.w, sy = p->stride_h, sx = p->stride_w, in_w = p->input.w;
            a0 = input + ((size_t)(px / w) * sy * in_w + (size_t)(px % w) * sx) * p->input.c;
            a1 = input + ((size_t)(px1 / w) * sy * in_w + (size_t)(px1 % w) * sx) * p->input.c;
        }
#if KIT_DSP_KERNELS
        else if (k4 > 0) { /* widen each column as it is copied; keep the first one's tail */
            int32_t t;
            im2col(p, input, px, col);
            widen_column(col, k4, wide);
            for (t = k4; t < k; ++t) {
                tail0[t - k4] = col[t];
            }
            im2col(p, input, px1, col);
            widen_column(col, k4, wide + 2);
            a0 = tail0 - k4; /* only a0 + k4 and a1 + k4 (the tails) are read below */
            a1 = col;
        }
#endif
        else {
            im2col(p, input, px, cols[0]);
            im2col(p, input, px1, cols[1]);
            a0 = cols[0];
            a1 = cols[1];
        }
#if KIT_DSP_KERNELS
        if (k4 > 0 && direct) {
            kit_widen_pair(a0, a1, k4, wide);
        }
#endif
        for (oc = 0; oc < out_c; oc += 2) {
            const int32_t oc1 = oc + 1 < out_c ? oc + 1 : oc;  /* an odd last channel runs twice */
            const int8_t *w0 = filter + (size_t)oc * k, *w1 = filter + (size_t)oc1 * k;
            int32_t acc[4];
            acc[0] = acc[2] = kb[oc];
            acc[1] = acc[3] = kb[oc1];
#if KIT_DSP_KERNELS
            dsp_block_sums(wide, a0 + k4, a1 + k4, w0, w1, k4, k - k4, acc);
#else
            kit_mat_2x2(a0, a1, w0, w1, k, acc);
#endif
            {
                const int32_t m0 = mult[oc], s0 = shift[oc], m1 = mult[oc1], s1 = shift[oc1];
                if (add == NULL) {
                    out0[oc] = requantize(acc[0], m0, s0, offset, lo, hi);
                    out1[oc] = requantize(acc[2], m0, s0, offset, lo, hi);
                    out0[oc1] = requantize(acc[1], m1, s1, offset, lo, hi);
                    out1[oc1] = requantize(acc[3], m1, s1, offset, lo, hi);
                } else {
                    const int8_t *const sc0 = shortcut + (size_t)px * out_c, *const sc1 = shortcut + (size_t)px1 * out_c;
                    int32_t b0 = sc0[oc], b1 = sc1[oc];
                    out0[oc] = kit_add_fast_s8(add, requantize(acc[0], m0, s0, offset, lo, hi), b0);
                    out1[oc] = kit_add_fast_s8(add, requantize(acc[2], m0, s0, offset, lo, hi), b1);
                    if (oc1 != oc) {
                        b0 = sc0[oc1];
                        b1 = sc1[oc1];
                        out0[oc1] = kit_add_fast_s8(add, requantize(acc[1], m1, s1, offset, lo, hi), b0);
                        out1[oc1] = kit_add_fast_s8(add, requantize(acc[3], m1, s1, offset, lo, hi), b1);
                    }
                }
            }
        }
    }
}

#if KIT_DSP_KERNELS
/* The DSP path without a fused ADD (conv_dsp): the columns of output pixels px and px1 in
 * the scratch layout of im2col_scratch_bytes: their first k4 taps widened into `wide`
 * (kit_widen_pair's layout), *rest0 / *rest1 their remaining k - k4 int8 taps. */
static void dsp_columns(const kit_conv_params_t *p, const int8_t *input, int32_t px, int32_t px1, int32_t k4,
                        uint8_t *scratch, const int8_t **rest0, const int8_t **rest1) {
    const int32_t k = p->filter.h * p->filter.w * p->input.c;
    const int direct = p->filter.h == 1 && p->filter.w == 1 && p->pad_h == 0 && p->pad_w == 0;
    uint32_t *const wide = (uint32_t *)(void *)scratch;
    int8_t *const col = (int8_t *)scratch + 4 * k4, *const tail0 = col + k;
    if (direct) {
        const int32_t w = p->output.w, sy = p->stride_h, sx = p->stride_w, in_w = p->input.w;
        const int8_t *const a0 = input + ((size_t)(px / w) * sy * in_w + (size_t)(px % w) * sx) * p->input.c;
        const int8_t *const a1 = input + ((size_t)(px1 / w) * sy * in_w + (size_t)(px1 % w) * sx) * p->input.c;
        kit_widen_pair(a0, a1, k4, wide);
        *rest0 = a0 + k4;
        *rest1 = a1 + k4;
    } else if (k4 > 0) { /* widen each column as it is copied; keep the first one's tail */
        int32_t t;
        im2col(p, input, px, col);
        widen_column(col, k4, wide);
        for (t = k4; t < k; ++t) {
            tail0[t - k4] = col[t];
        }
        im2col(p, input, px1, col);
        widen_column(col, k4, wide + 2);
        *rest0 = tail0;
        *rest1 = col + k4;
    } else { /* below 4 taps both columns fit in col and tail0 side by side (2 k <= k + 4) */
        im2col(p, input, px, col);
        im2col(p, input, px1, col + k);
        *rest0 = col;
        *rest1 = col + k;
    }
}

/* Requantization of one channel in the DSP block, its constants prepared once per block
 * (dsp_rq_prepare), in one of two exact forms (TFLM's SRDHM y = floor((acc * m + 2^30) /
 * 2^31), then its rounding division floor((y + 2^(e-1) - (y < 0)) / 2^e) by 2^e, e the right
 * shift; m >= 0):
 * - DSP_RQ_DOUBLED, where every sum of the op fits in 31 bits (dsp_rq_mode): y is SMMULR
 *   (2 acc * m + 2^31) >> 32, |y| < 2^30, so the division is (y + 2^(e-1) - (y < 0)) >> e
 *   with no overflow (the QADD never saturates). 2^(e-1) is 0 for e = 0 (a zero multiplier).
 * - DSP_RQ_WIDE, any int32 sum: nested floor divisions by integers combine, so the result is
 *   floor((acc * m + 2^30 + 2^(e+30) - n * 2^31) / 2^(31+e)) with n = (y < 0); y < 0 exactly
 *   when acc * m < -2^30, and for acc * m in [-2^30, 0) both give 0, so n may be acc's sign.
 *   One 64-bit sum K - n * 2^31 + acc * m (ASR, ADDS, ADC, SMLAL), K = 2^(e+30) + 2^30, whose
 *   high word shifted by e - 1 is the result. A zero multiplier takes e = 1 (0 for any e).
 * A channel with a left shift or none (and a nonzero multiplier) takes kit_requantize_raw. */
enum { DSP_RQ_RAW, DSP_RQ_DOUBLED, DSP_RQ_WIDE };

typedef struct {
    int32_t multiplier, round, khi; /* round: 2^(e-1) (DOUBLED); K = khi * 2^32 + klo (WIDE) */
    uint32_t e, klo;                /* e: the right shift (DOUBLED), e - 1 (WIDE) */
} dsp_rq_t;

static KIT_ALWAYS_INLINE dsp_rq_t dsp_rq_prepare(int32_t multiplier, int32_t shift, int mode) {
    dsp_rq_t q;
    q.multiplier = multiplier;
    if (mode == DSP_RQ_DOUBLED) {
        q.e = (uint32_t)-shift;
        q.round = (int32_t)((1u << q.e) >> 1);
        q.khi = 0;
        q.klo = 0;
    } else {
        const uint32_t e = multiplier == 0 ? 1u : (uint32_t)-shift;
        q.round = 0;
        q.khi = (int32_t)((1u << e) >> 2);
        q.klo = 0x40000000u + ((1u << e) << 30); /* + 2^31 for e = 1 */
        q.e = e - 1u;
    }
    return q;
}

static KIT_ALWAYS_INLINE int32_t dsp_requantize(int32_t acc, const dsp_rq_t *q, int32_t offset, int mode) {
    int32_t y;
    if (mode == DSP_RQ_DOUBLED) {
        __asm__("smmulr %0, %1, %2" : "=r"(y) : "r"(acc * 2), "r"(q->multiplier));
        return (__qadd(y, q->round + (y >> 31)) >> q->e) + offset;
    } else {
        uint32_t lo;
        __asm__("asr %[hi], %[acc], #31\n\t"
                "adds %[lo], %[klo], %[hi], lsl #31\n\t"
                "adc %[hi], %[khi], %[hi]\n\t"
                "smlal %[lo], %[hi], %[acc], %[m]"
                : [lo] "=&r"(lo), [hi] "=&r"(y)
                : [acc] "r"(acc), [m] "r"(q->multiplier), [klo] "r"(q->klo), [khi] "r"(q->khi)
                : "cc");
        return (y >> q->e) + offset;
    }
}

/* low halfword of lo, low halfword of hi above it: one PKHBT (GCC builds it from UXTH + ORR) */
static KIT_ALWAYS_INLINE uint32_t dsp_pkhbt(uint32_t lo, uint32_t hi) {
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
    return r;
}

/* A 2x2 block's requantized sums to bytes out0[0, 1] (pixel 0, channels c, c + 1) and
 * out1[0, 1] (pixel 1), clamped to [lo, hi] as kit_store4_s8 does: SSAT, PKHBT + UXTB16 +
 * ORR pack the four bytes into one word, one SSUB8 / SEL pair each against lo4 and hi4,
 * then two halfword stores. */
static KIT_ALWAYS_INLINE void dsp_store2x2(int8_t *out0, int8_t *out1, int32_t r00, int32_t r01, int32_t r10,
                                           int32_t r11, uint32_t lo4, uint32_t hi4) {
    const uint32_t c0 = dsp_pkhbt((uint32_t)__ssat(r00, 8), (uint32_t)__ssat(r10, 8));
    const uint32_t c1 = dsp_pkhbt((uint32_t)__ssat(r01, 8), (uint32_t)__ssat(r11, 8));
    uint32_t v = __uxtb16(c0) | (__uxtb16(c1) << 8);
    uint16_t h;
    (void)__ssub8((int8x4_t)v, (int8x4_t)lo4); /* GE where v >= lo */
    v = (uint32_t)__sel((uint8x4_t)v, (uint8x4_t)lo4);
    (void)__ssub8((int8x4_t)v, (int8x4_t)hi4); /* GE where v >= hi */
    v = (uint32_t)__sel((uint8x4_t)hi4, (uint8x4_t)v);
    h = (uint16_t)v;
    memcpy(out0, &h, sizeof h);
    h = (uint16_t)(v >> 16);
    memcpy(out1, &h, sizeof h);
}

/* The channel pairs of two pixels (columns given by dsp_columns; outputs out0, out1):
 * kit_mat_2x2_q15 on the widened taps, kit_mat_2x2 on the rest, then both channels'
 * constants read once and the four bytes stored by dsp_store2x2. Channels by index, so the
 * loop carries one counter through the stack, not six pointers. `whole16`: k4 is a
 * multiple of 16 and no taps are left over (the loop keeps no tail tests); `mode`: the
 * op's DSP_RQ_* (dsp_rq_mode). */
static KIT_ALWAYS_INLINE void dsp_channel_pairs(const kit_conv_params_t *p, const uint32_t *wide, const int8_t *rest0,
                                                const int8_t *rest1, const int8_t *filter, int32_t k4, int8_t *out0,
                                                int8_t *out1, int mode, int whole16, const int8_t *sc0,
                                                const int8_t *sc1, const kit_add_fast_t *add) {
    const int32_t k = p->filter.h * p->filter.w * p->input.c, pairs_end = p->output.c & ~1;
    const int32_t rest = whole16 ? 0 : k - k4, taps = whole16 ? k4 & ~15 : k4;
    const int32_t offset = p->output_offset;
    const uint32_t lo4 = ((uint32_t)p->activation_min & 0xFFu) * 0x01010101u;
    const uint32_t hi4 = ((uint32_t)p->activation_max & 0xFFu) * 0x01010101u;
    const int32_t *const kb = p->kernel_bias, *const mult = p->output_multiplier, *const shift = p->output_shift;
    int32_t c;
    for (c = 0; c != pairs_end; c += 2) {
        const int8_t *const w0 = filter + (size_t)c * k, *const w1 = w0 + k;
        int32_t acc[4];
        acc[0] = acc[2] = kb[c];
        acc[1] = acc[3] = kb[c + 1];
        if (mode == DSP_RQ_RAW) {
            dsp_block_sums(wide, rest0, rest1, w0, w1, taps, rest, acc);
        } else {
            kit_mat_2x2_q15(wide, w0, w1, taps, acc);
            if (rest > 0) {
                kit_mat_2x2(rest0, rest1, w0 + k4, w1 + k4, rest, acc);
            }
        }
        if (add != NULL) { /* (DSP_RQ_DOUBLED only) the four shortcut bytes read before any is written */
            const dsp_rq_t qa = dsp_rq_prepare(mult[c], shift[c], mode);
            const dsp_rq_t qb = dsp_rq_prepare(mult[c + 1], shift[c + 1], mode);
            const int32_t b00 = sc0[c], b01 = sc0[c + 1], b10 = sc1[c], b11 = sc1[c + 1];
            const int32_t lo = p->activation_min, hi = p->activation_max;
            const int32_t r00 = kit_clamp_s8(dsp_requantize(acc[0], &qa, offset, mode), lo, hi);
            const int32_t r01 = kit_clamp_s8(dsp_requantize(acc[1], &qb, offset, mode), lo, hi);
            const int32_t r10 = kit_clamp_s8(dsp_requantize(acc[2], &qa, offset, mode), lo, hi);
            const int32_t r11 = kit_clamp_s8(dsp_requantize(acc[3], &qb, offset, mode), lo, hi);
            out0[c] = kit_add_fast_s8(add, r00, b00);
            out0[c + 1] = kit_add_fast_s8(add, r01, b01);
            out1[c] = kit_add_fast_s8(add, r10, b10);
            out1[c + 1] = kit_add_fast_s8(add, r11, b11);
        } else if (mode != DSP_RQ_RAW) {
            const dsp_rq_t qa = dsp_rq_prepare(mult[c], shift[c], mode);
            const dsp_rq_t qb = dsp_rq_prepare(mult[c + 1], shift[c + 1], mode);
            dsp_store2x2(out0 + c, out1 + c, dsp_requantize(acc[0], &qa, offset, mode),
                         dsp_requantize(acc[1], &qb, offset, mode), dsp_requantize(acc[2], &qa, offset, mode),
                         dsp_requantize(acc[3], &qb, offset, mode), lo4, hi4);
        } else {
            const int32_t ma = mult[c], sa = shift[c], mb = mult[c + 1], sb = shift[c + 1];
            dsp_store2x2(out0 + c, out1 + c, kit_requantize_raw(acc[0], ma, sa, offset),
                         kit_requantize_raw(acc[1], mb, sb, offset), kit_requantize_raw(acc[2], ma, sa, offset),
                         kit_requantize_raw(acc[3], mb, sb, offset), lo4, hi4);
        }
    }
}

/* dsp_channel_pairs with constant flags, each loop compiled on its own */
static KIT_NOINLINE void dsp_pairs_whole16(const kit_conv_params_t *p, const uint32_t *wide, const int8_t *filter,
                                           int32_t k4, int8_t *out0, int8_t *out1) {
    dsp_channel_pairs(p, wide, NULL, NULL, filter, k4, out0, out1, DSP_RQ_DOUBLED, 1, NULL, NULL, NULL);
}

static KIT_NOINLINE void dsp_pairs_whole16_wide(const kit_conv_params_t *p, const uint32_t *wide,
                                                const int8_t *filter, int32_t k4, int8_t *out0, int8_t *out1) {
    dsp_channel_pairs(p, wide, NULL, NULL, filter, k4, out0, out1, DSP_RQ_WIDE, 1, NULL, NULL, NULL);
}

static KIT_NOINLINE void dsp_pairs_doubled(const kit_conv_params_t *p, const uint32_t *wide, const int8_t *rest0,
                                           const int8_t *rest1, const int8_t *filter, int32_t k4, int8_t *out0,
                                           int8_t *out1) {
    dsp_channel_pairs(p, wide, rest0, rest1, filter, k4, out0, out1, DSP_RQ_DOUBLED, 0, NULL, NULL, NULL);
}

static KIT_NOINLINE void dsp_pairs_any(const kit_conv_params_t *p, const uint32_t *wide, const int8_t *rest0,
                                       const int8_t *rest1, const int8_t *filter, int32_t k4, int8_t *out0,
                                       int8_t *out1) {
    dsp_channel_pairs(p, wide, rest0, rest1, filter, k4, out0, out1, DSP_RQ_RAW, 0, NULL, NULL, NULL);
}

/* dsp_channel_pairs with a fused ADD (shortcut bytes sc0, sc1 of the two pixels) */
static KIT_NOINLINE void dsp_pairs_whole16_add(const kit_conv_params_t *p, const uint32_t *wide, const int8_t *filter,
                                               int32_t k4, int8_t *out0, int8_t *out1, const int8_t *sc0,
                                               const int8_t *sc1, const kit_add_fast_t *add) {
    dsp_channel_pairs(p, wide, NULL, NULL, filter, k4, out0, out1, DSP_RQ_DOUBLED, 1, sc0, sc1, add);
}

/* An odd last channel c of two pixels: both rows of the 2x2 block are its filter. */
static KIT_NOINLINE void dsp_last_channel(const kit_conv_params_t *p, const uint32_t *wide, const int8_t *rest0,
                                          const int8_t *rest1, const int8_t *filter, int32_t k4, int32_t c,
                                          int8_t *out0, int8_t *out1) {
    const int32_t k = p->filter.h * p->filter.w * p->input.c;
    const int8_t *const w = filter + (size_t)c * k;
    int32_t acc[4];
    acc[0] = acc[1] = acc[2] = acc[3] = p->kernel_bias[c];
    dsp_block_sums(wide, rest0, rest1, w, w, k4, k - k4, acc);
    out0[c] = requantize(acc[0], p->output_multiplier[c], p->output_shift[c], p->output_offset, p->activation_min,
                         p->activation_max);
    out1[c] = requantize(acc[2], p->output_multiplier[c], p->output_shift[c], p->output_offset, p->activation_min,
                         p->activation_max);
}

/* The op's DSP_RQ_* form: RAW when some channel with a nonzero multiplier has a left shift or
 * none; DOUBLED when every channel has a right shift of 1..31 (or a zero multiplier) and
 * every sum fits in 31 bits (|kernel_bias| + k * 128 * 128 < 2^30, the products of int8
 * bytes); WIDE otherwise (a huge bias, as MobileNet's near-dead channels have). */
static int dsp_rq_mode(const kit_conv_params_t *p, int32_t k) {
    const int32_t bound = k < 65536 ? (int32_t)(1 << 30) - k * 128 * 128 : 0;
    int mode = DSP_RQ_DOUBLED;
    int32_t c;
    for (c = 0; c < p->output.c; ++c) {
        const int32_t shift = p->output_shift[c], b = p->kernel_bias[c];
        if (p->output_multiplier[c] == 0) {
            if (shift < -31 || shift > 0) {
                return DSP_RQ_RAW;
            }
        } else if (shift < -31 || shift > -1) {
            return DSP_RQ_RAW;
        }
        if (b >= bound || b <= -bound) {
            mode = DSP_RQ_WIDE;
        }
    }
    return mode;
}

/* The DSP fast path without a fused ADD: pixels in pairs (an odd last pixel runs twice,
 * writing the same bytes), every channel of a pair before the next pair. */
static KIT_NOINLINE void conv_dsp(const kit_conv_params_t *p, const int8_t *input, const int8_t *filter,
                                  int8_t *output, uint8_t *scratch) {
    const int32_t k = p->filter.h * p->filter.w * p->input.c, out_c = p->output.c;
    const int32_t pixels = p->output.h * p->output.w;
    const int32_t k4 = k <= KIT_IM2COL_MAX ? k & ~3 : 0; /* taps done on int16 lanes */
    const int mode = dsp_rq_mode(p, k), whole16 = k4 == k && (k & 15) == 0;
    const uint32_t *const wide = (const uint32_t *)(void *)scratch;
    int32_t px;
    for (px = 0; px < pixels; px += 2) {
        const int32_t px1 = px + 1 < pixels ? px + 1 : px;
        const int8_t *rest0, *rest1;
        int8_t *const out0 = output + (size_t)px * out_c, *const out1 = output + (size_t)px1 * out_c;
        dsp_columns(p, input, px, px1, k4, scratch, &rest0, &rest1);
        if (whole16 && mode == DSP_RQ_DOUBLED) {
            dsp_pairs_whole16(p, wide, filter, k4, out0, out1);
        } else if (whole16 && mode == DSP_RQ_WIDE) {
            dsp_pairs_whole16_wide(p, wide, filter, k4, out0, out1);
        } else if (mode == DSP_RQ_DOUBLED) {
            dsp_pairs_doubled(p, wide, rest0, rest1, filter, k4, out0, out1);
        } else { /* WIDE off the whole16 loop is rare (near-dead channels of a small layer) */
            dsp_pairs_any(p, wide, rest0, rest1, filter, k4, out0, out1);
        }
        if (out_c & 1) {
            dsp_last_channel(p, wide, rest0, rest1, filter, k4, out_c - 1, out0, out1);
        }
    }
}

/* conv_dsp with a fused ADD, for an even channel count, whole16 taps and DSP_RQ_DOUBLED sums
 * (resnet's residual convs); returns 0 (nothing written) for any other op, which conv_pairs runs. Each
 * 2x2 block reads its four shortcut bytes before writing (a repeated last pixel is the same
 * address), so the output may sit on the shortcut as conv_pairs allows. */
static KIT_NOINLINE int conv_dsp_add(const kit_conv_params_t *p, const int8_t *input, const int8_t *filter,
                                     int8_t *output, uint8_t *scratch, const int8_t *shortcut,
                                     const kit_add_fast_t *add) {
    const int32_t k = p->filter.h * p->filter.w * p->input.c, out_c = p->output.c;
    const int32_t pixels = p->output.h * p->output.w;
    const int32_t k4 = k <= KIT_IM2COL_MAX ? k & ~3 : 0;
    const int whole16 = k4 == k && (k & 15) == 0;
    const uint32_t *const wide = (const uint32_t *)(void *)scratch;
    int32_t px;
    if ((out_c & 1) != 0 || !whole16 || dsp_rq_mode(p, k) != DSP_RQ_DOUBLED) {
        return 0; /* (whole16 only: each variant is 1.5 KB of .text; resnet's are all whole16) */
    }
    for (px = 0; px < pixels; px += 2) {
        const int32_t px1 = px + 1 < pixels ? px + 1 : px;
        const int8_t *rest0, *rest1;
        int8_t *const out0 = output + (size_t)px * out_c, *const out1 = output + (size_t)px1 * out_c;
        const int8_t *const sc0 = shortcut + (size_t)px * out_c, *const sc1 = shortcut + (size_t)px1 * out_c;
        dsp_columns(p, input, px, px1, k4, scratch, &rest0, &rest1);
        dsp_pairs_whole16_add(p, wide, filter, k4, out0, out1, sc0, sc1, add);
    }
    return 1;
}
#endif

/* conv_pairs without and with a fused ADD, as two functions: the loop without one is the loop
 * it was (no test per output, its own registers), or on the Arm DSP builds conv_dsp; kept out
 * of kit_op_conv_2d, whose general path would crowd its registers (rv32). */
static KIT_NO_PRESCHED void conv_im2col(const kit_conv_params_t *p, const int8_t *input, const int8_t *filter,
                                     int8_t *output, uint8_t *scratch) {
#if KIT_DSP_KERNELS
    conv_dsp(p, input, filter, output, scratch);
#else
    conv_pairs(p, input, filter, output, scratch, NULL, NULL);
#endif
}

static KIT_NOINLINE void conv_im2col_add(const kit_conv_params_t *p, const int8_t *input, const int8_t *filter,
                                         int8_t *output, uint8_t *scratch, const int8_t *shortcut,
                                         const kit_add_fast_t *add) {
    const kit_add_fast_t constants = *add; /* a local the byte stores cannot alias */
#if KIT_DSP_KERNELS
    if (conv_dsp_add(p, input, filter, output, scratch, shortcut, &constants)) {
        return;
    }
#endif
    conv_pairs(p, input, filter, output, scratch, shortcut, &constants);
}
#endif

int kit_op_conv_2d(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    const kit_conv_params_t *p = (const kit_conv_params_t *)op->params;
    const int8_t *input = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    const int8_t *filter = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[1]);
    const int32_t *bias = (const int32_t *)kit_tensor_const_ptr(m, arena, op->inputs[2]);
    int8_t *output = (int8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    const int8_t *shortcut =
        p->fused_add != NULL ? (const int8_t *)kit_tensor_const_ptr(m, arena, p->fused_add_input) : NULL;
    const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
    const int32_t filter_h = p->filter.h, filter_w = p->filter.w, filter_in_c = p->filter.c;
    const int32_t out_h = p->output.h, out_w = p->output.w, out_c = p->output.c;
    const int32_t filters_per_group = out_c / (in_c / filter_in_c);
    const int32_t input_offset = p->input_offset;
    /* without dilation or groups, input and filter rows of the window are contiguous */
    const int contiguous_rows = p->dilation_w == 1 && filter_in_c == in_c;
    int32_t b, oy, ox, oc;
    const int32_t k = filter_h * filter_w * in_c;
    const int direct = filter_h == 1 && filter_w == 1 && p->pad_h == 0 && p->pad_w == 0;
    if (p->kernel_bias != NULL && filter_in_c == in_c && (k <= KIT_IM2COL_MAX || direct)) {
        kit_add_fast_t fused_add;
        const kit_add_fast_t *const add = shortcut != NULL ? &fused_add : NULL;
#if KIT_PORTABLE_PATH
        const int fast = add == NULL || fused_add_prepare(p, &fused_add);
#else
        const int fast = (add == NULL || fused_add_prepare(p, &fused_add)) &&
                         im2col_scratch_bytes(k, direct) <= p->scratch_bytes;
#endif
        if (fast) {
            const size_t in_batch = (size_t)in_h * in_w * in_c, out_batch = (size_t)out_h * out_w * out_c;
            for (b = 0; b < p->output.n; ++b) {
                const int8_t *const input_b = input + b * in_batch;
                int8_t *const output_b = output + b * out_batch;
                const int8_t *const shortcut_b = add != NULL ? shortcut + b * out_batch : NULL;
#if KIT_PORTABLE_PATH
                const int swar = k <= KIT_SWAR_TAPS && !conv_has_min_weight(filter, (size_t)out_c * k);
                if (add == NULL) {
                    if (swar) {
                        conv_swar(p, input_b, filter, output_b);
                    } else {
                        conv_portable(p, input_b, filter, output_b);
                    }
                } else if (swar) {
                    conv_swar_add(p, input_b, filter, output_b, shortcut_b, add);
                } else {
                    conv_portable_add(p, input_b, filter, output_b, shortcut_b, add);
                }
#else
                if (add == NULL) {
                    conv_im2col(p, input_b, filter, output_b, arena + p->scratch_offset);
                } else {
                    conv_im2col_add(p, input_b, filter, output_b, arena + p->scratch_offset, shortcut_b, add);
                }
#endif
            }
            return KIT_OK;
        }
    }
    for (b = 0; b < p->output.n; ++b) {
        const int8_t *input_b = input + (size_t)b * in_h * in_w * in_c;
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t in_y_origin = oy * p->stride_h - p->pad_h;
            int32_t fy_start, fy_end;
            kit_tap_range(in_y_origin, p->dilation_h, filter_h, in_h, &fy_start, &fy_end);
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t in_x_origin = ox * p->stride_w - p->pad_w;
                int8_t *out_px = output + (((size_t)b * out_h + oy) * out_w + ox) * out_c;
                int32_t fx_start, fx_end;
                kit_tap_range(in_x_origin, p->dilation_w, filter_w, in_w, &fx_start, &fx_end);
                for (oc = 0; oc < out_c; ++oc) {
                    const int32_t group_offset = (oc / filters_per_group) * filter_in_c;
                    const int8_t *filter_oc = filter + (size_t)oc * filter_h * filter_w * filter_in_c;
                    int32_t acc = 0;
                    int32_t fy, fx;
                    for (fy = fy_start; fy < fy_end; ++fy) {
                        const int32_t in_y = in_y_origin + p->dilation_h * fy;
                        const int8_t *in_row = input_b + (size_t)in_y * in_w * in_c + group_offset;
                        const int8_t *f_row = filter_oc + (size_t)fy * filter_w * filter_in_c;
                        if (contiguous_rows) {  /* the window row is one run of bytes */
                            acc += kit_dot_s8(in_row + (size_t)(in_x_origin + fx_start) * in_c,
                                              f_row + (size_t)fx_start * filter_in_c,
                                              (fx_end - fx_start) * filter_in_c, input_offset);
                            continue;
                        }
                        for (fx = fx_start; fx < fx_end; ++fx) {
                            const int8_t *x = in_row + (size_t)(in_x_origin + p->dilation_w * fx) * in_c;
                            const int8_t *w = f_row + (size_t)fx * filter_in_c;
                            acc += kit_dot_s8(x, w, filter_in_c, input_offset);
                        }
                    }
                    if (bias != NULL) {
                        acc += bias[oc];
                    }
                    acc = kit_mbqm(acc, p->output_multiplier[oc], p->output_shift[oc]);
                    acc += p->output_offset;
                    out_px[oc] = fused(p, shortcut, (size_t)(out_px - output) + oc,
                                       (int8_t)kit_clamp_i32(acc, p->activation_min, p->activation_max));
                }
            }
        }
    }
    return KIT_OK;
}
