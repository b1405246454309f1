/* Standalone int8 activations, as TFLM's reference kernels compute them:
 * RELU (ReluQuantized: requantize to the output scale, clamp at the output's quantized 0),
 * RELU_N1_TO_1 (TFLM has no kernel: TensorFlow Lite's QuantizedReluX, the same requantize
 * and clamp, to the output's quantized -1 and 1),
 * RELU6 (Relu6Quantized: clamp in the input's quantization, no rescaling) and LEAKY_RELU
 * (QuantizeLeakyRelu: one multiplier for x >= 0, another carrying alpha for x < 0).
 * Element i is read before element i is written and never again, so the output may sit on
 * the input (kit.compile.overlap). */
#include "kit_fixedpoint.h"
#include "kit_kernels.h"

/* RELU is LEAKY_RELU whose negative side is clamped away: one loop serves both. */
static int kit_relu_family(const kit_op_t *op, const kit_model_t *m, uint8_t *arena, int leaky) {
    const kit_relu_params_t *p = (const kit_relu_params_t *)op->params;
    const int8_t *input = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    int8_t *output = (int8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        const int32_t x = (int32_t)input[i] - p->input_zero_point;
        const int32_t scaled = (leaky && x < 0) ? kit_mbqm(x, p->alpha_multiplier, p->alpha_shift)
                                                : kit_mbqm(x, p->identity_multiplier, p->identity_shift);
        output[i] = (int8_t)kit_clamp_i32(scaled + p->output_zero_point, p->activation_min, p->activation_max);
    }
    return KIT_OK;
}

int kit_op_relu(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    return kit_relu_family(op, m, arena, 0);
}

int kit_op_relu_n1_to_1(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    return kit_relu_family(op, m, arena, 0);
}

int kit_op_leaky_relu(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    return kit_relu_family(op, m, arena, 1);
}

int kit_op_relu6(const kit_op_t *op, const kit_model_t *m, uint8_t *arena) {
    const kit_relu6_params_t *p = (const kit_relu6_params_t *)op->params;
    const int8_t *input = (const int8_t *)kit_tensor_const_ptr(m, arena, op->inputs[0]);
    int8_t *output = (int8_t *)kit_tensor_arena_ptr(m, arena, op->output);
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        output[i] = (int8_t)kit_clamp_i32(input[i], p->lower, p->upper);
    }
    return KIT_OK;
}
