/* QUANTIZE int8 -> int8 (TFLM reference_ops::Requantize) and DEQUANTIZE int8 -> float32
 * (TFLM reference_ops::Dequantize: double scale, result rounded to float). */
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

int kit_op_quantize(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    const kit_quantize_params_t *p = (const kit_quantize_params_t *)op->params;
    const int8_t *input = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    int8_t *output = (int8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        const int32_t x = (int32_t)input[i] - p->input_zero_point;
        const int32_t y = kit_mbqm(x, p->output_multiplier, p->output_shift) + p->output_zero_point;
        output[i] = (int8_t)kit_clamp_i32(y, -128, 127);
    }
    return KIT_OK;
}

int kit_op_dequantize(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    const kit_dequantize_params_t *p = (const kit_dequantize_params_t *)op->params;
    const int8_t *input = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    float *output = (float *)kit_tensor_arena_ptr(m, arena, op->output);
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        output[i] = (float)(p->scale * (double)((int32_t)input[i] - p->zero_point));
    }
    return KIT_OK;
}
