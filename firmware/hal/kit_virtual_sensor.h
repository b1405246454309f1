/*
 * VIRTUAL sensors for the emulated boards and the host build (header-only; no real board
 * includes it): kit_hal_sensor_* of kit_hal.h on top of a recording the host prepared
 * (raw little-endian int16 for a microphone, float32 [samples][channels] for an IMU,
 * uint8 [height][width][channels] frames one after another for a camera).
 *
 * Why paced: a twin must run exactly the loop a real board runs. Sample k (counted from 1)
 * of a sensor started at virtual time T exists from T + k / rate_hz on; a read blocks until
 * the samples it returns would have been captured, and samples the firmware did not read in
 * time fall out of the driver buffer (KIT_VIRTUAL_SENSOR_BUFFER_BYTES, a camera keeps only
 * the newest frame) and are counted as dropped, as on a board. Like a PDM/I2S DMA ring or an
 * IMU FIFO, samples arrive in blocks of about 16 ms (the largest power of two <= rate / 62,
 * at least one sample): a 16 kHz microphone hands over 256 samples every 16 ms, so a twin
 * wakes 62 times a second instead of 16,000.
 *
 * The includer defines, before including this header:
 *   kit_vs_open(path) -> handle >= 0 or -1, kit_vs_read(handle, buffer, n) -> bytes or -1,
 *   kit_vs_seek(handle, position) -> 0 or -1, kit_vs_length(handle) -> bytes or -1,
 *   kit_vs_close(handle), kit_vs_now_ns() -> virtual time in ns,
 *   kit_vs_wait_until_ns(deadline) -> returns at or after the deadline (WFI on a timer where
 *   the emulator can skip idle virtual time, -icount sleep=off).
 */
#ifndef KIT_VIRTUAL_SENSOR_H
#define KIT_VIRTUAL_SENSOR_H

#include <stdint.h>

#include "kit_hal.h"

#ifndef KIT_VIRTUAL_SENSOR_BUFFER_BYTES
#define KIT_VIRTUAL_SENSOR_BUFFER_BYTES 8192u /* a PDM/I2S DMA ring of 256 ms at 16 kHz */
#endif
#define KIT_VS_NS_PER_S 1000000000ull
#define KIT_VS_MAX_RATE_HZ 4000000u
#define KIT_VS_MAX_FRAME_BYTES 1048576u

typedef struct kit_vs_state {
    int running;
    int32_t handle;
    uint32_t sample_bytes;  /* a camera: one frame */
    uint32_t rate_hz;       /* a camera: frames per second */
    uint32_t capacity;      /* samples the driver buffer holds */
    uint32_t block;         /* samples delivered at once (the DMA block) */
    uint64_t start_ns;
    uint64_t consumed;      /* samples read or dropped since start */
    uint64_t available;     /* samples in the recording */
    uint64_t position;      /* file position, in samples */
    uint32_t dropped;
} kit_vs_state;

static kit_vs_state kit_vs_sensors[4];
static const char *kit_vs_error_text = "";

static int kit_vs_fail(const char *text)
{
    kit_vs_error_text = text;
    return -1;
}

/* Which sensors this build carries (the board file's `sensors`, passed by kit.build). */
static int kit_vs_present(int sensor)
{
#ifdef KIT_HAVE_MICROPHONE
    if (sensor == KIT_SENSOR_MICROPHONE) {
        return 1;
    }
#endif
#ifdef KIT_HAVE_IMU
    if (sensor == KIT_SENSOR_IMU) {
        return 1;
    }
#endif
#ifdef KIT_HAVE_CAMERA
    if (sensor == KIT_SENSOR_CAMERA) {
        return 1;
    }
#endif
    (void)sensor;
    return 0;
}

/* Bytes per sample (a frame for a camera), 0 when the format makes no sense. */
static uint32_t kit_vs_sample_bytes(int sensor, const kit_sensor_format *format)
{
    if (format->rate_hz == 0u || format->rate_hz > KIT_VS_MAX_RATE_HZ) {
        return 0u;
    }
    if (sensor == KIT_SENSOR_MICROPHONE) {
        return format->channels == 1u ? 2u : 0u;
    }
    if (sensor == KIT_SENSOR_IMU) {
        return format->channels >= 1u && format->channels <= 9u ? 4u * format->channels : 0u;
    }
    if (sensor == KIT_SENSOR_CAMERA) {
        uint32_t bytes = (uint32_t)format->width * format->height * format->channels;
        return (format->channels == 1u || format->channels == 3u) && bytes <= KIT_VS_MAX_FRAME_BYTES ? bytes : 0u;
    }
    return 0u;
}

/* Samples captured from start to `now` (floor(elapsed * rate)). */
static uint64_t kit_vs_produced(const kit_vs_state *state, uint64_t now)
{
    uint64_t elapsed = now > state->start_ns ? now - state->start_ns : 0u;
    uint64_t seconds = elapsed / KIT_VS_NS_PER_S;
    uint64_t rest = elapsed % KIT_VS_NS_PER_S;
    uint64_t samples = seconds * state->rate_hz + rest * state->rate_hz / KIT_VS_NS_PER_S;
    if (samples >= state->available) {
        return state->available; /* the recording's last block may be partial */
    }
    return samples / state->block * state->block;
}

/* The DMA block: the largest power of two <= rate / 62 (about 16 ms), at least 1. */
static uint32_t kit_vs_block(uint32_t rate_hz, uint32_t capacity)
{
    uint32_t block = 1u;
    while (block * 2u <= rate_hz / 62u && block * 2u <= capacity) {
        block *= 2u;
    }
    return block;
}

/* When sample number `count` (from 1) has been captured: start + ceil(count / rate). */
static uint64_t kit_vs_ready_ns(const kit_vs_state *state, uint64_t count)
{
    uint64_t seconds = count / state->rate_hz;
    uint64_t rest = count % state->rate_hz;
    return state->start_ns + seconds * KIT_VS_NS_PER_S + (rest * KIT_VS_NS_PER_S + state->rate_hz - 1u) / state->rate_hz;
}

int kit_hal_sensor_start(int sensor, const kit_sensor_format *format, const char *source)
{
    kit_vs_state *state;
    int32_t length;
    uint32_t sample_bytes;
    if (sensor < KIT_SENSOR_MICROPHONE || sensor > KIT_SENSOR_CAMERA || !kit_vs_present(sensor)) {
        return kit_vs_fail("no such sensor on this board");
    }
    sample_bytes = kit_vs_sample_bytes(sensor, format);
    if (sample_bytes == 0u) {
        return kit_vs_fail("unsupported sensor format");
    }
    if (source == 0 || source[0] == '\0') {
        return kit_vs_fail("a virtual sensor needs a recording (source)");
    }
    state = &kit_vs_sensors[sensor];
    if (state->running) {
        kit_hal_sensor_stop(sensor);
    }
    state->handle = kit_vs_open(source);
    if (state->handle < 0) {
        return kit_vs_fail("cannot open the recording");
    }
    length = kit_vs_length(state->handle);
    if (length < 0) {
        kit_vs_close(state->handle);
        return kit_vs_fail("cannot size the recording");
    }
    state->sample_bytes = sample_bytes;
    state->rate_hz = format->rate_hz;
    state->capacity = sensor == KIT_SENSOR_CAMERA ? 1u : KIT_VIRTUAL_SENSOR_BUFFER_BYTES / sample_bytes;
    if (state->capacity == 0u) {
        state->capacity = 1u;
    }
    state->block = sensor == KIT_SENSOR_CAMERA ? 1u : kit_vs_block(format->rate_hz, state->capacity);
    state->available = (uint32_t)length / sample_bytes;
    state->consumed = 0u;
    state->position = 0u;
    state->dropped = 0u;
    state->start_ns = kit_vs_now_ns();
    state->running = 1;
    kit_vs_error_text = "";
    return 0;
}

/* Drop what overflowed the driver buffer; returns the samples waiting (capped at the end). */
static uint64_t kit_vs_pending(kit_vs_state *state, uint64_t now)
{
    uint64_t produced = kit_vs_produced(state, now);
    uint64_t pending;
    if (produced > state->available) {
        produced = state->available;
    }
    pending = produced - state->consumed;
    if (pending > state->capacity) {
        uint64_t lost = pending - state->capacity;
        state->dropped += (uint32_t)lost;
        state->consumed += lost;
        pending = state->capacity;
    }
    return pending;
}

int32_t kit_hal_sensor_read(int sensor, uint8_t *buffer, uint32_t max_bytes)
{
    kit_vs_state *state;
    uint64_t pending;
    uint64_t count;
    int32_t got;
    if (sensor < KIT_SENSOR_MICROPHONE || sensor > KIT_SENSOR_CAMERA || !kit_vs_sensors[sensor].running) {
        return kit_vs_fail("sensor not started");
    }
    state = &kit_vs_sensors[sensor];
    if (max_bytes < state->sample_bytes) {
        return kit_vs_fail("read buffer smaller than one sample");
    }
    if (state->consumed >= state->available) {
        return 0; /* the recording has ended */
    }
    pending = kit_vs_pending(state, kit_vs_now_ns());
    while (pending == 0u) {
        uint64_t next_block = (state->consumed / state->block + 1u) * state->block;
        if (next_block > state->available) {
            next_block = state->available;
        }
        kit_vs_wait_until_ns(kit_vs_ready_ns(state, next_block));
        pending = kit_vs_pending(state, kit_vs_now_ns());
    }
    if (sensor == KIT_SENSOR_CAMERA && pending > 1u) { /* a camera delivers its newest frame */
        state->dropped += (uint32_t)(pending - 1u);
        state->consumed += pending - 1u;
        pending = 1u;
    }
    count = max_bytes / state->sample_bytes;
    if (count > pending) {
        count = pending;
    }
    if (state->position != state->consumed) {
        if (kit_vs_seek(state->handle, (uint32_t)(state->consumed * state->sample_bytes)) != 0) {
            return kit_vs_fail("cannot seek in the recording");
        }
        state->position = state->consumed;
    }
    got = kit_vs_read(state->handle, buffer, (uint32_t)(count * state->sample_bytes));
    if (got < 0) {
        return kit_vs_fail("cannot read the recording");
    }
    count = (uint32_t)got / state->sample_bytes;
    state->consumed += count;
    state->position += count;
    if (count == 0u) {
        state->available = state->consumed; /* shorter than it said: ended */
    }
    return (int32_t)(count * state->sample_bytes);
}

uint32_t kit_hal_sensor_dropped(int sensor)
{
    if (sensor < KIT_SENSOR_MICROPHONE || sensor > KIT_SENSOR_CAMERA) {
        return 0u;
    }
    return kit_vs_sensors[sensor].dropped;
}

void kit_hal_sensor_stop(int sensor)
{
    if (sensor < KIT_SENSOR_MICROPHONE || sensor > KIT_SENSOR_CAMERA || !kit_vs_sensors[sensor].running) {
        return;
    }
    kit_vs_close(kit_vs_sensors[sensor].handle);
    kit_vs_sensors[sensor].running = 0;
}

const char *kit_hal_sensor_error(void)
{
    return kit_vs_error_text;
}

/* The twins' user LED: no pin, the changes are counted (a debugger can read them). */
volatile uint32_t kit_virtual_led_changes;
static int kit_vs_led_state;

void kit_hal_led(int on)
{
    if ((on != 0) != kit_vs_led_state) {
        kit_vs_led_state = on != 0;
        kit_virtual_led_changes++;
    }
}

#endif /* KIT_VIRTUAL_SENSOR_H */
