/* DEPTHWISE_CONV_2D int8, per-channel (TFLM reference_integer_ops::DepthwiseConvPerChannel):
 * depth multiplier and dilation supported. The filter window is clipped to the input once
 * per output pixel, so the tap loops carry no bounds checks; the sum per channel is TFLM's
 * sum of w * (x + input_offset) over the same taps (skipped taps add nothing in both).
 *
 * Depth multiplier 1 (every MobileNet / DS-CNN layer): four channels at a time, since the
 * channels of one tap are contiguous in both the input and the [1, kh, kw, c] filter. With
 * the Arm DSP extension, SXTAB16 widens two input bytes and adds the input offset in one
 * instruction and SMLABB / SMLATT multiply-accumulate one channel each. With Helium
 * (-DKIT_HELIUM_KERNELS on a Cortex-M55) 8 channels per vector (helium_pixel). Portable builds
 * run 3x3 filters as per-channel sweeps (dw_3x3_portable).
 *
 * The Arm DSP builds run 3x3 filters group-major (dw_groups_3x3): channels [c, c + 4) of
 * every pixel, then the next 4, with the group's widened taps and requantization constants in
 * a stack block; the rest of the layers one pixel at a time (dsp_3x3, dsp_3x3_border).
 *
 * Memory order (kit.compile.overlap relies on it to write the output over a dying input):
 * output pixels in raster order, one at a time, each reading only its own input window;
 * the portable 3x3 sweep, which writes a whole output channel before it reads the next input
 * channel, runs when the output does not overlap the input, or when it lies a whole number of
 * pixels from it and one input channel's plane fits the op's scratch: each channel is then
 * read from its copy (dw_sweep_source), and its output bytes land only on its own input bytes.
 * The group-major kernel keeps raster order within each group of 4 channels and runs on an
 * overlapping output only when it lies below the input by whole pixels: a write to channels
 * [c, c + 4) of an output pixel then lands on channels [c, c + 4) of an input pixel, which the
 * later groups do not read and the later windows of this group do not either (overlap's
 * one-pixel bound), so the same placements stay safe. */
#include "kit_dot.h"
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

static inline int8_t requantize(const kit_conv_params_t *p, int32_t acc, int32_t oc) {
    return (int8_t)kit_requantize_s8(acc, p->output_multiplier[oc], p->output_shift[oc], p->output_offset,
                                     p->activation_min, p->activation_max);
}

/* requantize with the per-op constants already in registers */
static inline int8_t requantize_fast(int32_t acc, int32_t multiplier, int32_t shift, int32_t offset, int32_t lo,
                                     int32_t hi) {
    return (int8_t)kit_requantize_s8(acc, multiplier, shift, offset, lo, hi);
}

#if defined(KIT_HELIUM_KERNELS) && defined(__ARM_FEATURE_MVE) && !defined(KIT_PORTABLE_KERNELS)
#define KIT_HELIUM_DW 1 /* kit_dot.h has included <arm_mve.h> */
#else
#define KIT_HELIUM_DW 0
#endif

#if KIT_DSP_KERNELS
#define KIT_DW_UNROLL3 1
#else
#define KIT_DW_UNROLL3 0
#endif

#if KIT_DSP_KERNELS
static inline uint32_t sxtab16_odd(uint32_t offsets, uint32_t v) {
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(offsets), "r"(v));
    return r;
}
#endif

#if KIT_HELIUM_DW
/* TFLM's requantization (kit_requantize) on four lanes whose channels are `lanes` (gathered
 * per-channel constants, scattered bytes). VQRDMULH is SRDHM exactly (both round
 * (a * b + 2^30) >> 31, both saturate only INT32_MIN * INT32_MIN); VRSHL rounds half up, so a
 * negative value is first moved down by one when it shifts right, which makes the rounding
 * half away from zero as RoundingDivideByPOT's is. */
static inline void requantize_store(int32x4_t acc, const kit_conv_params_t *p, int32_t c, uint32x4_t lanes,
                                    mve_pred16_t pr, int8_t *out_px) {
    const int32x4_t zero = vdupq_n_s32(0);
    const int32x4_t s = vldrwq_gather_shifted_offset_z_s32(p->output_shift + c, lanes, pr);
    const int32x4_t m = vldrwq_gather_shifted_offset_z_s32(p->output_multiplier + c, lanes, pr);
    const int32x4_t right = vminq_s32(s, zero); /* <= 0: VRSHL shifts right by -right */
    int32x4_t x = vqrdmulhq_s32(vshlq_s32(acc, vmaxq_s32(s, zero)), m);
    x = vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, right), 31));
    x = vaddq_n_s32(vrshlq_s32(x, right), p->output_offset);
    x = vminq_s32(vmaxq_s32(x, vdupq_n_s32(p->activation_min)), vdupq_n_s32(p->activation_max));
    vstrbq_scatter_offset_p_s32(out_px + c, lanes, x, pr);
}

/* The sums of 8 channels (even ones in *even, odd ones in *odd) over the window's taps.
 * Each tap's 8 input and 8 filter bytes load widened to int16 (input + offset fits:
 * [-255, 255]); VMULLB / VMULLT give the int32 products of the even and odd channels. Two
 * accumulators and one predicate, so nothing spills. `add_offset` and `tail` are constants
 * where it is inlined: the folded (unclipped) windows skip the add, full vectors the
 * predicate. */
static inline void helium_taps(const int8_t *x_row, const int8_t *f_row, int32_t taps_h, int32_t taps_w,
                               size_t x_y_step, size_t x_x_step, size_t f_y_step, size_t f_x_step, int16_t offset,
                               const int add_offset, const int tail, mve_pred16_t pr, int32x4_t *even,
                               int32x4_t *odd) {
    int32x4_t a0 = *even, a1 = *odd;
    int32_t fy, fx;
    for (fy = 0; fy < taps_h; ++fy) {
        const int8_t *x = x_row, *w = f_row;
        for (fx = 0; fx < taps_w; ++fx) {
            int16x8_t xv = tail ? vldrbq_z_s16(x, pr) : vldrbq_s16(x);
            const int16x8_t wv = tail ? vldrbq_z_s16(w, pr) : vldrbq_s16(w);
            if (add_offset) {
                xv = vaddq_n_s16(xv, offset);
            }
            a0 = vaddq_s32(a0, vmullbq_int_s16(xv, wv));
            a1 = vaddq_s32(a1, vmulltq_int_s16(xv, wv));
            x += x_x_step;
            w += f_x_step;
        }
        x_row += x_y_step;
        f_row += f_y_step;
    }
    *even = a0;
    *odd = a1;
}

/* Depth multiplier 1, one output pixel, channels in vectors of 8 int16 lanes (the last one
 * tail-predicated: inactive lanes load 0 and store nothing). A window the input does not
 * clip starts from kernel_bias (bias + input_offset * sum of the channel's taps, folded by
 * the compiler) and adds raw products: the same int32 sum as TFLM's. A clipped window adds
 * the offset to every visited input tap, as TFLM does. */
static void helium_pixel(const kit_conv_params_t *p, const int8_t *window, const int8_t *f_window,
                         int32_t taps_h, int32_t taps_w, size_t x_y_step, size_t x_x_step, const int32_t *bias,
                         int8_t *out_px) {
    const int32_t channels = p->output.c;
    const size_t f_x_step = (size_t)channels, f_y_step = (size_t)p->filter.w * channels;
    const int folded = p->kernel_bias != NULL && taps_h == p->filter.h && taps_w == p->filter.w;
    const int32_t *start = folded ? p->kernel_bias : bias;
    const uint32x4_t even_lanes = vidupq_n_u32(0, 2), odd_lanes = vaddq_n_u32(even_lanes, 1);
    int32_t c;
    for (c = 0; c < channels; c += 8) {
        const uint32_t n = (uint32_t)(channels - c);
        const mve_pred16_t pr = vctp16q(n), pe = vctp32q((n + 1) / 2), po = vctp32q(n / 2);
        int32x4_t even = vdupq_n_s32(0), odd = even;
        if (start != NULL) {
            even = vldrwq_gather_shifted_offset_z_s32(start + c, even_lanes, pe);
            odd = vldrwq_gather_shifted_offset_z_s32(start + c, odd_lanes, po);
        }
        if (folded) {
            const int tail = n < 8;
            if (tail) {
                helium_taps(window + c, f_window + c, taps_h, taps_w, x_y_step, x_x_step, f_y_step, f_x_step, 0, 0, 1,
                            pr, &even, &odd);
            } else {
                helium_taps(window + c, f_window + c, taps_h, taps_w, x_y_step, x_x_step, f_y_step, f_x_step, 0, 0, 0,
                            pr, &even, &odd);
            }
        } else {  /* clipped windows are the image's border: one loop for both */
            helium_taps(window + c, f_window + c, taps_h, taps_w, x_y_step, x_x_step, f_y_step, f_x_step,
                        (int16_t)p->input_offset, 1, 1, pr, &even, &odd);
        }
        requantize_store(even, p, c, even_lanes, pe, out_px);
        requantize_store(odd, p, c, odd_lanes, po, out_px);
    }
}
#endif

#if KIT_DSP_KERNELS
/* One tap of channels [c, c + 4): a word of 4 input and 4 filter bytes, SXTB16 /
 * SXTB16 ROR #8 widen bytes 0,2 and 1,3 of both, SMLABB / SMLATT accumulate one channel
 * each (a0: c, a1: c + 1, a2: c + 2, a3: c + 3); both pointers move one step. */
#define KIT_DW_ASM_TAP                         \
    "ldr %[xv], [%[xp]]\n\t"                  \
    "ldr %[wv], [%[wp]]\n\t"                  \
    "add %[xp], %[xp], %[step]\n\t"           \
    "add %[wp], %[wp], %[step]\n\t"           \
    "sxtb16 %[t], %[xv]\n\t"                  \
    "sxtb16 %[u], %[wv]\n\t"                  \
    "smlabb %[a0], %[t], %[u], %[a0]\n\t"     \
    "smlatt %[a2], %[t], %[u], %[a2]\n\t"     \
    "sxtb16 %[t], %[xv], ror #8\n\t"          \
    "sxtb16 %[u], %[wv], ror #8\n\t"          \
    "smlabb %[a1], %[t], %[u], %[a1]\n\t"     \
    "smlatt %[a3], %[t], %[u], %[a3]\n\t"
#define KIT_DW_ASM_ROW                               \
    KIT_DW_ASM_TAP KIT_DW_ASM_TAP KIT_DW_ASM_TAP     \
    "ldr %[t], %[skip]\n\t"                          \
    "add %[xp], %[xp], %[t]\n\t"

/* Channels [0, channels) (a multiple of 4), four at a time, of a 3x3 window: its taps are
 * `step` bytes apart in a row of x (rows x_row_skip further apart) and in w (the filter's
 * 9 taps, or dsp_3x3_border's copy of them). kernel_bias already holds bias + input_offset
 * * the taps' sum, so the taps are raw SXTB16 products (no offset register). The window is
 * the input itself (unclipped, no dilation: step = out_c) or dsp_3x3_border's copy;
 * `first` is the channel of x[0] (the index of the per-channel constants and of the output
 * byte). The 9 taps are inline assembly with 11 registers (x_row_skip read from memory, so
 * it also builds at -O0): in C, GCC spills the sums and steps and spends a third more. */
static void dsp_3x3(const kit_conv_params_t *p, const int8_t *x, const int8_t *w, size_t step, size_t x_row_skip,
                    int32_t first, int32_t channels, int8_t *out_px) {
    const int32_t offset = p->output_offset;
    const uint32_t lo4 = ((uint32_t)p->activation_min & 0xFFu) * 0x01010101u;
    const uint32_t hi4 = ((uint32_t)p->activation_max & 0xFFu) * 0x01010101u;
    const int32_t *kb = p->kernel_bias + first, *mult = p->output_multiplier + first, *shift = p->output_shift + first;
    const int8_t *const end = x + channels;
    out_px += first;
    for (; x != end; x += 4, w += 4, kb += 4, mult += 4, shift += 4, out_px += 4) {
        const int8_t *xp = x, *wp = w;
        int32_t a0 = kb[0], a1 = kb[1], a2 = kb[2], a3 = kb[3];
        uint32_t xv, wv, t, u;
        __asm__(KIT_DW_ASM_ROW KIT_DW_ASM_ROW KIT_DW_ASM_ROW
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xp] "+r"(xp), [wp] "+r"(wp),
                  [xv] "=&r"(xv), [wv] "=&r"(wv), [t] "=&r"(t), [u] "=&r"(u)
                : [step] "r"(step), [skip] "m"(x_row_skip)
                : "memory");
        kit_store4_s8(out_px, kit_requantize_raw(a0, mult[0], shift[0], offset),
                      kit_requantize_raw(a1, mult[1], shift[1], offset), kit_requantize_raw(a2, mult[2], shift[2], offset),
                      kit_requantize_raw(a3, mult[3], shift[3], offset), lo4, hi4);
    }
}
#undef KIT_DW_ASM_ROW
#undef KIT_DW_ASM_TAP

#ifndef KIT_DW_BORDER_CHANNELS
#define KIT_DW_BORDER_CHANNELS 64 /* channels per border copy: 9 x 64 bytes of arena scratch */
#endif

/* Scratch of the border copies (kit.compile.scratch mirrors it): 9 taps of a chunk of up to
 * KIT_DW_BORDER_CHANNELS channels, and as much again for the filter's taps unless one chunk
 * holds every channel. */
static int32_t dw_border_bytes(int32_t channels, int32_t out_c) {
    const int32_t chunk = channels < KIT_DW_BORDER_CHANNELS ? channels : KIT_DW_BORDER_CHANNELS;
    return 9 * chunk * (chunk == out_c ? 1 : 2);
}

/* A 3x3 window the input clips (SAME padding's border) or a dilated one: channels
 * [c0, c0 + n) of its 9 taps copied to `buf` (tap-major, n bytes per tap, n a multiple of
 * 4), out-of-image taps set to the input zero point, whose raw products cancel their share
 * of kernel_bias (zero point * w + input_offset * w = 0), as TFLM's skipped taps add
 * nothing. The filter's taps are read in place when one chunk holds every channel (their
 * step is then n too), else copied beside. Then the same kernel as unclipped windows. */
static KIT_COPY_LOOPS void dsp_3x3_border(const kit_conv_params_t *p, const int8_t *input, int32_t y0, int32_t x0,
                                          const int8_t *filter, int32_t channels, int8_t *out_px, uint8_t *scratch) {
    const int32_t chunk = channels < KIT_DW_BORDER_CHANNELS ? channels : KIT_DW_BORDER_CHANNELS;
    uint32_t *const buf = (uint32_t *)(void *)scratch, *const wbuf = buf + 9 * chunk / 4;
    const uint32_t pad = ((uint32_t)(-p->input_offset) & 0xFFu) * 0x01010101u;
    const int32_t out_c = p->output.c;
    int32_t c0, t, i;
    for (c0 = 0; c0 < channels; c0 += KIT_DW_BORDER_CHANNELS) {
        const int32_t n = channels - c0 < KIT_DW_BORDER_CHANNELS ? channels - c0 : KIT_DW_BORDER_CHANNELS;
        const int8_t *w = filter + c0;
        uint32_t *dst = buf;
        for (t = 0; t < 9; ++t) { /* word copies (KIT_COPY_LOOPS) */
            const int32_t y = y0 + (t / 3) * p->dilation_h, x = x0 + (t % 3) * p->dilation_w;
            if (y < 0 || y >= p->input.h || x < 0 || x >= p->input.w) {
                for (i = 0; i < n; i += 4) {
                    *dst++ = pad;
                }
            } else {
                const int8_t *src = input + ((size_t)y * p->input.w + x) * p->input.c + c0;
                for (i = 0; i < n; i += 4) {
                    *dst++ = kit_read_u32(src + i);
                }
            }
        }
        if (n != out_c) {
            for (t = 0, dst = wbuf; t < 9; ++t) {
                for (i = 0; i < n; i += 4) {
                    *dst++ = kit_read_u32(filter + (size_t)t * out_c + c0 + i);
                }
            }
            w = (const int8_t *)wbuf;
        }
        dsp_3x3(p, (const int8_t *)buf, w, (size_t)n, 0, c0, n, out_px);
    }
}

/* The group-major 3x3 kernel (DSP builds; depth multiplier 1, no dilation, channels a
 * multiple of 4, right shifts of 2..23): channels [c, c + 4) of every output pixel in raster
 * order, then the next 4 channels, so the filter's 9 taps (widened once per group) and the
 * group's requantization constants sit in a small block on the stack instead of being rebuilt
 * per pixel. A window the input clips (SAME's border) is read in place: its pointer moves
 * inside the input by dr rows and dc columns (|dr|, |dc| <= 1) and the taps shift the other
 * way, the ones that fall off the window weighted 0 (their input is never used, so it may be
 * anything: even bytes this op has already overwritten), and the start value adds
 * input zero point * the missing taps' weights, which makes the raw products TFLM's sum over
 * the valid taps (as kernel_bias does for a full window). */
typedef struct {
    uint32_t taps[18]; /* per tap: SXTB16 of the filter word (channels c, c + 2), then with ROR #8 (c + 1, c + 3) */
    int32_t start[4];  /* the four sums' start: kernel_bias + zero point * the missing taps' weights */
} dw_variant_t;

typedef struct {
    dw_variant_t variant[3]; /* the window moved by dc = 0, +1 (clipped on the left), -1 (on the right) */
    uint32_t grid[5][5][2];  /* the 9 taps widened at [1..3][1..3], zero around them */
    uint32_t row_sum[3][2], col_sum[3][2]; /* SADD16 sums of the filter's rows and columns */
    int32_t rq[4][3];        /* per channel: multiplier, 2^(e-2) + output_offset * 2^(e-1), e - 1 */
    uint32_t lo4, hi4;       /* activation_min / activation_max in every byte */
} dw_group_t;

/* TFLM's requantization of a sum `a` (SRDHM then the rounding shift by e), in one 64-bit sum:
 * with y = floor((a * m + 2^30) / 2^31), floor((y + 2^(e-1) - (y < 0)) / 2^e) is
 * floor((a * m + 2^30 + 2^(30+e) - (y < 0) * 2^31) / 2^(31+e)) (nested floor divisions by
 * integers). (y < 0) may be taken as (a < 0): they differ only where -2^30 <= a * m < 0, and
 * both quotients are 0 there for e >= 1. For e >= 2, 2^(30+e) and output_offset * 2^(31+e)
 * are whole multiples of 2^32, so they start the high word (rq[1]); the 64-bit sum starts at
 * (2^30, rq[1]) less 2^31 when a < 0 (low word 2^30 | a's sign bit, high word rq[1] - 1),
 * SMLAL adds a * m, and the high word shifted right by e - 1
 * is the requantized value plus the output offset (|high word| < 2^31 for e <= 23). SSAT
 * then saturates it to int8, before the clamp to [lo, hi]. */
#define KIT_DW_GROUP_RQ(a)                               \
    "ldm %[rq]!, {%[m], %[hi], %[e]}\n\t"               \
    "and %[lo], %[" a "], #0x80000000\n\t"             \
    "orr %[lo], %[lo], #0x40000000\n\t"                 \
    "add %[hi], %[hi], %[" a "], asr #31\n\t"           \
    "smlal %[lo], %[hi], %[" a "], %[m]\n\t"            \
    "asr %[" a "], %[hi], %[e]\n\t"                     \
    "ssat %[" a "], #8, %[" a "]\n\t"

/* One tap: the input word at `addr` (4 channels), the widened filter pair at wp + off. */
#define KIT_DW_GROUP_TAP(addr, off)                   \
    "ldr %[xv], " addr "\n\t"                        \
    "ldrd %[we], %[wo], [%[wp], #" off "]\n\t"       \
    "sxtb16 %[t], %[xv]\n\t"                         \
    "sxtb16 %[xv], %[xv], ror #8\n\t"                \
    "smlabb %[a0], %[t], %[we], %[a0]\n\t"           \
    "smlatt %[a2], %[t], %[we], %[a2]\n\t"           \
    "smlabb %[a1], %[xv], %[wo], %[a1]\n\t"          \
    "smlatt %[a3], %[xv], %[wo], %[a3]\n\t"
#define KIT_DW_GROUP_ROW(o0, o1, o2)                                                  \
    KIT_DW_GROUP_TAP("[%[xp]]", o0) KIT_DW_GROUP_TAP("[%[xp], %[step]]", o1)        \
    KIT_DW_GROUP_TAP("[%[xp], %[step], lsl #1]", o2)

/* One output pixel's 4 channels: the window at x (taps `step` bytes apart in a row, rows
 * `row` apart) with the variant's taps and start, requantized to out[0..3]. */
static KIT_ALWAYS_INLINE void dw_group_pixel(const int8_t *x, size_t step, size_t row, const dw_variant_t *v,
                                  const dw_group_t *g, int8_t *out) {
    int32_t a0, a1, a2, a3;
    const int32_t *rq = &g->rq[0][0];
    uint32_t xv, t, we, wo, lo;
    /* LDM fills its registers in ascending order: the three it loads are fixed, ascending */
    register uint32_t m __asm__("r8"), hi __asm__("r9"), e __asm__("r10");
    __asm__("ldrd %[a0], %[a1], [%[wp], #72]\n\t" /* v->start */
            "ldrd %[a2], %[a3], [%[wp], #80]\n\t"
            KIT_DW_GROUP_ROW("0", "8", "16") "add %[xp], %[xp], %[row]\n\t"
            KIT_DW_GROUP_ROW("24", "32", "40") "add %[xp], %[xp], %[row]\n\t"
            KIT_DW_GROUP_ROW("48", "56", "64")
            : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [xp] "+&r"(x), [xv] "=&r"(xv),
              [t] "=&r"(t), [we] "=&r"(we), [wo] "=&r"(wo)
            : [wp] "r"(v->taps), [step] "r"(step), [row] "r"(row)
            : "memory");
    __asm__ volatile(KIT_DW_GROUP_RQ("a0") KIT_DW_GROUP_RQ("a1") KIT_DW_GROUP_RQ("a2") KIT_DW_GROUP_RQ("a3")
            "bfi %[a0], %[a1], #8, #8\n\t"
            "bfi %[a0], %[a2], #16, #8\n\t"
            "bfi %[a0], %[a3], #24, #8\n\t"
            "ldrd %[lo], %[hi], [%[rq]]\n\t" /* lo4, hi4 (after rq) */
            "ssub8 %[m], %[a0], %[lo]\n\t" /* GE where the byte >= lo */
            "sel %[a0], %[a0], %[lo]\n\t"
            "ssub8 %[m], %[a0], %[hi]\n\t" /* GE where the byte >= hi */
            "sel %[a0], %[hi], %[a0]\n\t"
            "str %[a0], [%[out]]\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [m] "=&r"(m), [hi] "=&r"(hi),
              [lo] "=&r"(lo), [e] "=&r"(e), [rq] "+r"(rq)
            : [out] "r"(out)
            : "cc", "memory");
}
#undef KIT_DW_GROUP_ROW
#undef KIT_DW_GROUP_TAP
#undef KIT_DW_GROUP_RQ

/* The group's taps moved by (dr, dc): tap (r, c) is the filter's (r + dr, c + dc), 0 off the
 * filter (three row copies out of the zero-padded grid). The filter taps left out are its
 * row 0 (dr = 1) or 2 (dr = -1) and its column 0 (dc = 1) or 2 (dc = -1); their weights
 * (SADD16 lane sums of the rows and columns, less the corner counted twice) times the zero
 * point go into the start. */
static void dw_group_variant(const dw_group_t *g, int32_t dr, int32_t dc, const int32_t *kb, int32_t zero_point,
                             dw_variant_t *v) {
    const int32_t lost_row = dr > 0 ? 0 : 2, lost_col = dc > 0 ? 0 : 2;
    int16x2_t even = 0, odd = 0; /* the left-out weights of channels c, c + 2 and c + 1, c + 3 */
    int32_t r;
    for (r = 0; r < 3; ++r) {
        memcpy(&v->taps[6 * r], &g->grid[r + dr + 1][dc + 1][0], 6 * sizeof(uint32_t));
    }
    if (dr != 0) {
        even = __sadd16(even, (int16x2_t)g->row_sum[lost_row][0]);
        odd = __sadd16(odd, (int16x2_t)g->row_sum[lost_row][1]);
    }
    if (dc != 0) {
        even = __sadd16(even, (int16x2_t)g->col_sum[lost_col][0]);
        odd = __sadd16(odd, (int16x2_t)g->col_sum[lost_col][1]);
    }
    if (dr != 0 && dc != 0) {
        even = __ssub16(even, (int16x2_t)g->grid[lost_row + 1][lost_col + 1][0]);
        odd = __ssub16(odd, (int16x2_t)g->grid[lost_row + 1][lost_col + 1][1]);
    }
    v->start[0] = kb[0] + zero_point * (int16_t)((uint32_t)even & 0xFFFFu);
    v->start[1] = kb[1] + zero_point * (int16_t)((uint32_t)odd & 0xFFFFu);
    v->start[2] = kb[2] + zero_point * (int16_t)((uint32_t)even >> 16);
    v->start[3] = kb[3] + zero_point * (int16_t)((uint32_t)odd >> 16);
}

/* How far (-1, 0, +1) a window starting at `origin` moves to lie in [0, n) (n >= 3). */
static inline int32_t dw_group_shift(int32_t origin, int32_t n) {
    return origin < 0 ? -origin : (origin > n - 3 ? n - 3 - origin : 0);
}

/* Can the group-major order run here? The shape (every window clipped by at most one tap
 * per side, inside an input of at least 3 x 3), the requantization (right shifts 2..23), and
 * the placement: an output that overlaps the input lies below it by whole pixels (the
 * planner put it delta >= kit.compile.overlap's one-pixel-order bound below), so that writing
 * channels [c, c + 4) of a pixel only ever lands on channels [c, c + 4) of an input pixel,
 * which later groups do not read and later windows of this group (by that bound) do not
 * either. */
static int dw_group_fits(const kit_conv_params_t *p, const int8_t *input, const int8_t *output) {
    const int32_t cs = p->output.c, in_h = p->input.h, in_w = p->input.w;
    const size_t in_bytes = (size_t)in_h * in_w * cs, out_bytes = (size_t)p->output.h * p->output.w * cs;
    const uintptr_t in = (uintptr_t)input, out = (uintptr_t)output;
    int32_t c;
    if (p->depth_multiplier != 1 || p->filter.h != 3 || p->filter.w != 3 || p->dilation_h != 1 ||
        p->dilation_w != 1 || p->kernel_bias == NULL || p->input.c != cs || (cs & 3) != 0 || in_h < 3 ||
        in_w < 3) {
        return 0;
    }
    if (p->pad_h > 1 || p->pad_w > 1 || (p->output.h - 1) * p->stride_h - p->pad_h > in_h - 2 ||
        (p->output.w - 1) * p->stride_w - p->pad_w > in_w - 2) {
        return 0;
    }
    for (c = 0; c < cs; ++c) {
        if (p->output_shift[c] < -23 || p->output_shift[c] > -2) {
            return 0;
        }
    }
    return !(out < in + in_bytes && in < out + out_bytes) || (out < in && (in - out) % (uintptr_t)cs == 0);
}

/* DEPTHWISE_CONV_2D 3x3 group-major for one batch (see dw_group_t); 0 (nothing written)
 * when dw_group_fits says no. */
static int dw_groups_3x3(const kit_conv_params_t *p, const int8_t *input, const int8_t *filter, int8_t *output) {
    const int32_t cs = p->output.c, in_h = p->input.h, in_w = p->input.w;
    const int32_t out_h = p->output.h, out_w = p->output.w, zero_point = -p->input_offset;
    const size_t step = (size_t)cs, row = (size_t)in_w * cs, x_step = (size_t)p->stride_w * cs;
    /* the columns: one window clipped on the left (pad_w 1), then unclipped ones from column
     * x_mid, then perhaps one clipped on the right (dw_group_fits: at most one tap per side) */
    const int32_t left = p->pad_w > 0, x_mid = left ? p->stride_w - 1 : 0;
    const int32_t right = (out_w - 1) * p->stride_w - p->pad_w > in_w - 3;
    const int32_t n_mid = out_w - left - right;
    dw_group_t g;
    int32_t c, k, t, oy;
    if (!dw_group_fits(p, input, output)) {
        return 0;
    }
    memset(g.grid, 0, sizeof g.grid); /* (the border of the grid stays 0) */
    g.lo4 = ((uint32_t)p->activation_min & 0xFFu) * 0x01010101u;
    g.hi4 = ((uint32_t)p->activation_max & 0xFFu) * 0x01010101u;
    for (c = 0; c < cs; c += 4) {
        const int32_t *kb = p->kernel_bias + c;
        int32_t prepared = 2; /* the dr the variants are built for (2: none yet) */
        for (t = 0; t < 9; ++t) {
            const uint32_t word = kit_read_u32(filter + (size_t)t * cs + c);
            g.grid[t / 3 + 1][t % 3 + 1][0] = __sxtb16(word);
            g.grid[t / 3 + 1][t % 3 + 1][1] = kit_sxtb16_odd(word);
        }
        for (t = 0; t < 3; ++t) {
            for (k = 0; k < 2; ++k) {
                g.row_sum[t][k] = (uint32_t)__sadd16(__sadd16((int16x2_t)g.grid[t + 1][1][k], (int16x2_t)g.grid[t + 1][2][k]),
                                                     (int16x2_t)g.grid[t + 1][3][k]);
                g.col_sum[t][k] = (uint32_t)__sadd16(__sadd16((int16x2_t)g.grid[1][t + 1][k], (int16x2_t)g.grid[2][t + 1][k]),
                                                     (int16x2_t)g.grid[3][t + 1][k]);
            }
        }
        for (k = 0; k < 4; ++k) {
            const int32_t e = -p->output_shift[c + k];
            g.rq[k][0] = p->output_multiplier[c + k];
            g.rq[k][1] = (int32_t)(1u << (e - 2)) + p->output_offset * (int32_t)(1u << (e - 1));
            g.rq[k][2] = e - 1;
        }
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h, dr = dw_group_shift(y0, in_h);
            const int8_t *x_row = input + (size_t)(y0 + dr) * row + c;
            int8_t *out = output + (size_t)oy * out_w * cs + c, *mid_end;
            const int8_t *x;
            if (dr != prepared) {
                dw_group_variant(&g, dr, 0, kb, zero_point, &g.variant[0]);
                if (left) {
                    dw_group_variant(&g, dr, 1, kb, zero_point, &g.variant[1]);
                }
                if (right) {
                    dw_group_variant(&g, dr, -1, kb, zero_point, &g.variant[2]);
                }
                prepared = dr;
            }
            if (left) { /* x0 = -1: the window moved one column right */
                dw_group_pixel(x_row, step, row, &g.variant[1], &g, out);
                out += cs;
            }
            for (x = x_row + (size_t)x_mid * cs, mid_end = out + (size_t)n_mid * cs; out != mid_end;
                 x += x_step, out += cs) {
                dw_group_pixel(x, step, row, &g.variant[0], &g, out);
            }
            if (right) { /* x0 = in_w - 2: the window moved one column left */
                dw_group_pixel(x_row + (size_t)(in_w - 3) * cs, step, row, &g.variant[2], &g, out);
            }
        }
    }
    return 1;
}
#endif

#if KIT_PORTABLE_PATH
/* The portable 3x3 kernel (depth multiplier 1, no dilation, kernel_bias): one channel at a
 * time, swept along lines of outputs (rows, or columns when the output is taller than it is
 * wide) with its 9 weights and requantization constants in registers for the whole plane.
 * A window's three "lanes" (the input rows of a row sweep, the columns of a column sweep)
 * are read as the sweep moves on: each new input position is 3 byte loads, and with stride
 * 1 it goes into the three outputs it belongs to (one finishes, two are running). Padded
 * positions hold the input zero point, whose raw products cancel their share of
 * kernel_bias as TFLM's skipped taps add nothing; a lane wholly outside the input has its
 * weights set to 0 and the zero point's products added to the start value instead. */
typedef struct {
    const int8_t *input, *filter;
    int8_t *output;
    size_t step, out_step;           /* bytes between positions along a line: input, output */
    size_t lane_step, line_out_step; /* bytes between lanes (input), between lines (output) */
    int32_t n_in, pad, n_out, stride; /* along a line */
    int32_t lines, lane_n, lane_pad, lane_stride;
    int32_t zero_point, offset, lo, hi, channels, rows;
    size_t in_channel_step; /* bytes between channels of the input: 1, or 0 for a plane copy */
} dw_plane_t;

/* the input position j of the three lanes: loaded, or the zero point off the input */
#define KIT_DW_AT(j, x0, x1, x2)                    \
    do {                                            \
        if ((j) < 0 || (j) >= n_in) {               \
            x0 = x1 = x2 = zero_point;              \
        } else {                                    \
            const size_t at_ = (size_t)(j) * step;  \
            x0 = l0[at_];                           \
            x1 = l1[at_];                           \
            x2 = l2[at_];                           \
        }                                           \
    } while (0)
#define KIT_DW_DOT(t, x0, x1, x2) (w##t##0 * (x0) + w##t##1 * (x1) + w##t##2 * (x2))
#define KIT_DW_STORE(a)                                                       \
    do {                                                                      \
        const int32_t r_ = kit_rq_fast(a, m2, e, round) + offset;            \
        *out = (int8_t)(r_ < lo ? lo : (r_ > hi ? hi : r_));                  \
        out += out_step;                                                      \
    } while (0)

/* One line of outputs; w<t><l> is the weight of window position t along the line, lane l. */
static KIT_ALWAYS_INLINE void dw_line(const dw_plane_t *pl, const int8_t *l0, const int8_t *l1, const int8_t *l2,
                                      int32_t w00, int32_t w01, int32_t w02, int32_t w10, int32_t w11,
                                      int32_t w12, int32_t w20, int32_t w21, int32_t w22, int32_t start,
                                      uint32_t m2, int32_t e, int32_t round, int8_t *out, const int same_step) {
    const size_t step = pl->step, out_step = pl->out_step;
    const int32_t n_in = pl->n_in, pad = pl->pad, n_out = pl->n_out, zero_point = pl->zero_point;
    const int32_t offset = pl->offset, lo = pl->lo, hi = pl->hi;
    int32_t x0, x1, x2, a, o = 0, loaded;
    const int8_t *q0, *q1, *q2;
    if (pl->stride == 1) {
        /* output o takes positions o - pad + 0, 1, 2: a is output o's sum, b output o + 1's */
        int32_t b;
        KIT_DW_AT(-pad, x0, x1, x2);
        a = start + KIT_DW_DOT(0, x0, x1, x2);
        KIT_DW_AT(1 - pad, x0, x1, x2);
        a += KIT_DW_DOT(1, x0, x1, x2);
        b = start + KIT_DW_DOT(0, x0, x1, x2);
        loaded = n_in + pad - 2; /* outputs whose last position o + 2 - pad (>= 0) is in the input */
        loaded = loaded < n_out ? loaded : n_out;
        q0 = l0 + (size_t)(2 - pad) * step;
        q1 = l1 + (size_t)(2 - pad) * step;
        q2 = l2 + (size_t)(2 - pad) * step;
        if (loaded > 0) {
            /* one lane value at a time into the three running sums (a: finishing, b, c: new),
             * so 1 input and 3 sums are live rather than 3 inputs and 2 sums; the loop ends
             * on the output pointer */
            int8_t *const out_end = out + (size_t)loaded * out_step;
            const size_t st = same_step ? step : out_step;
            const uint32_t range = (uint32_t)(hi - lo);
            while (out != out_end) {
                int32_t x = *q0, c;
                q0 += step;
                a += w20 * x;
                b += w10 * x;
                c = start + w00 * x;
                x = *q1;
                q1 += step;
                a += w21 * x;
                b += w11 * x;
                c += w01 * x;
                x = *q2;
                q2 += step;
                a += w22 * x;
                b += w12 * x;
                c += w02 * x;
                {
                    int32_t r_ = kit_rq_fast(a, m2, e, round) + offset;
                    if ((uint32_t)(r_ - lo) > range) { /* one compare while in [lo, hi] */
                        r_ = r_ < lo ? lo : hi;
                    }
                    *out = (int8_t)r_;
                    out += st;
                }
                a = b;
                b = c;
            }
            o = loaded;
        }
        for (; o < n_out; ++o) {
            KIT_DW_AT(o + 2 - pad, x0, x1, x2);
            a += KIT_DW_DOT(2, x0, x1, x2);
            KIT_DW_STORE(a);
            a = b + KIT_DW_DOT(1, x0, x1, x2);
            b = start + KIT_DW_DOT(0, x0, x1, x2);
        }
    } else {
        /* stride 2: output o takes positions 2o - pad + 0, 1, 2; the last is o + 1's first */
        KIT_DW_AT(-pad, x0, x1, x2);
        a = start + KIT_DW_DOT(0, x0, x1, x2);
        loaded = (n_in + pad - 1) / 2; /* outputs whose last position 2o + 2 - pad is in the input */
        loaded = loaded < n_out ? loaded : n_out;
        q0 = l0 + (size_t)(1 - pad) * step;
        q1 = l1 + (size_t)(1 - pad) * step;
        q2 = l2 + (size_t)(1 - pad) * step;
        for (; o < loaded; ++o) {
            x0 = *q0;
            x1 = *q1;
            x2 = *q2;
            q0 += step;
            q1 += step;
            q2 += step;
            a += KIT_DW_DOT(1, x0, x1, x2);
            x0 = *q0;
            x1 = *q1;
            x2 = *q2;
            q0 += step;
            q1 += step;
            q2 += step;
            a += KIT_DW_DOT(2, x0, x1, x2);
            KIT_DW_STORE(a);
            a = start + KIT_DW_DOT(0, x0, x1, x2);
        }
        for (; o < n_out; ++o) {
            KIT_DW_AT(2 * o + 1 - pad, x0, x1, x2);
            a += KIT_DW_DOT(1, x0, x1, x2);
            KIT_DW_AT(2 * o + 2 - pad, x0, x1, x2);
            a += KIT_DW_DOT(2, x0, x1, x2);
            KIT_DW_STORE(a);
            a = start + KIT_DW_DOT(0, x0, x1, x2);
        }
    }
}
#undef KIT_DW_STORE
#undef KIT_DW_DOT
#undef KIT_DW_AT

/* Channel c over every line of the plane. */
static KIT_NO_PRESCHED void dw_channel(const dw_plane_t *pl, int32_t c, const kit_conv_params_t *p) {
    const size_t cs = (size_t)pl->channels, lane_step = pl->lane_step;
    const int8_t *f = pl->filter + c;
    const int32_t zero_point = pl->zero_point, lane_n = pl->lane_n;
    const kit_rq_t q = kit_rq_prepare(p->output_multiplier[c], p->output_shift[c]);
    const int32_t kb = p->kernel_bias[c];
    int32_t w[3][3], line, l, t; /* w[position along the line][lane] */
    for (l = 0; l < 3; ++l) {
        for (t = 0; t < 3; ++t) {
            /* the [1, 3, 3, c] filter's tap (row, column) */
            w[t][l] = f[(size_t)(pl->rows ? l * 3 + t : t * 3 + l) * cs];
        }
    }
    for (line = 0; line < pl->lines; ++line) {
        const int32_t first = line * pl->lane_stride - pl->lane_pad;
        int8_t *out = pl->output + (size_t)line * pl->line_out_step + c;
        if (first >= 0 && first + 2 < lane_n) {
            const int8_t *l0 = pl->input + (size_t)first * lane_step + c * pl->in_channel_step;
            if (pl->step == pl->out_step) { /* (SAME, stride 1 along the line: one step register) */
                dw_line(pl, l0, l0 + lane_step, l0 + 2 * lane_step, w[0][0], w[0][1], w[0][2], w[1][0], w[1][1],
                        w[1][2], w[2][0], w[2][1], w[2][2], kb, q.m2, q.e, q.round, out, 1);
            } else {
                dw_line(pl, l0, l0 + lane_step, l0 + 2 * lane_step, w[0][0], w[0][1], w[0][2], w[1][0], w[1][1],
                        w[1][2], w[2][0], w[2][1], w[2][2], kb, q.m2, q.e, q.round, out, 0);
            }
        } else { /* a border line: lanes off the input read a valid one with zero weights */
            const int8_t *lane[3];
            int32_t v[3][3], start = kb, any = first < 0 ? -first : 0;
            for (l = 0; l < 3; ++l) {
                const int valid = first + l >= 0 && first + l < lane_n;
                lane[l] = pl->input + (size_t)(valid ? first + l : first + any) * lane_step + c * pl->in_channel_step;
                for (t = 0; t < 3; ++t) {
                    v[t][l] = valid ? w[t][l] : 0;
                    start += valid ? 0 : zero_point * w[t][l];
                }
            }
            if (pl->step == pl->out_step) {
                dw_line(pl, lane[0], lane[1], lane[2], v[0][0], v[0][1], v[0][2], v[1][0], v[1][1], v[1][2],
                        v[2][0], v[2][1], v[2][2], start, q.m2, q.e, q.round, out, 1);
            } else {
                dw_line(pl, lane[0], lane[1], lane[2], v[0][0], v[0][1], v[0][2], v[1][0], v[1][1], v[1][2],
                        v[2][0], v[2][1], v[2][2], start, q.m2, q.e, q.round, out, 0);
            }
        }
    }
}

/* Do [a, a + na) and [b, b + nb) share a byte? (compared as addresses of one arena) */
static int dw_buffers_overlap(const int8_t *a, size_t na, const int8_t *b, size_t nb) {
    const uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return x < y + nb && y < x + na;
}

/* Can the sweep write `output` while reading `input`, and from where? 0: not at all (the raster
 * loop runs); 1: straight from the input (no shared byte); 2: from a copy of each input channel's
 * plane in `scratch`. Case 2 is an output a whole number of pixels away from the input (as
 * kit.compile.overlap places one over its dying input): then output byte (pixel, c) lies on input
 * byte (pixel', c), the same channel, so the sweep of channel c overwrites only channel c's
 * input, which it reads from the copy, and channels after c stay intact. */
static int dw_sweep_source(const kit_conv_params_t *p, const int8_t *input, const int8_t *output) {
    const size_t in_bytes = (size_t)p->input.h * p->input.w * p->input.c;
    const size_t out_bytes = (size_t)p->output.h * p->output.w * p->output.c;
    const uintptr_t x = (uintptr_t)input, y = (uintptr_t)output;
    const size_t distance = x > y ? x - y : y - x;
    if (!dw_buffers_overlap(input, in_bytes, output, out_bytes)) {
        return 1;
    }
    return distance % (size_t)p->input.c == 0 && (size_t)p->input.h * p->input.w <= (size_t)p->scratch_bytes ? 2 : 0;
}

/* dst[i] = src[i * step] for i in [0, n) */
static KIT_COPY_LOOPS void dw_gather_plane(int8_t *dst, const int8_t *src, size_t step, int32_t n) {
    int32_t i;
    for (i = 0; i < n; ++i) {
        dst[i] = *src;
        src += step;
    }
}

/* DEPTHWISE_CONV_2D 3x3 through dw_channel, for one batch, reading the input itself or (plane
 * != NULL, dw_sweep_source's case 2) each channel's plane copied there first. Returns 0
 * (nothing written) when the op is not of that kind, or a channel's requantization is not
 * kit_rq_fast's. */
static int dw_3x3_portable(const kit_conv_params_t *p, const int8_t *input, const int8_t *filter, int8_t *output,
                           int8_t *plane) {
    const int32_t in_h = p->input.h, in_w = p->input.w, cs = p->output.c;
    const int32_t out_h = p->output.h, out_w = p->output.w;
    const int rows = out_w >= out_h; /* sweep along rows: the lanes are input rows */
    dw_plane_t pl;
    int32_t c;
    pl.stride = rows ? p->stride_w : p->stride_h;
    pl.lane_stride = rows ? p->stride_h : p->stride_w;
    pl.lane_pad = rows ? p->pad_h : p->pad_w;
    pl.lane_n = rows ? in_h : in_w;
    pl.lines = rows ? out_h : out_w;
    pl.pad = rows ? p->pad_w : p->pad_h;
    if (p->depth_multiplier != 1 || p->filter.h != 3 || p->filter.w != 3 || p->dilation_h != 1 ||
        p->dilation_w != 1 || p->kernel_bias == NULL || (pl.stride != 1 && pl.stride != 2) || p->input.c != cs ||
        pl.lane_pad > 2 || (pl.lines - 1) * pl.lane_stride - pl.lane_pad >= pl.lane_n || pl.pad > 3 - pl.stride) {
        return 0; /* (the last three: every window has an input lane and starts at most one
                   * stride before the input, as TFLM's SAME and VALID shapes do) */
    }
    for (c = 0; c < cs; ++c) {
        if (!kit_rq_prepare(p->output_multiplier[c], p->output_shift[c]).fast) {
            return 0;
        }
    }
    pl.input = plane != NULL ? plane : input;
    pl.in_channel_step = plane != NULL ? 0 : 1;
    pl.filter = filter;
    pl.output = output;
    pl.step = (size_t)(rows ? 1 : in_w) * (plane != NULL ? 1 : (size_t)cs);
    pl.out_step = (size_t)(rows ? 1 : out_w) * cs;
    pl.lane_step = (size_t)(rows ? in_w : 1) * (plane != NULL ? 1 : (size_t)cs);
    pl.line_out_step = (size_t)(rows ? out_w : 1) * cs;
    pl.n_in = rows ? in_w : in_h;
    pl.n_out = rows ? out_w : out_h;
    pl.zero_point = (int32_t)(int8_t)(-p->input_offset);
    pl.offset = p->output_offset;
    pl.lo = p->activation_min;
    pl.hi = p->activation_max;
    pl.channels = cs;
    pl.rows = rows;
    for (c = 0; c < cs; ++c) {
        if (plane != NULL) {
            dw_gather_plane(plane, input + c, (size_t)cs, in_h * in_w);
        }
        dw_channel(&pl, c, p);
    }
    return 1;
}
#endif

/* Channels [c, c + 4) of one output pixel over a clipped window of taps_h x taps_w taps. */
static inline void four_channels(const kit_conv_params_t *p, const int8_t *x_row, const int8_t *f_row,
                                 int32_t taps_h, int32_t taps_w, size_t x_y_step, size_t x_x_step,
                                 const int32_t *bias, int32_t c, int8_t *out_px) {
    const size_t f_y_step = (size_t)p->filter.w * p->output.c, f_x_step = (size_t)p->output.c;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, fy, fx;
#if KIT_DSP_KERNELS
    const uint32_t offsets = ((uint32_t)p->input_offset & 0xFFFFu) * 0x00010001u;
#else
    const int32_t offset = p->input_offset;
#endif
    if (bias != NULL) {
        a0 = bias[c];
        a1 = bias[c + 1];
        a2 = bias[c + 2];
        a3 = bias[c + 3];
    }
    x_row += c;
    f_row += c;
#if KIT_DSP_KERNELS
#define KIT_DW_TAP(x, w)                                                        \
    do {                                                                         \
        const uint32_t xv = kit_read_u32(x), wv = kit_read_u32(w);               \
        const uint32_t xe = __sxtab16(offsets, xv), xo = sxtab16_odd(offsets, xv); \
        const uint32_t we = __sxtb16(wv), wo = kit_sxtb16_odd(wv);               \
        a0 = __smlabb((int32_t)xe, (int32_t)we, a0);                             \
        a2 = __smlatt((int32_t)xe, (int32_t)we, a2);                             \
        a1 = __smlabb((int32_t)xo, (int32_t)wo, a1);                             \
        a3 = __smlatt((int32_t)xo, (int32_t)wo, a3);                             \
    } while (0)
#else
#define KIT_DW_TAP(x, w)                  \
    do {                                  \
        a0 += ((x)[0] + offset) * (w)[0]; \
        a1 += ((x)[1] + offset) * (w)[1]; \
        a2 += ((x)[2] + offset) * (w)[2]; \
        a3 += ((x)[3] + offset) * (w)[3]; \
    } while (0)
#endif
    for (fy = 0; fy < taps_h; ++fy) {
        const int8_t *x = x_row, *w = f_row;
        if (KIT_DW_UNROLL3 && taps_w == 3) {  /* the 3x3 window's full row, unrolled (DSP only: slower on rv32) */
            KIT_DW_TAP(x, w);
            KIT_DW_TAP(x + x_x_step, w + f_x_step);
            KIT_DW_TAP(x + 2 * x_x_step, w + 2 * f_x_step);
        } else {
            for (fx = 0; fx < taps_w; ++fx) {
                KIT_DW_TAP(x, w);
                x += x_x_step;
                w += f_x_step;
            }
        }
        x_row += x_y_step;
        f_row += f_y_step;
    }
#undef KIT_DW_TAP
    {
        const int32_t *mult = p->output_multiplier + c, *shift = p->output_shift + c;
        const int32_t offset = p->output_offset, lo = p->activation_min, hi = p->activation_max;
#if KIT_DSP_KERNELS
        kit_store4_s8(out_px + c, kit_requantize_raw(a0, mult[0], shift[0], offset),
                      kit_requantize_raw(a1, mult[1], shift[1], offset), kit_requantize_raw(a2, mult[2], shift[2], offset),
                      kit_requantize_raw(a3, mult[3], shift[3], offset), ((uint32_t)lo & 0xFFu) * 0x01010101u,
                      ((uint32_t)hi & 0xFFu) * 0x01010101u);
#else
        out_px[c] = requantize_fast(a0, mult[0], shift[0], offset, lo, hi);
        out_px[c + 1] = requantize_fast(a1, mult[1], shift[1], offset, lo, hi);
        out_px[c + 2] = requantize_fast(a2, mult[2], shift[2], offset, lo, hi);
        out_px[c + 3] = requantize_fast(a3, mult[3], shift[3], offset, lo, hi);
#endif
    }
}

int kit_op_depthwise_conv_2d(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    const kit_conv_params_t *p = (const kit_conv_params_t *)op->params;
    const int8_t *input = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    const int8_t *filter = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[1]);
    const int32_t *bias = (const int32_t *)kit_tensor_const_ptr(m, arena, op->inputs[2]);
    int8_t *output = (int8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
    const int32_t filter_h = p->filter.h, filter_w = p->filter.w;
    const int32_t out_h = p->output.h, out_w = p->output.w, out_c = p->output.c;
    const int32_t depth_multiplier = p->depth_multiplier;
    const int32_t input_offset = p->input_offset;
    const size_t in_y_step = (size_t)p->dilation_h * in_w * in_c;
    const size_t in_x_step = (size_t)p->dilation_w * in_c;
    const size_t f_y_step = (size_t)filter_w * out_c;
    const int32_t vector_channels = depth_multiplier == 1 ? in_c & ~3 : 0;
#if KIT_DSP_KERNELS
    /* every 3x3 window through dsp_3x3 (clipped or dilated ones copied by dsp_3x3_border) */
    const int fast_3x3 = vector_channels > 0 && p->kernel_bias != NULL && filter_h == 3 && filter_w == 3 &&
                         dw_border_bytes(vector_channels, out_c) <= p->scratch_bytes;
    const int in_place = fast_3x3 && p->dilation_w == 1; /* unclipped windows: taps out_c apart */
#endif
    int32_t b, oy, ox, ic, dm;
    for (b = 0; b < p->output.n; ++b) {
#if KIT_PORTABLE_PATH
        /* the sweep writes whole output channels before reading the next input channel: from the
         * input itself, or from plane copies when the compiler placed the output over the input
         * (kit.compile.overlap) a whole number of pixels away (dw_sweep_source) */
        {
            const int8_t *const input_b = input + (size_t)b * in_h * in_w * in_c;
            int8_t *const output_b = output + (size_t)b * out_h * out_w * out_c;
            const int source = dw_sweep_source(p, input_b, output_b);
            if (source != 0 && dw_3x3_portable(p, input_b, filter, output_b,
                                               source == 2 ? (int8_t *)(arena + p->scratch_offset) : NULL)) {
                continue;
            }
        }
#endif
#if KIT_DSP_KERNELS
        if (dw_groups_3x3(p, input + (size_t)b * in_h * in_w * in_c, filter,
                          output + (size_t)b * out_h * out_w * out_c)) {
            continue;
        }
#endif
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t in_y_origin = oy * p->stride_h - p->pad_h;
            int32_t fy_start, fy_end;
            kit_tap_range(in_y_origin, p->dilation_h, filter_h, in_h, &fy_start, &fy_end);
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t in_x_origin = ox * p->stride_w - p->pad_w;
                int8_t *out_px = output + (((size_t)b * out_h + oy) * out_w + ox) * out_c;
                int32_t fx_start, fx_end;
                const int8_t *window, *f_window;
                kit_tap_range(in_x_origin, p->dilation_w, filter_w, in_w, &fx_start, &fx_end);
                window = input + (((size_t)b * in_h + in_y_origin + p->dilation_h * fy_start) * in_w +
                                  in_x_origin + p->dilation_w * fx_start) * in_c;
                f_window = filter + ((size_t)fy_start * filter_w + fx_start) * out_c;
#if KIT_HELIUM_DW
                if (depth_multiplier == 1) {
                    helium_pixel(p, window, f_window, fy_end - fy_start, fx_end - fx_start, in_y_step, in_x_step,
                                 bias, out_px);
                    continue;
                }
#endif
#if KIT_DSP_KERNELS
                if (in_place && fy_end - fy_start == 3 && fx_end - fx_start == 3) {
                    dsp_3x3(p, window, f_window, in_x_step, in_y_step - 3 * in_x_step, 0, vector_channels, out_px);
                } else if (fast_3x3) {
                    dsp_3x3_border(p, input + (size_t)b * in_h * in_w * in_c, in_y_origin, in_x_origin, filter,
                                   vector_channels, out_px, arena + p->scratch_offset);
                } else
#endif
                for (ic = 0; ic < vector_channels; ic += 4) {
                    four_channels(p, window, f_window, fy_end - fy_start, fx_end - fx_start, in_y_step, in_x_step,
                                  bias, ic, out_px);
                }
                for (ic = vector_channels; ic < in_c; ++ic) {
                    for (dm = 0; dm < depth_multiplier; ++dm) {
                        const int32_t oc = dm + ic * depth_multiplier;
                        const int8_t *x_row = window + ic;
                        const int8_t *f_row = f_window + oc;
                        int32_t acc = 0;
                        int32_t fy, fx;
                        for (fy = fy_start; fy < fy_end; ++fy) {
                            const int8_t *x = x_row;
                            const int8_t *w = f_row;
                            for (fx = fx_start; fx < fx_end; ++fx) {
                                acc += (int32_t)*w * ((int32_t)*x + input_offset);
                                x += in_x_step;
                                w += out_c;
                            }
                            x_row += in_y_step;
                            f_row += f_y_step;
                        }
                        if (bias != NULL) {
                            acc += bias[oc];
                        }
                        out_px[oc] = requantize(p, acc, oc);
                    }
                }
            }
        }
    }
    return KIT_OK;
}
