/* DEPTHWISE_CONV_2D int8, per-channel (TFLM reference_integer_ops::DepthwiseConvPerChannel):
 * depth multiplier and dilation supported. The filter window is clipped to the input once
 * per output pixel, so the tap loops carry no bounds checks. */
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

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
                const int8_t *window;
                kit_tap_range(in_x_origin, p->dilation_w, filter_w, in_w, &fx_start, &fx_end);
                window = input + (((size_t)b * in_h + in_y_origin + p->dilation_h * fy_start) * in_w +
                                  in_x_origin + p->dilation_w * fx_start) * in_c;
                for (ic = 0; ic < in_c; ++ic) {
                    for (dm = 0; dm < depth_multiplier; ++dm) {
                        const int32_t oc = dm + ic * depth_multiplier;
                        const int8_t *x_row = window + ic;
                        const int8_t *f_row = filter + ((size_t)fy_start * filter_w + fx_start) * out_c + oc;
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
                        acc = kit_mbqm(acc, p->output_multiplier[oc], p->output_shift[oc]);
                        acc += p->output_offset;
                        out_px[oc] = (int8_t)kit_clamp_i32(acc, p->activation_min, p->activation_max);
                    }
                }
            }
        }
    }
    return KIT_OK;
}
