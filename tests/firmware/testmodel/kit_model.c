/*
 * A checksum "model" for harness tests: output[k] = (sum_i input[i] * (i + k + 1)) mod 256,
 * as int8, for k < TEST_OUTPUT_BYTES. Three ops so per-op timing has something to time;
 * the Python tests compute the same function to check what the harness returns.
 */
#include "kit_model.h"

#define TEST_OP_COUNT KIT_MODEL_OP_COUNT

const kit_model_t kit_model = {
    TEST_INPUT_BYTES,
    TEST_OUTPUT_BYTES,
    TEST_ARENA_BYTES,
    KIT_MODEL_ID,
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
};

#ifdef TEST_FLASH_PAD_BYTES
/* Stands in for a model's weights in flash (the too-big-model tests make it large). */
static const uint8_t flash_pad[TEST_FLASH_PAD_BYTES] = {1};
#endif

static const char *const op_names[TEST_OP_COUNT] = {"CONV_2D", "FULLY_CONNECTED", "SOFTMAX"};

/* Arena layout: input | int32 sums | int8 output. */
static uint32_t *sums(uint8_t *arena)
{
    return (uint32_t *)(void *)(arena + ((TEST_INPUT_BYTES + 3u) & ~3u));
}

uint32_t kit_model_arena_bytes(const kit_model_t *m)
{
    return m->arena_bytes;
}

int8_t *kit_model_input(const kit_model_t *m, uint8_t *arena)
{
    (void)m;
    return (int8_t *)arena;
}

const int8_t *kit_model_output(const kit_model_t *m, const uint8_t *arena)
{
    (void)m;
    return (const int8_t *)(arena + ((TEST_INPUT_BYTES + 3u) & ~3u) + TEST_OUTPUT_BYTES * 4u);
}

uint32_t kit_model_input_bytes(const kit_model_t *m)
{
    return m->input_bytes;
}

uint32_t kit_model_output_bytes(const kit_model_t *m)
{
    return m->output_bytes;
}

static void op_clear(uint8_t *arena)
{
    uint32_t k;
    for (k = 0; k < TEST_OUTPUT_BYTES; k++) {
        sums(arena)[k] = 0;
    }
#ifdef TEST_FLASH_PAD_BYTES
    sums(arena)[0] += (uint32_t)((const volatile uint8_t *)flash_pad)[0] - 1u;
#endif
}

static void op_accumulate(uint8_t *arena)
{
    uint32_t i;
    uint32_t k;
    for (k = 0; k < TEST_OUTPUT_BYTES; k++) {
        for (i = 0; i < TEST_INPUT_BYTES; i++) {
            sums(arena)[k] += (uint32_t)arena[i] * (i + k + 1u);
        }
    }
}

static void op_finish(uint8_t *arena)
{
    uint32_t k;
    int8_t *out = (int8_t *)(arena + ((TEST_INPUT_BYTES + 3u) & ~3u) + TEST_OUTPUT_BYTES * 4u);
    for (k = 0; k < TEST_OUTPUT_BYTES; k++) {
        out[k] = (int8_t)(uint8_t)(sums(arena)[k] & 0xFFu);
    }
}

int kit_model_invoke(const kit_model_t *m, uint8_t *arena, kit_op_hook_t hook, void *ctx)
{
    uint32_t op;
    if (m == 0 || arena == 0) {
        return -1;
    }
    for (op = 0; op < TEST_OP_COUNT; op++) {
        if (hook != 0) {
            hook(ctx, op, 0);
        }
        if (op == 0) {
            op_clear(arena);
        } else if (op == 1) {
            op_accumulate(arena);
        } else {
            op_finish(arena);
        }
        if (hook != 0) {
            hook(ctx, op, 1);
        }
    }
    return 0;
}

uint32_t kit_model_op_count(const kit_model_t *m)
{
    (void)m;
    return TEST_OP_COUNT;
}

const char *kit_model_op_name(const kit_model_t *m, uint32_t i)
{
    (void)m;
    return i < TEST_OP_COUNT ? op_names[i] : "?";
}

const char *kit_model_id(const kit_model_t *m)
{
    return m->id;
}

const char *kit_model_sha256(const kit_model_t *m)
{
    return m->sha256;
}
