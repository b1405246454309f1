/* CONV_2D int8, per-channel requantization (TFLM reference_integer_ops::ConvPerChannel),
 * including grouped convolutions (filter input depth < input depth). The filter window is
 * clipped to the input once per output pixel; the sum is the same as TFLM's (int32 adds
 * of the same products), only the skipped out-of-bounds taps are never visited. */
#include "kit_dot.h"
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

int kit_op_conv_2d(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    const kit_conv_params_t *p = (const kit_conv_params_t *)op->params;
    const int8_t *input = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    const int8_t *filter = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[1]);
    const int32_t *bias = (const int32_t *)kit_tensor_const_ptr(m, arena, op->inputs[2]);
    int8_t *output = (int8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
    const int32_t filter_h = p->filter.h, filter_w = p->filter.w, filter_in_c = p->filter.c;
    const int32_t out_h = p->output.h, out_w = p->output.w, out_c = p->output.c;
    const int32_t filters_per_group = out_c / (in_c / filter_in_c);
    const int32_t input_offset = p->input_offset;
    /* without dilation or groups, input and filter rows of the window are contiguous */
    const int contiguous_rows = p->dilation_w == 1 && filter_in_c == in_c;
    int32_t b, oy, ox, oc;
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
                    out_px[oc] = (int8_t)kit_clamp_i32(acc, p->activation_min, p->activation_max);
                }
            }
        }
    }
    return KIT_OK;
}
