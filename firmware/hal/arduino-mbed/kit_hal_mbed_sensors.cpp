/*
 * Sensor drivers of the Arduino mbed core boards, from the core's and Arduino's own libraries
 * (kit_hal_arduino.h; kit.build names the parts from the board file):
 *   KIT_MICROPHONE_PDM   the core's PDM library (Nicla Vision MP34DT06, Nano 33 BLE Sense
 *                        MP34DT05/06): its receive interrupt copies into kit's ring
 *   KIT_IMU_LSM6DSOX     Arduino_LSM6DSOX (Nicla Vision, on SPI1)
 *   KIT_IMU_LSM9DS1      Arduino_LSM9DS1 (Nano 33 BLE Sense Rev1)
 *   KIT_IMU_BMI270       Arduino_BMI270_BMM150 (Nano 33 BLE Sense Rev2)
 *   KIT_CAMERA_GC2145    the core's Camera + GC2145 libraries (Nicla Vision), RGB565 frames
 *                        into a static buffer
 * The three IMU libraries share one API (IMU.begin/readAcceleration/readGyroscope/...).
 */
#include <Arduino.h>

#include "kit_hal_arduino.h"

#define KIT_HZ_ROUNDING 0.5f

/* ----------------------------------------------------------------------------- microphone */

#if defined(KIT_HAVE_MICROPHONE)
#if !defined(KIT_MICROPHONE_PDM)
#error "the arduino-mbed HAL reads microphones through the core's PDM library: hal_part = \"PDM\""
#endif
#include <PDM.h>

#define KIT_PDM_CHUNK_SAMPLES 256u
#define KIT_PDM_CHANNELS 1

static int16_t pdm_chunk[KIT_PDM_CHUNK_SAMPLES];

/* The PDM library's receive callback (interrupt context): move what it has into the ring. */
static void on_pdm_samples(void)
{
    int pending = PDM.available();
    while (pending > 0) {
        int want = pending < (int)sizeof pdm_chunk ? pending : (int)sizeof pdm_chunk;
        int got = PDM.read(pdm_chunk, (size_t)want);
        if (got <= 0) {
            break;
        }
        kit_arduino_mic_push(pdm_chunk, (uint32_t)got / sizeof(int16_t));
        pending -= got;
    }
}

extern "C" int kit_arduino_mic_begin(uint32_t rate_hz)
{
    PDM.onReceive(on_pdm_samples);
    if (!PDM.begin(KIT_PDM_CHANNELS, (int)rate_hz)) {
        kit_arduino_sensor_fail("the PDM microphone did not start at %lu Hz mono (PDM.begin)", (unsigned long)rate_hz);
        return -1;
    }
    return 0;
}

extern "C" void kit_arduino_mic_end(void)
{
    PDM.end();
}
#endif

/* ----------------------------------------------------------------------------- IMU */

#if defined(KIT_HAVE_IMU)
#if defined(KIT_IMU_LSM6DSOX)
#include <Arduino_LSM6DSOX.h>
#define KIT_IMU_NAME "LSM6DSOX"
#elif defined(KIT_IMU_LSM9DS1)
#include <Arduino_LSM9DS1.h>
#define KIT_IMU_NAME "LSM9DS1"
#elif defined(KIT_IMU_BMI270)
#include <Arduino_BMI270_BMM150.h>
#define KIT_IMU_NAME "BMI270"
#else
#error "the arduino-mbed HAL drives the IMUs LSM6DSOX, LSM9DS1 and BMI270: set the board file's hal_part"
#endif

static void imu_no_answer(void)
{
#ifdef KIT_IMU_I2C_ADDR
    kit_arduino_sensor_fail(KIT_IMU_NAME " did not answer at 0x%02X", (unsigned)KIT_IMU_I2C_ADDR);
#else
    kit_arduino_sensor_fail(KIT_IMU_NAME " did not answer on its SPI bus");
#endif
}

extern "C" int kit_arduino_imu_begin(uint32_t rate_hz)
{
    float sensor_hz;
    if (IMU.begin() != 1) {
        imu_no_answer();
        return -1;
    }
    sensor_hz = IMU.accelerationSampleRate();
    if (sensor_hz + KIT_HZ_ROUNDING < (float)rate_hz) {
        kit_arduino_sensor_fail(KIT_IMU_NAME " samples at %d Hz, slower than the %lu Hz asked for", (int)sensor_hz,
                                (unsigned long)rate_hz);
        IMU.end();
        return -1;
    }
    return 0;
}

extern "C" int kit_arduino_imu_sample(float values[6])
{
    if (!IMU.accelerationAvailable()) {
        return 0;
    }
    if (IMU.readAcceleration(values[0], values[1], values[2]) != 1 ||
        IMU.readGyroscope(values[3], values[4], values[5]) != 1) {
        kit_arduino_sensor_fail(KIT_IMU_NAME " read failed");
        return -1;
    }
    return 1;
}

extern "C" void kit_arduino_imu_end(void)
{
    IMU.end();
}
#endif

/* ----------------------------------------------------------------------------- camera */

#if defined(KIT_HAVE_CAMERA)
#if !defined(KIT_CAMERA_GC2145)
#error "the arduino-mbed HAL drives the GC2145 camera only: hal_part = \"GC2145\""
#endif
#include <camera.h>
#include <gc2145.h>

/* The largest RGB565 frame kit captures (QVGA); the lab's frame is cut from it. */
#ifndef KIT_CAMERA_BUFFER_BYTES
#define KIT_CAMERA_BUFFER_BYTES (320u * 240u * 2u)
#endif
#define KIT_CAMERA_FPS 30
#define KIT_FRAME_ALIGN 32 /* the core's DCMI DMA wants the frame on a cache line */

typedef struct {
    int32_t id;
    uint16_t width;
    uint16_t height;
} camera_resolution;

static const camera_resolution resolutions[] = {
    {CAMERA_R160x120, 160u, 120u},
    {CAMERA_R320x240, 320u, 240u},
};

static GC2145 gc2145_sensor;
static Camera camera(gc2145_sensor);
static FrameBuffer frame_buffer;
static uint8_t frame_pixels[KIT_CAMERA_BUFFER_BYTES] __attribute__((aligned(KIT_FRAME_ALIGN)));
static uint16_t frame_width;
static uint16_t frame_height;

extern "C" int kit_arduino_camera_begin(uint16_t width, uint16_t height)
{
    const camera_resolution *chosen = NULL;
    size_t i;
    for (i = 0; i < sizeof resolutions / sizeof resolutions[0]; i++) {
        const camera_resolution *r = &resolutions[i];
        if (r->width >= width && r->height >= height && (uint32_t)r->width * r->height * 2u <= KIT_CAMERA_BUFFER_BYTES) {
            chosen = r;
            break;
        }
    }
    if (chosen == NULL) {
        kit_arduino_sensor_fail("GC2145: no capture size up to 320x240 in kit's %u-byte buffer holds %ux%u",
                                (unsigned)KIT_CAMERA_BUFFER_BYTES, (unsigned)width, (unsigned)height);
        return -1;
    }
    if (!camera.begin(chosen->id, CAMERA_RGB565, KIT_CAMERA_FPS)) {
#ifdef KIT_CAMERA_I2C_ADDR
        kit_arduino_sensor_fail("GC2145 camera did not answer at 0x%02X (Camera.begin)", (unsigned)KIT_CAMERA_I2C_ADDR);
#else
        kit_arduino_sensor_fail("GC2145 camera did not start (Camera.begin)");
#endif
        return -1;
    }
    frame_buffer.setBuffer(frame_pixels);
    frame_width = chosen->width;
    frame_height = chosen->height;
    return 0;
}

extern "C" int kit_arduino_camera_grab(kit_arduino_frame *frame, uint32_t timeout_ms)
{
    if (camera.grabFrame(frame_buffer, timeout_ms) != 0) {
        kit_arduino_sensor_fail("GC2145 gave no frame in %lu ms (Camera.grabFrame)", (unsigned long)timeout_ms);
        return -1;
    }
    frame->pixels = frame_buffer.getBuffer();
    frame->width = frame_width;
    frame->height = frame_height;
    frame->big_endian = 1u; /* DCMI stores the camera's bytes as they come: high byte first */
    return 0;
}

extern "C" void kit_arduino_camera_release(void)
{
    /* the frame stays in kit's static buffer until the next grab */
}

extern "C" void kit_arduino_camera_end(void)
{
    (void)camera.setStandby(true);
}
#endif
