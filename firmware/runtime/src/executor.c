/*
 * The executor: runs the compiled op list in order over one caller-provided arena.
 * It owns nothing; the hook lets the firmware harness time each op without the runtime
 * knowing about timers.
 */
#include <stddef.h>

#include "kit_kernels.h"
#include "kit_runtime.h"

/* Both tables come from KIT_OPS, indexed by the enum value, so they cannot fall out of step. */
#define KIT_KERNEL_ENTRY(NAME, name) [KIT_OP_##NAME] = kit_op_##name,
static const kit_kernel_fn kernels[KIT_OP_COUNT] = {KIT_OPS(KIT_KERNEL_ENTRY)};
#undef KIT_KERNEL_ENTRY

#define KIT_OP_NAME_ENTRY(NAME, name) [KIT_OP_##NAME] = #NAME,
static const char *const op_names[KIT_OP_COUNT] = {KIT_OPS(KIT_OP_NAME_ENTRY)};
#undef KIT_OP_NAME_ENTRY

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
