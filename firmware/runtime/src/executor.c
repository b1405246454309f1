/*
 * The executor: runs the compiled op list in order over one caller-provided arena.
 * It owns nothing; the hook lets the firmware harness time each op without the runtime
 * knowing about timers.
 */
#include <stddef.h>

#include "kit_kernels.h"
#include "kit_runtime.h"

static const kit_kernel_fn kernels[KIT_OP_COUNT] = {
    kit_op_conv_2d,         /* KIT_OP_CONV_2D */
    kit_op_depthwise_conv_2d,
    kit_op_fully_connected,
    kit_op_average_pool_2d,
    kit_op_max_pool_2d,
    kit_op_add,
    kit_op_reshape,
    kit_op_softmax,
    kit_op_mean,
    kit_op_pad,
    kit_op_concatenation,
    kit_op_mul,
    kit_op_logistic,
    kit_op_quantize,
    kit_op_dequantize,
};

static const char *const op_names[KIT_OP_COUNT] = {
    "CONV_2D",  "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D",
    "ADD",      "RESHAPE",           "SOFTMAX",         "MEAN",            "PAD",
    "CONCATENATION", "MUL",          "LOGISTIC",        "QUANTIZE",        "DEQUANTIZE",
};

uint32_t kit_model_arena_bytes(const kit_model_t *m) { return m->arena_bytes; }

int8_t *kit_model_input(const kit_model_t *m, uint8_t *arena) {
    return (int8_t *)(void *)(arena + m->tensors[m->input_tensor].offset);
}

const int8_t *kit_model_output(const kit_model_t *m, const uint8_t *arena) {
    return (const int8_t *)(const void *)(arena + m->tensors[m->output_tensor].offset);
}

uint32_t kit_model_input_bytes(const kit_model_t *m) { return m->tensors[m->input_tensor].bytes; }

uint32_t kit_model_output_bytes(const kit_model_t *m) { return m->tensors[m->output_tensor].bytes; }

uint32_t kit_model_op_count(const kit_model_t *m) { return (uint32_t)m->num_ops; }

const char *kit_model_op_name(const kit_model_t *m, uint32_t i) {
    if (i >= (uint32_t)m->num_ops || m->ops[i].type < 0 || m->ops[i].type >= KIT_OP_COUNT) {
        return "?";
    }
    return op_names[m->ops[i].type];
}

const char *kit_model_id(const kit_model_t *m) { return m->id; }

const char *kit_model_sha256(const kit_model_t *m) { return m->sha256; }

int kit_model_invoke(const kit_model_t *m, uint8_t *arena, kit_op_hook_t hook, void *ctx) {
    int32_t i;
    if (m == NULL || arena == NULL) {
        return KIT_ERR_NULL;
    }
    if (((uintptr_t)arena & 15u) != 0) {
        return KIT_ERR_ALIGNMENT;
    }
    if (m->runtime_version != KIT_RUNTIME_VERSION) {
        return KIT_ERR_VERSION;
    }
    for (i = 0; i < m->num_ops; ++i) {
        const kit_op_t *op = &m->ops[i];
        int status;
        if (op->type < 0 || op->type >= KIT_OP_COUNT) {
            return KIT_ERR_UNKNOWN_OP;
        }
        if (hook != NULL) {
            hook(ctx, (uint32_t)i, 0);
        }
        status = kernels[op->type](op, m, arena);
        if (hook != NULL) {
            hook(ctx, (uint32_t)i, 1);
        }
        if (status != KIT_OK) {
            return status;
        }
    }
    return KIT_OK;
}
