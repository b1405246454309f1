/*
 * A single-producer single-consumer ring of int16 samples for the Arduino HALs' microphones:
 * the PDM interrupt (mbed core) or the I2S reader task (ESP32 core) writes, kit_hal_sensor_read
 * reads. Storage is the caller's (static: no allocation). Samples that do not fit are dropped
 * and counted, never overwrite unread ones. Indices are published with release/acquire atomics
 * so the two sides may run on different cores (ESP32-S3).
 */
#ifndef KIT_SENSOR_RING_H
#define KIT_SENSOR_RING_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kit_sensor_ring {
    int16_t *data;
    uint32_t capacity; /* samples; a power of two */
    uint32_t head;     /* written by the producer only (free-running) */
    uint32_t tail;     /* written by the consumer only (free-running) */
    uint32_t dropped;  /* written by the producer only */
} kit_sensor_ring;

/* Returns 0, or -1 when capacity is not a power of two (>= 2). */
int kit_sensor_ring_init(kit_sensor_ring *ring, int16_t *storage, uint32_t capacity);

/* Producer: copy up to `count` samples in; the rest are counted as dropped. Returns samples kept. */
uint32_t kit_sensor_ring_write(kit_sensor_ring *ring, const int16_t *samples, uint32_t count);

/* Consumer: move up to `max_samples` out. Returns samples read. */
uint32_t kit_sensor_ring_read(kit_sensor_ring *ring, int16_t *out, uint32_t max_samples);

/* Samples waiting / lost since init (either side may ask). */
uint32_t kit_sensor_ring_count(const kit_sensor_ring *ring);
uint32_t kit_sensor_ring_dropped(const kit_sensor_ring *ring);

#ifdef __cplusplus
}
#endif

#endif /* KIT_SENSOR_RING_H */
