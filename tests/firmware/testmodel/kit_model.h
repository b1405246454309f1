/* Test stand-in for a generated kit_model.h: the same macros kit.compile.emit_c writes. */
#ifndef KIT_MODEL_H
#define KIT_MODEL_H

#include "kit_runtime.h"

#ifndef TEST_INPUT_BYTES
#define TEST_INPUT_BYTES 64u
#endif
#ifndef TEST_OUTPUT_BYTES
#define TEST_OUTPUT_BYTES 4u
#endif
#ifndef TEST_ARENA_BYTES
#define TEST_ARENA_BYTES (((TEST_INPUT_BYTES + 3u) & ~3u) + TEST_OUTPUT_BYTES * 5u)
#endif

#define KIT_MODEL_ID "test01"
#define KIT_MODEL_ARENA_BYTES TEST_ARENA_BYTES
#define KIT_MODEL_INPUT_BYTES TEST_INPUT_BYTES
#define KIT_MODEL_OUTPUT_BYTES TEST_OUTPUT_BYTES
#define KIT_MODEL_INPUT_SCALE 0x1p-1f
#define KIT_MODEL_INPUT_ZERO_POINT 0
#define KIT_MODEL_OUTPUT_SCALE 0x1p-8f
#define KIT_MODEL_OUTPUT_ZERO_POINT (-128)
#define KIT_MODEL_OP_COUNT 3u

extern const kit_model_t kit_model;

#endif /* KIT_MODEL_H */
