/* TRANSPOSE_CONV int8 per-channel (TFLM reference_integer_ops::TransposeConv). TFLM scatters
 * every input pixel through the filter into an int32 scratch image, then requantizes; kit
 * gathers instead: each output value sums the same (input + input_offset) * filter products
 * (the input pixels whose scatter lands on it), so no scratch buffer and the same integer.
 * Inputs: 0 output shape (unused), 1 filter [out_c, kh, kw, in_c], 2 input, 3 bias or absent. */
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

int kit_op_transpose_conv(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    const kit_conv_params_t *p = (const kit_conv_params_t *)op->params;
    const int8_t *filter = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[1]);
    const int8_t *input = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[2]);
    const int32_t *bias = (const int32_t *)kit_tensor_const_ptr(m, arena, op->inputs[3]);
    int8_t *output = (int8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
    const int32_t k_h = p->filter.h, k_w = p->filter.w, out_c = p->output.c;
    int32_t b, oy, ox, oc, ky, kx, ic;
    if (p->stride_h < 1 || p->stride_w < 1) {
        return KIT_ERR_BAD_PARAMS;
    }
    for (b = 0; b < p->output.n; ++b) {
        const int8_t *image = input + (size_t)b * (size_t)in_h * (size_t)in_w * (size_t)in_c;
        for (oy = 0; oy < p->output.h; ++oy) {
            for (ox = 0; ox < p->output.w; ++ox) {
                for (oc = 0; oc < out_c; ++oc) {
                    int32_t acc = 0;
                    for (ky = 0; ky < k_h; ++ky) {
                        const int32_t y = oy + p->pad_h - ky; /* = in_y * stride_h when it lands here */
                        if (y < 0 || y % p->stride_h != 0 || y / p->stride_h >= in_h) {
                            continue;
                        }
                        for (kx = 0; kx < k_w; ++kx) {
                            const int32_t x = ox + p->pad_w - kx;
                            const int8_t *pixel, *taps;
                            if (x < 0 || x % p->stride_w != 0 || x / p->stride_w >= in_w) {
                                continue;
                            }
                            pixel = image + ((size_t)(y / p->stride_h) * (size_t)in_w + (size_t)(x / p->stride_w)) * (size_t)in_c;
                            taps = filter + (((size_t)oc * (size_t)k_h + (size_t)ky) * (size_t)k_w + (size_t)kx) * (size_t)in_c;
                            for (ic = 0; ic < in_c; ++ic) {
                                acc = kit_wrap_add(acc, ((int32_t)pixel[ic] + p->input_offset) * (int32_t)taps[ic]);
                            }
                        }
                    }
                    if (bias != NULL) {
                        acc = kit_wrap_add(acc, bias[oc]);
                    }
                    acc = kit_mbqm(acc, p->output_multiplier[oc], p->output_shift[oc]) + p->output_offset;
                    *output++ = (int8_t)kit_clamp_i32(acc, p->activation_min, p->activation_max);
                }
            }
        }
    }
    return KIT_OK;
}
