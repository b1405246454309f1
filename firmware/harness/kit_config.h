/*
 * Build-time settings of the harness. `kit.build` writes kit_build_info.h next to the
 * generated model (board name, build id, static buffer sizes sized from the model, the
 * input/output quantisation) and defines KIT_HAVE_BUILD_INFO; a hand build gets defaults.
 * The buffers are static so the linker, not the board at run time, says when RAM is short.
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
#define KIT_ARENA_CAPACITY 65536
#endif
#ifndef KIT_INPUT_CAPACITY
#define KIT_INPUT_CAPACITY 4096
#endif
/* Per-op timing table entries (ops past it report 0 ticks). */
#ifndef KIT_MAX_OPS
#define KIT_MAX_OPS 256
#endif
/* Quantisation as text for kit-info ("0" = unknown) and as numbers for m-results. */
#ifndef KIT_INPUT_SCALE_TEXT
#define KIT_INPUT_SCALE_TEXT "0"
#endif
#ifndef KIT_INPUT_ZERO_POINT
#define KIT_INPUT_ZERO_POINT 0
#endif
#ifndef KIT_OUTPUT_SCALE_TEXT
#define KIT_OUTPUT_SCALE_TEXT "0"
#endif
#ifndef KIT_OUTPUT_SCALE
#define KIT_OUTPUT_SCALE (1.0f / 256.0f) /* int8 softmax convention when unknown */
#endif
#ifndef KIT_OUTPUT_ZERO_POINT
#define KIT_OUTPUT_ZERO_POINT (-128)
#endif
#ifndef KIT_OUTPUT_ZERO_POINT_REPORTED
#define KIT_OUTPUT_ZERO_POINT_REPORTED 0
#endif

/* Longest command accepted, without its terminator (MLPerf hosts send at most 80). */
#define KIT_LINE_MAX 255
/* kit-load: at most 180 decoded bytes (240 base64 characters) per line. */
#define KIT_LOAD_CHUNK_MAX 180

#endif /* KIT_CONFIG_H */
