/* 64-bit cycle counts from a 32-bit counter plus the microsecond clock (see kit_cycle64.h). */
#include "kit_cycle64.h"

#define KIT_WRAP_HALF ((uint64_t)1u << 31)
/* A microsecond delta this large is a reading taken just before the previous one. */
#define KIT_MICROS_BACKWARDS 0x80000000u

void kit_cycle64_init(kit_cycle64_t *state, uint32_t cycles_per_us)
{
    state->total = 0;
    state->last_cycles = 0;
    state->last_micros = 0;
    state->cycles_per_us = cycles_per_us ? cycles_per_us : 1u;
    state->started = 0;
}

uint64_t kit_cycle64_update(kit_cycle64_t *state, uint32_t cycles, uint32_t micros)
{
    uint32_t low_delta;
    uint32_t micros_delta;
    uint64_t expected;
    uint64_t wraps = 0;
    if (!state->started) {
        state->started = 1;
        state->total = cycles;
    } else {
        low_delta = cycles - state->last_cycles; /* modulo 2^32 */
        micros_delta = micros - state->last_micros;
        if (micros_delta > KIT_MICROS_BACKWARDS) {
            micros_delta = 0; /* read a hair before the previous reading: no time passed */
        }
        expected = (uint64_t)micros_delta * state->cycles_per_us;
        /* whole wraps that make low_delta closest to what the microseconds say */
        if (expected > (uint64_t)low_delta) {
            wraps = (expected - low_delta + KIT_WRAP_HALF) >> 32;
        }
        state->total += (uint64_t)low_delta + (wraps << 32);
    }
    state->last_cycles = cycles;
    state->last_micros = micros;
    return state->total;
}
