/* DEPTHWISE_CONV_2D int8, per-channel (TFLM reference_integer_ops::DepthwiseConvPerChannel):
 * depth multiplier and dilation supported. The filter window is clipped to the input once
 * per output pixel, so the tap loops carry no bounds checks; the sum per channel is TFLM's
 * sum of w * (x + input_offset) over the same taps (skipped taps add nothing in both).
 *
 * Depth multiplier 1 (every MobileNet / DS-CNN layer): four channels at a time, since the
 * channels of one tap are contiguous in both the input and the [1, kh, kw, c] filter. With
 * the Arm DSP extension, SXTAB16 widens two input bytes and adds the input offset in one
 * instruction and SMLABB / SMLATT multiply-accumulate one channel each. */
#include "kit_dot.h"
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

static inline int8_t requantize(const kit_conv_params_t *p, int32_t acc, int32_t oc) {
    acc = kit_requantize(acc, p->output_multiplier[oc], p->output_shift[oc]) + p->output_offset;
    return (int8_t)kit_clamp_i32(acc, p->activation_min, p->activation_max);
}

/* requantize with the per-op constants already in registers */
static inline int8_t requantize_fast(int32_t acc, int32_t multiplier, int32_t shift, int32_t offset, int32_t lo,
                                     int32_t hi) {
    acc = kit_requantize(acc, multiplier, shift) + offset;
    return (int8_t)kit_clamp_i32(acc, lo, hi);
}

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
        out_px[c] = requantize_fast(a0, mult[0], shift[0], offset, lo, hi);
        out_px[c + 1] = requantize_fast(a1, mult[1], shift[1], offset, lo, hi);
        out_px[c + 2] = requantize_fast(a2, mult[2], shift[2], offset, lo, hi);
        out_px[c + 3] = requantize_fast(a3, mult[3], shift[3], offset, lo, hi);
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
    int32_t b, oy, ox, ic, dm;
    for (b = 0; b < p->output.n; ++b) {
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
