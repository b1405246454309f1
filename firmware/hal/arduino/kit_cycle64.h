/*
 * A 64-bit cycle count from a 32-bit hardware counter (DWT CYCCNT, the Xtensa CCOUNT).
 *
 * Why: at 480 MHz a 32-bit cycle counter wraps every 8.9 s, and one `infer` window can last
 * longer than that with only two readings (start, end), so counting wraps between readings
 * is not enough. Each reading is paired with the core's microsecond clock (32-bit micros(),
 * wraps after 71 minutes), which says roughly how many cycles passed; the exact low 32 bits
 * come from the counter and the number of whole wraps from the microseconds.
 */
#ifndef KIT_CYCLE64_H
#define KIT_CYCLE64_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint64_t total;        /* cycles counted up to the last reading */
    uint32_t last_cycles;  /* raw counter at the last reading */
    uint32_t last_micros;  /* microsecond clock at the last reading */
    uint32_t cycles_per_us;
    int started;
} kit_cycle64_t;

void kit_cycle64_init(kit_cycle64_t *state, uint32_t cycles_per_us);

/* Fold one (counter, microseconds) reading in; returns the 64-bit cycle count. Readings must
 * come at least once every 2^31 microseconds (35 minutes). */
uint64_t kit_cycle64_update(kit_cycle64_t *state, uint32_t cycles, uint32_t micros);

#ifdef __cplusplus
}
#endif

#endif /* KIT_CYCLE64_H */
