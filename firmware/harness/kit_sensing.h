/*
 * The lab loop's commands (docs/PROTOCOL.md section 3): kit-capture streams a sensor's
 * samples to the host as CRC-checked binary frames; kit-run (firmware built with a lab,
 * KIT_HAVE_LAB) classifies the live sensor: window -> kit_features_int8 -> model -> record.
 * Why a unit of its own: the MLPerf command set in kit_harness.c stays untouched, and the
 * sensing code compiles the same for every board (only the HAL's sensor calls differ).
 */
#ifndef KIT_SENSING_H
#define KIT_SENSING_H

#include <stdint.h>

/* What the sensing commands borrow from the harness. */
typedef struct kit_sensing_context {
    uint8_t *arena;                 /* the model's arena (kit-run) */
    uint32_t arena_capacity;
    const char *model_problem;      /* NULL when the model can run */
    int (*cancel_requested)(void);  /* has kit-cancel arrived? (polls the console) */
} kit_sensing_context;

/* Binary frame layout (little-endian), see docs/PROTOCOL.md "Binary frames". */
#define KIT_FRAME_MAGIC0 0xA5u
#define KIT_FRAME_MAGIC1 0x4Bu
#define KIT_FRAME_HEADER_BYTES 18u
#define KIT_FRAME_PAYLOAD_MAX 512u

/* Runs `tokens[0]` when it is a sensing command (kit-capture, kit-run) and returns 1; 0 when
 * the word is not one of them. */
int kit_sensing_command(char **tokens, int count, const kit_sensing_context *context);

#endif /* KIT_SENSING_H */
