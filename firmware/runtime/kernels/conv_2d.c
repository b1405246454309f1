/* CONV_2D int8, per-channel requantization (TFLM reference_integer_ops::ConvPerChannel),
 * including grouped convolutions (filter input depth < input depth).
 *
 * Fast path (non-grouped, with the compiler's kernel_bias): a matrix multiply of filter rows
 * by input columns, two output pixels x two output channels per block (kit_mat_2x2). A 1x1
 * convolution without padding reads its columns straight from the input; any other filter
 * copies the two windows into im2col columns on the stack, padded taps set to the input
 * zero point (they then add 0, as TFLM's skipped taps do). Windows larger than
 * KIT_IM2COL_MAX bytes take the general path, and so does an op the compiler gave less
 * scratch than im2col_scratch_bytes (the columns live in the arena, not on the stack).
 *
 * Memory order (kit.compile.overlap relies on it to write the output over a dying input):
 * output pixels in raster order, in blocks of at most two, each block reading only its
 * pixels' input windows.
 *
 * General path: the filter window is clipped to the input once per output pixel; the sum
 * is the same as TFLM's (int32 adds of the same products), only the skipped out-of-bounds
 * taps are never visited. */
#include <string.h>

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

/* Scratch of the fast path (kit.compile.scratch mirrors it, for the DSP layout, the larger).
 * Portable: the two im2col columns (2 * k bytes; none when a 1x1 reads the input directly).
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

/* Output element i: the requantized convolution, or with a fused ADD (kit.compile.fuse) that
 * ADD of it and the shortcut's element i, read just before element i is written (the output
 * may sit on the shortcut). */
static inline int8_t fused(const kit_conv_params_t *p, const int8_t *shortcut, size_t i, int8_t conv) {
    if (shortcut == NULL) {  /* a constant where conv_pairs is inlined (conv_im2col) */
        return conv;
    }
    return p->fused_conv_is_input2 ? kit_add_element((const kit_binary_params_t *)p->fused_add, shortcut[i], conv)
                                   : kit_add_element((const kit_binary_params_t *)p->fused_add, conv, shortcut[i]);
}

#if defined(__GNUC__)
#define KIT_ALWAYS_INLINE inline __attribute__((always_inline))
#define KIT_NOINLINE __attribute__((noinline))
#else
#define KIT_ALWAYS_INLINE inline
#define KIT_NOINLINE
#endif

static KIT_ALWAYS_INLINE void conv_pairs(const kit_conv_params_t *p, const int8_t *input, const int8_t *filter,
                                         int8_t *output, uint8_t *scratch, const int8_t *shortcut) {
    const int32_t k = p->filter.h * p->filter.w * p->input.c, out_c = p->output.c;
    const int32_t pixels = p->output.h * p->output.w;
    const int32_t offset = p->output_offset, lo = p->activation_min, hi = p->activation_max;
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
            acc[0] = acc[2] = p->kernel_bias[oc];
            acc[1] = acc[3] = p->kernel_bias[oc1];
#if KIT_DSP_KERNELS
            kit_mat_2x2_q15(wide, w0, w1, k4, acc);
            kit_mat_2x2(a0 + k4, a1 + k4, w0 + k4, w1 + k4, k - k4, acc);
#else
            kit_mat_2x2(a0, a1, w0, w1, k, acc);
#endif
            {
                const int32_t m0 = p->output_multiplier[oc], s0 = p->output_shift[oc];
                const int32_t m1 = p->output_multiplier[oc1], s1 = p->output_shift[oc1];
                const size_t i0 = (size_t)px * out_c, i1 = (size_t)px1 * out_c;
                out0[oc] = fused(p, shortcut, i0 + oc, requantize(acc[0], m0, s0, offset, lo, hi));
                out1[oc] = fused(p, shortcut, i1 + oc, requantize(acc[2], m0, s0, offset, lo, hi));
                out0[oc1] = fused(p, shortcut, i0 + oc1, requantize(acc[1], m1, s1, offset, lo, hi));
                out1[oc1] = fused(p, shortcut, i1 + oc1, requantize(acc[3], m1, s1, offset, lo, hi));
            }
        }
    }
}

/* conv_pairs twice, so the loop without a fused ADD is the loop it was (no test per output);
 * kept out of kit_op_conv_2d, whose general path would crowd its registers (rv32). */
static KIT_NOINLINE void conv_im2col(const kit_conv_params_t *p, const int8_t *input, const int8_t *filter, int8_t *output,
                        uint8_t *scratch, const int8_t *shortcut) {
    if (shortcut == NULL) {
        conv_pairs(p, input, filter, output, scratch, NULL);
    } else {
        conv_pairs(p, input, filter, output, scratch, shortcut);
    }
}

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
    const int direct = filter_h == 1 && filter_w == 1 && p->pad_h == 0 && p->pad_w == 0;
    if (p->kernel_bias != NULL && filter_in_c == in_c && (filter_h * filter_w * in_c <= KIT_IM2COL_MAX || direct) &&
        im2col_scratch_bytes(filter_h * filter_w * in_c, direct) <= p->scratch_bytes) {
        const size_t in_batch = (size_t)in_h * in_w * in_c, out_batch = (size_t)out_h * out_w * out_c;
        for (b = 0; b < p->output.n; ++b) {
            conv_im2col(p, input + b * in_batch, filter, output + b * out_batch, arena + p->scratch_offset,
                        shortcut != NULL ? shortcut + b * out_batch : NULL);
        }
        return KIT_OK;
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
