/* RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR int8 (TFLM reference_ops), quantization unchanged.
 * Nearest: TFLM picks source rows and columns with float math; the compiler computed that
 * choice per output row and column (y_map, x_map), so the kernel only copies pixels.
 * Bilinear: TFLM's integer ResizeBilinearInteger, 10-bit fixed-point coordinates and weights. */
#include <string.h>

#include "kit_fixedpoint.h"
#include "kit_kernels.h"

int kit_op_resize_nearest_neighbor(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    const kit_resize_nearest_params_t *p = (const kit_resize_nearest_params_t *)op->params;
    const int8_t *input = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    int8_t *output = (int8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    const size_t depth = (size_t)p->output.c;
    int32_t b, y, x;
    for (b = 0; b < p->output.n; ++b) {
        for (y = 0; y < p->output.h; ++y) {
            const int8_t *row = input + ((size_t)b * (size_t)p->input.h + (size_t)p->y_map[y]) * (size_t)p->input.w * depth;
            for (x = 0; x < p->output.w; ++x) {
                memcpy(output, row + (size_t)p->x_map[x] * depth, depth);
                output += depth;
            }
        }
    }
    return KIT_OK;
}

/* TFLM ComputeInterpolationValuesInteger: the source coordinate in 1/1024 and its two
 * neighbouring rows (or columns), clipped to the image. */
static void kit_interpolation_values(int32_t value, int32_t scale_10, int32_t half_pixel_centers, int32_t size,
                                     int32_t *scaled, int32_t *lower, int32_t *upper) {
    const int32_t s = half_pixel_centers ? value * scale_10 + scale_10 / 2 - (1 << 9) : value * scale_10;
    const int32_t low = s / (1 << 10);
    const int32_t high = (s + (1 << 10) - 1) / (1 << 10);
    *scaled = s;
    *lower = low > 0 ? low : 0;
    *upper = high < size - 1 ? high : size - 1;
}

int kit_op_resize_bilinear(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    const kit_resize_bilinear_params_t *p = (const kit_resize_bilinear_params_t *)op->params;
    const int8_t *input = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    int8_t *output = (int8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    const int32_t depth = p->output.c, in_w = p->input.w;
    int32_t b, y, x, c;
    for (b = 0; b < p->output.n; ++b) {
        const int8_t *image = input + (size_t)b * (size_t)p->input.h * (size_t)in_w * (size_t)depth;
        for (y = 0; y < p->output.h; ++y) {
            int32_t in_y, y0, y1;
            kit_interpolation_values(y, p->height_scale_10, p->half_pixel_centers, p->input.h, &in_y, &y0, &y1);
            for (x = 0; x < p->output.w; ++x) {
                int32_t in_x, x0, x1;
                const int8_t *p00, *p10, *p01, *p11;
                int64_t wy1, wy0, wx1, wx0;
                kit_interpolation_values(x, p->width_scale_10, p->half_pixel_centers, in_w, &in_x, &x0, &x1);
                wy1 = in_y - (1 << 10) * y0;
                wy0 = (1 << 10) - wy1;
                wx1 = in_x - (1 << 10) * x0;
                wx0 = (1 << 10) - wx1;
                p00 = image + ((size_t)y0 * (size_t)in_w + (size_t)x0) * (size_t)depth;
                p10 = image + ((size_t)y1 * (size_t)in_w + (size_t)x0) * (size_t)depth;
                p01 = image + ((size_t)y0 * (size_t)in_w + (size_t)x1) * (size_t)depth;
                p11 = image + ((size_t)y1 * (size_t)in_w + (size_t)x1) * (size_t)depth;
                for (c = 0; c < depth; ++c) {
                    const int64_t sum = p00[c] * wy0 * wx0 + p10[c] * wy1 * wx0 + p01[c] * wy0 * wx1 + p11[c] * wy1 * wx1;
#if KIT_SINGLE_ROUNDING
                    *output++ = (int8_t)((sum + (1 << 19)) >> 20);
#else
                    *output++ = (int8_t)((sum + (sum > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20));
#endif
                }
            }
        }
    }
    return KIT_OK;
}
