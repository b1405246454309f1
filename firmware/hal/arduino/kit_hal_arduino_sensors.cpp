/*
 * kit_hal.h's sensor and LED calls for the Arduino HALs, on top of each core's drivers
 * (kit_hal_arduino.h): the microphone ring (filled from the PDM interrupt or I2S task), the
 * IMU paced at the lab's rate with missed sample slots counted, the camera frame converted
 * from RGB565 to the lab's size and channels. A sensor the board file does not name is
 * refused with a clear error. Every wait is bounded; nothing is allocated.
 */
#include <Arduino.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kit_hal.h"
#include "kit_hal_arduino.h"
#include "kit_sensor_image.h"
#include "kit_sensor_ring.h"

#ifdef KIT_HAVE_BUILD_INFO
#include "kit_build_info.h"
#endif
#ifndef KIT_BOARD_NAME
#define KIT_BOARD_NAME "this board"
#endif

/* Samples the microphone ring holds (a power of two): 8192 = 0.5 s at 16 kHz, 16 KB. */
#ifndef KIT_MIC_RING_SAMPLES
#define KIT_MIC_RING_SAMPLES 8192u
#endif
#define KIT_MIC_DEFAULT_HZ 16000u
#define KIT_MIC_TIMEOUT_MS 500u
#define KIT_IMU_TIMEOUT_MS 200u
#define KIT_CAMERA_TIMEOUT_MS 3000u
#define KIT_IMU_MAX_CHANNELS 6u
#define KIT_US_PER_S 1000000u
#define KIT_US_PER_MS 1000u
#define KIT_COPY_SAMPLES 64u

static char error_text[96];

extern "C" void kit_arduino_sensor_fail(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(error_text, sizeof error_text, format, args);
    va_end(args);
}

extern "C" const char *kit_hal_sensor_error(void)
{
    return error_text;
}

extern "C" void kit_hal_led(int on)
{
#ifdef KIT_LED_PIN
    kit_hal_arduino_busy(on);
#else
    (void)on;
#endif
}

#if !defined(KIT_HAVE_MICROPHONE) || !defined(KIT_HAVE_IMU) || !defined(KIT_HAVE_CAMERA)
static int refuse(const char *what)
{
    kit_arduino_sensor_fail("%s has no %s kit's HAL reads (its board file names none with a hal_part)",
                            KIT_BOARD_NAME, what);
    return -1;
}
#endif

#if defined(KIT_HAVE_MICROPHONE) || defined(KIT_HAVE_IMU)
static int waited_too_long(unsigned long started_ms, uint32_t timeout_ms)
{
    return (unsigned long)(millis() - started_ms) >= timeout_ms;
}
#endif

/* ----------------------------------------------------------------------------- microphone */

#ifdef KIT_HAVE_MICROPHONE
static int16_t mic_storage[KIT_MIC_RING_SAMPLES];
static kit_sensor_ring mic_ring;
static int mic_running;

extern "C" void kit_arduino_mic_push(const int16_t *samples, uint32_t count)
{
    (void)kit_sensor_ring_write(&mic_ring, samples, count);
}

static int mic_start(const kit_sensor_format *format)
{
    uint32_t rate = format->rate_hz != 0u ? format->rate_hz : KIT_MIC_DEFAULT_HZ;
    if (kit_sensor_ring_init(&mic_ring, mic_storage, KIT_MIC_RING_SAMPLES) != 0) {
        kit_arduino_sensor_fail("KIT_MIC_RING_SAMPLES=%u is not a power of two", (unsigned)KIT_MIC_RING_SAMPLES);
        return -1;
    }
    if (kit_arduino_mic_begin(rate) != 0) {
        return -1;
    }
    mic_running = 1;
    return 0;
}

static int32_t mic_read(uint8_t *buffer, uint32_t max_bytes)
{
    uint32_t wanted = max_bytes / sizeof(int16_t);
    uint32_t done = 0u;
    unsigned long started = millis();
    if (!mic_running) {
        kit_arduino_sensor_fail("the microphone is not started");
        return -1;
    }
    if (wanted == 0u) {
        kit_arduino_sensor_fail("a %u-byte buffer holds no 16-bit sample", (unsigned)max_bytes);
        return -1;
    }
    while (kit_sensor_ring_count(&mic_ring) == 0u) {
        if (waited_too_long(started, KIT_MIC_TIMEOUT_MS)) {
            kit_arduino_sensor_fail("the microphone delivered no sample in %u ms", (unsigned)KIT_MIC_TIMEOUT_MS);
            return -1;
        }
        delay(1);
    }
    while (done < wanted) {
        int16_t chunk[KIT_COPY_SAMPLES];
        uint32_t room = wanted - done < KIT_COPY_SAMPLES ? wanted - done : KIT_COPY_SAMPLES;
        uint32_t got = kit_sensor_ring_read(&mic_ring, chunk, room);
        if (got == 0u) {
            break;
        }
        memcpy(buffer + done * sizeof(int16_t), chunk, got * sizeof(int16_t));
        done += got;
    }
    return (int32_t)(done * sizeof(int16_t));
}

static void mic_stop(void)
{
    if (mic_running) {
        kit_arduino_mic_end();
        mic_running = 0;
    }
}
#endif

/* ----------------------------------------------------------------------------- IMU */

#ifdef KIT_HAVE_IMU
static int imu_running;
static uint8_t imu_channels;
static uint32_t imu_period_us;
static uint32_t imu_next_due_us;
static uint32_t imu_dropped;

static int imu_start(const kit_sensor_format *format)
{
    if (format->channels != 3u && format->channels != KIT_IMU_MAX_CHANNELS) {
        kit_arduino_sensor_fail("an IMU gives 3 (accelerometer) or 6 (with gyroscope) channels, not %u",
                                (unsigned)format->channels);
        return -1;
    }
    if (format->rate_hz == 0u || format->rate_hz > KIT_US_PER_S) {
        kit_arduino_sensor_fail("IMU rate %lu Hz is out of range", (unsigned long)format->rate_hz);
        return -1;
    }
    if (kit_arduino_imu_begin(format->rate_hz) != 0) {
        return -1;
    }
    imu_channels = format->channels;
    imu_period_us = KIT_US_PER_S / format->rate_hz;
    imu_next_due_us = (uint32_t)micros();
    imu_dropped = 0u;
    imu_running = 1;
    return 0;
}

/* Wait for the next sample slot; slots that passed while nobody read are counted as dropped. */
static void imu_wait_for_slot(void)
{
    uint32_t now = (uint32_t)micros();
    int32_t early = (int32_t)(imu_next_due_us - now);
    if (early > 0) { /* at most one period: sleep the whole milliseconds (the RTOS runs others), spin the rest */
        while ((int32_t)(imu_next_due_us - (uint32_t)micros()) > (int32_t)KIT_US_PER_MS) {
            delay(1);
        }
        early = (int32_t)(imu_next_due_us - (uint32_t)micros());
        if (early > 0) {
            delayMicroseconds((unsigned int)early);
        }
        now = imu_next_due_us;
    }
    uint32_t missed = (now - imu_next_due_us) / imu_period_us;
    imu_dropped += missed;
    imu_next_due_us += (missed + 1u) * imu_period_us;
}

static int32_t imu_read(uint8_t *buffer, uint32_t max_bytes)
{
    float values[KIT_IMU_MAX_CHANNELS];
    uint32_t bytes;
    unsigned long started;
    if (!imu_running) {
        kit_arduino_sensor_fail("the IMU is not started");
        return -1;
    }
    bytes = imu_channels * (uint32_t)sizeof(float);
    if (max_bytes < bytes) {
        kit_arduino_sensor_fail("a %u-byte buffer holds no %u-channel IMU sample", (unsigned)max_bytes,
                                (unsigned)imu_channels);
        return -1;
    }
    imu_wait_for_slot();
    started = millis();
    for (;;) {
        int ready = kit_arduino_imu_sample(values);
        if (ready < 0) {
            return -1;
        }
        if (ready > 0) {
            break;
        }
        if (waited_too_long(started, KIT_IMU_TIMEOUT_MS)) {
            kit_arduino_sensor_fail("the IMU had no new sample in %u ms", (unsigned)KIT_IMU_TIMEOUT_MS);
            return -1;
        }
        delayMicroseconds(100u);
    }
    memcpy(buffer, values, bytes);
    return (int32_t)bytes;
}

static void imu_stop(void)
{
    if (imu_running) {
        kit_arduino_imu_end();
        imu_running = 0;
    }
}
#endif

/* ----------------------------------------------------------------------------- camera */

#ifdef KIT_HAVE_CAMERA
static int camera_running;
static kit_sensor_format camera_format;

static int camera_start(const kit_sensor_format *format)
{
    if (format->channels != 1u && format->channels != 3u) {
        kit_arduino_sensor_fail("a camera frame has 1 (grayscale) or 3 (RGB888) channels, not %u",
                                (unsigned)format->channels);
        return -1;
    }
    if (format->width == 0u || format->height == 0u) {
        kit_arduino_sensor_fail("camera frame %ux%u is empty", (unsigned)format->width, (unsigned)format->height);
        return -1;
    }
    if (kit_arduino_camera_begin(format->width, format->height) != 0) {
        return -1;
    }
    camera_format = *format;
    camera_running = 1;
    return 0;
}

static int32_t camera_read(uint8_t *buffer, uint32_t max_bytes)
{
    kit_arduino_frame frame;
    kit_rgb565_frame rgb565;
    int32_t written;
    uint32_t need = (uint32_t)camera_format.width * camera_format.height * camera_format.channels;
    if (!camera_running) {
        kit_arduino_sensor_fail("the camera is not started");
        return -1;
    }
    if (max_bytes < need) {
        kit_arduino_sensor_fail("a %u-byte buffer holds no %ux%ux%u frame", (unsigned)max_bytes,
                                (unsigned)camera_format.width, (unsigned)camera_format.height,
                                (unsigned)camera_format.channels);
        return -1;
    }
    if (kit_arduino_camera_grab(&frame, KIT_CAMERA_TIMEOUT_MS) != 0) {
        return -1;
    }
    rgb565.pixels = frame.pixels;
    rgb565.width = frame.width;
    rgb565.height = frame.height;
    rgb565.big_endian = frame.big_endian;
    written = kit_rgb565_convert(&rgb565, buffer, max_bytes, camera_format.width, camera_format.height,
                                 camera_format.channels);
    kit_arduino_camera_release();
    if (written < 0) {
        kit_arduino_sensor_fail("the camera's %ux%u frame is smaller than %ux%u", (unsigned)frame.width,
                                (unsigned)frame.height, (unsigned)camera_format.width,
                                (unsigned)camera_format.height);
    }
    return written;
}

static void camera_stop(void)
{
    if (camera_running) {
        kit_arduino_camera_end();
        camera_running = 0;
    }
}
#endif

/* ----------------------------------------------------------------------------- kit_hal.h */

extern "C" int kit_hal_sensor_start(int sensor, const kit_sensor_format *format, const char *source)
{
    (void)source; /* a real board reads its own sensor */
    error_text[0] = '\0';
    if (format == NULL) {
        kit_arduino_sensor_fail("no sensor format given");
        return -1;
    }
    kit_hal_sensor_stop(sensor);
    switch (sensor) {
    case KIT_SENSOR_MICROPHONE:
#ifdef KIT_HAVE_MICROPHONE
        return mic_start(format);
#else
        return refuse("microphone");
#endif
    case KIT_SENSOR_IMU:
#ifdef KIT_HAVE_IMU
        return imu_start(format);
#else
        return refuse("IMU");
#endif
    case KIT_SENSOR_CAMERA:
#ifdef KIT_HAVE_CAMERA
        return camera_start(format);
#else
        return refuse("camera");
#endif
    default:
        kit_arduino_sensor_fail("unknown sensor %d", sensor);
        return -1;
    }
}

extern "C" int32_t kit_hal_sensor_read(int sensor, uint8_t *buffer, uint32_t max_bytes)
{
    if (buffer == NULL) {
        kit_arduino_sensor_fail("no buffer to read into");
        return -1;
    }
    switch (sensor) {
#ifdef KIT_HAVE_MICROPHONE
    case KIT_SENSOR_MICROPHONE:
        return mic_read(buffer, max_bytes);
#endif
#ifdef KIT_HAVE_IMU
    case KIT_SENSOR_IMU:
        return imu_read(buffer, max_bytes);
#endif
#ifdef KIT_HAVE_CAMERA
    case KIT_SENSOR_CAMERA:
        return camera_read(buffer, max_bytes);
#endif
    default:
        (void)max_bytes;
        kit_arduino_sensor_fail("sensor %d is not started", sensor);
        return -1;
    }
}

extern "C" uint32_t kit_hal_sensor_dropped(int sensor)
{
    switch (sensor) {
#ifdef KIT_HAVE_MICROPHONE
    case KIT_SENSOR_MICROPHONE:
        return kit_sensor_ring_dropped(&mic_ring);
#endif
#ifdef KIT_HAVE_IMU
    case KIT_SENSOR_IMU:
        return imu_dropped;
#endif
    default:
        return 0u; /* a camera hands over the latest frame: none is queued, none lost */
    }
}

extern "C" void kit_hal_sensor_stop(int sensor)
{
    switch (sensor) {
#ifdef KIT_HAVE_MICROPHONE
    case KIT_SENSOR_MICROPHONE:
        mic_stop();
        break;
#endif
#ifdef KIT_HAVE_IMU
    case KIT_SENSOR_IMU:
        imu_stop();
        break;
#endif
#ifdef KIT_HAVE_CAMERA
    case KIT_SENSOR_CAMERA:
        camera_stop();
        break;
#endif
    default:
        break;
    }
}
