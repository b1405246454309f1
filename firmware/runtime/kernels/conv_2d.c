/* CONV_2D int8, per-channel requantization (TFLM reference_integer_ops::ConvPerChannel),
 * including grouped convolutions (filter input depth < input depth). */
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
    int32_t b, oy, ox, oc;
    for (b = 0; b < p->output.n; ++b) {
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t in_y_origin = oy * p->stride_h - p->pad_h;
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t in_x_origin = ox * p->stride_w - p->pad_w;
                for (oc = 0; oc < out_c; ++oc) {
                    const int32_t group = oc / filters_per_group;
                    const int8_t *filter_oc = filter + (size_t)oc * filter_h * filter_w * filter_in_c;
                    int32_t acc = 0;
                    int32_t fy, fx, ic;
                    for (fy = 0; fy < filter_h; ++fy) {
                        const int32_t in_y = in_y_origin + p->dilation_h * fy;
                        if (in_y < 0 || in_y >= in_h) {
                            continue;
                        }
                        for (fx = 0; fx < filter_w; ++fx) {
                            const int32_t in_x = in_x_origin + p->dilation_w * fx;
                            const int8_t *in_px;
                            const int8_t *f_px;
                            if (in_x < 0 || in_x >= in_w) {
                                continue;
                            }
                            in_px = input + (((size_t)b * in_h + in_y) * in_w + in_x) * in_c +
                                    group * filter_in_c;
                            f_px = filter_oc + ((size_t)fy * filter_w + fx) * filter_in_c;
                            for (ic = 0; ic < filter_in_c; ++ic) {
                                acc += (int32_t)f_px[ic] * ((int32_t)in_px[ic] + p->input_offset);
                            }
                        }
                    }
                    if (bias != NULL) {
                        acc += bias[oc];
                    }
                    acc = kit_mbqm(acc, p->output_multiplier[oc], p->output_shift[oc]);
                    acc += p->output_offset;
                    acc = kit_clamp_i32(acc, p->activation_min, p->activation_max);
                    output[(((size_t)b * out_h + oy) * out_w + ox) * out_c + oc] = (int8_t)acc;
                }
            }
        }
    }
    return KIT_OK;
}
