/* The microphone ring of the Arduino HALs (see kit_sensor_ring.h). */
#include "kit_sensor_ring.h"

static uint32_t load_acquire(const uint32_t *value)
{
    return __atomic_load_n(value, __ATOMIC_ACQUIRE);
}

static void store_release(uint32_t *where, uint32_t value)
{
    __atomic_store_n(where, value, __ATOMIC_RELEASE);
}

int kit_sensor_ring_init(kit_sensor_ring *ring, int16_t *storage, uint32_t capacity)
{
    if (capacity < 2u || (capacity & (capacity - 1u)) != 0u) {
        return -1;
    }
    ring->data = storage;
    ring->capacity = capacity;
    store_release(&ring->head, 0u);
    store_release(&ring->tail, 0u);
    store_release(&ring->dropped, 0u);
    return 0;
}

uint32_t kit_sensor_ring_write(kit_sensor_ring *ring, const int16_t *samples, uint32_t count)
{
    uint32_t head = ring->head;
    uint32_t room = ring->capacity - (head - load_acquire(&ring->tail));
    uint32_t keep = count < room ? count : room;
    uint32_t i;
    for (i = 0u; i < keep; i++) {
        ring->data[(head + i) & (ring->capacity - 1u)] = samples[i];
    }
    store_release(&ring->head, head + keep);
    if (keep < count) {
        store_release(&ring->dropped, ring->dropped + (count - keep));
    }
    return keep;
}

uint32_t kit_sensor_ring_read(kit_sensor_ring *ring, int16_t *out, uint32_t max_samples)
{
    uint32_t tail = ring->tail;
    uint32_t ready = load_acquire(&ring->head) - tail;
    uint32_t take = max_samples < ready ? max_samples : ready;
    uint32_t i;
    for (i = 0u; i < take; i++) {
        out[i] = ring->data[(tail + i) & (ring->capacity - 1u)];
    }
    store_release(&ring->tail, tail + take);
    return take;
}

uint32_t kit_sensor_ring_count(const kit_sensor_ring *ring)
{
    return load_acquire(&ring->head) - load_acquire(&ring->tail);
}

uint32_t kit_sensor_ring_dropped(const kit_sensor_ring *ring)
{
    return load_acquire(&ring->dropped);
}
