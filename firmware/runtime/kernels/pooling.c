/* AVERAGE_POOL_2D and MAX_POOL_2D int8 (TFLM reference_integer_ops pooling): the window is
 * clipped to the input, and the average divides by the clipped count, rounding half away
 * from zero.
 *
 * Memory order (kit.compile.overlap relies on it to write the output over the input): output
 * pixels in raster order, each reading only its own window. */
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

typedef struct {
    int32_t x_start, x_end, y_start, y_end;
} pool_window_t;

static pool_window_t clipped_window(const kit_pool_params_t *p, int32_t in_y_origin, int32_t in_x_origin) {
    pool_window_t w;
    w.x_start = kit_max_i32(0, -in_x_origin);
    w.x_end = kit_min_i32(p->filter_w, p->input.w - in_x_origin);
    w.y_start = kit_max_i32(0, -in_y_origin);
    w.y_end = kit_min_i32(p->filter_h, p->input.h - in_y_origin);
    return w;
}

static int pool(const kit_op_t *op, const kit_model_t *m, uint8_t *arena, int average) {
    const kit_pool_params_t *p = (const kit_pool_params_t *)op->params;
    const int8_t *input = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    int8_t *output = (int8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    const int32_t in_h = p->input.h, in_w = p->input.w, depth = p->input.c;
    int32_t b, oy, ox, c;
    for (b = 0; b < p->output.n; ++b) {
        for (oy = 0; oy < p->output.h; ++oy) {
            for (ox = 0; ox < p->output.w; ++ox) {
                const int32_t in_y_origin = oy * p->stride_h - p->pad_h;
                const int32_t in_x_origin = ox * p->stride_w - p->pad_w;
                const pool_window_t w = clipped_window(p, in_y_origin, in_x_origin);
                for (c = 0; c < depth; ++c) {
                    int32_t acc = average ? 0 : -128;
                    int32_t count = 0;
                    int32_t fy, fx;
                    for (fy = w.y_start; fy < w.y_end; ++fy) {
                        for (fx = w.x_start; fx < w.x_end; ++fx) {
                            const int32_t v = input[(((size_t)b * in_h + in_y_origin + fy) * in_w +
                                                     in_x_origin + fx) * depth + c];
                            if (average) {
                                acc += v;
                            } else if (v > acc) {
                                acc = v;
                            }
                            ++count;
                        }
                    }
                    if (average) {
                        if (count == 0) {
                            return KIT_ERR_BAD_PARAMS;
                        }
                        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    }
                    acc = kit_clamp_i32(acc, p->activation_min, p->activation_max);
                    output[(((size_t)b * p->output.h + oy) * p->output.w + ox) * depth + c] = (int8_t)acc;
                }
            }
        }
    }
    return KIT_OK;
}

int kit_op_average_pool_2d(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    return pool(op, m, arena, 1);
}

int kit_op_max_pool_2d(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    return pool(op, m, arena, 0);
}
