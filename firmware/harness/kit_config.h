/*
 * Build-time settings of the harness. Include it AFTER kit_model.h: the static buffers are
 * sized from the generated model's KIT_MODEL_* macros, so the linker, not the board at run
 * time, says when RAM is short. `kit.build` also writes kit_build_info.h (board name, build
 * id) and defines KIT_HAVE_BUILD_INFO; a hand build gets defaults. Any value can be
 * overridden with -D.
 */
#ifndef KIT_CONFIG_H
#define KIT_CONFIG_H

#ifdef KIT_HAVE_BUILD_INFO
#include "kit_build_info.h"
#endif

#ifndef KIT_BOARD_NAME
#define KIT_BOARD_NAME "unknown"
#endif
#ifndef KIT_BUILD_ID
#define KIT_BUILD_ID "dev"
#endif
#ifndef KIT_FIRMWARE_VERSION
#define KIT_FIRMWARE_VERSION "0.1.0"
#endif
/* Static arena and input buffer sizes in bytes (the model must fit them). */
#ifndef KIT_ARENA_CAPACITY
#ifdef KIT_MODEL_ARENA_BYTES
#define KIT_ARENA_CAPACITY KIT_MODEL_ARENA_BYTES
#else
#define KIT_ARENA_CAPACITY 65536u
#endif
#endif
#ifndef KIT_INPUT_CAPACITY
#ifdef KIT_MODEL_INPUT_BYTES
#define KIT_INPUT_CAPACITY KIT_MODEL_INPUT_BYTES
#else
#define KIT_INPUT_CAPACITY 4096u
#endif
#endif
/* Per-op timing table entries (ops past it report 0 ticks). */
#ifndef KIT_MAX_OPS
#ifdef KIT_MODEL_OP_COUNT
#define KIT_MAX_OPS KIT_MODEL_OP_COUNT
#else
#define KIT_MAX_OPS 256u
#endif
#endif
/* Quantisation of the model's input and output (scale 0 = unknown). */
#ifdef KIT_MODEL_INPUT_SCALE
#define KIT_INPUT_SCALE KIT_MODEL_INPUT_SCALE
#define KIT_INPUT_ZERO_POINT KIT_MODEL_INPUT_ZERO_POINT
#else
#define KIT_INPUT_SCALE 0.0f
#define KIT_INPUT_ZERO_POINT 0
#endif
#ifdef KIT_MODEL_OUTPUT_SCALE
#define KIT_OUTPUT_SCALE KIT_MODEL_OUTPUT_SCALE
#define KIT_OUTPUT_ZERO_POINT KIT_MODEL_OUTPUT_ZERO_POINT
#else
#define KIT_OUTPUT_SCALE 0.0f
#define KIT_OUTPUT_ZERO_POINT 0
#endif

/* Most runs (and warm-up runs) one infer / kit-infer command may ask for: a bound on the work
 * a single command line can start (the MLPerf runner asks for a few thousand at most). */
#ifndef KIT_MAX_RUNS
#define KIT_MAX_RUNS 1000000u
#endif

/* kit-load: at most 180 decoded bytes (240 base64 characters) per line. */
#define KIT_LOAD_CHUNK_MAX 180

#endif /* KIT_CONFIG_H */
