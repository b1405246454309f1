/*
 * Test stand-in for firmware/runtime/include/kit_runtime.h: the same public API
 * (docs/ARCHITECTURE.md, "Compiled model (C) contract") over a tiny hand-written model, so the
 * harness can be tested without the compiler. Only tests use it.
 */
#ifndef KIT_RUNTIME_H
#define KIT_RUNTIME_H

#include <stdint.h>

#define KIT_RUNTIME_VERSION 0

typedef void (*kit_op_hook_t)(void *ctx, uint32_t op_index, int after);

typedef struct kit_model {
    uint32_t input_bytes;
    uint32_t output_bytes;
    uint32_t arena_bytes;
    const char *id;
    const char *sha256;
} kit_model_t;

uint32_t kit_model_arena_bytes(const kit_model_t *m);
int8_t *kit_model_input(const kit_model_t *m, uint8_t *arena);
const int8_t *kit_model_output(const kit_model_t *m, const uint8_t *arena);
uint32_t kit_model_input_bytes(const kit_model_t *m);
uint32_t kit_model_output_bytes(const kit_model_t *m);
int kit_model_invoke(const kit_model_t *m, uint8_t *arena, kit_op_hook_t hook, void *ctx);
uint32_t kit_model_op_count(const kit_model_t *m);
const char *kit_model_op_name(const kit_model_t *m, uint32_t i);
const char *kit_model_id(const kit_model_t *m);
const char *kit_model_sha256(const kit_model_t *m);

#endif /* KIT_RUNTIME_H */
