/*
 * Sensor drivers of the Arduino ESP32 core boards (kit_hal_arduino.h; kit.build names the
 * parts and pins from the board file and a kit file):
 *   KIT_MICROPHONE_ESP32_I2S_PDM  the core's ESP_I2S (I2SClass) in PDM RX mode, 16-bit mono, on
 *                                 KIT_MICROPHONE_PIN_CLK / _DATA (XIAO ESP32S3 Sense: 42 / 41);
 *                                 a reader task (static stack) moves the DMA's samples into kit's ring
 *   KIT_CAMERA_ESP32_CAMERA       esp32-camera (esp_camera.h) in RGB565 on the KIT_CAMERA_PIN_* pins,
 *                                 frame buffers in PSRAM (allocated by the camera driver)
 *   KIT_IMU_LSM6DS3               Seeed Arduino LSM6DS3 on I2C at KIT_IMU_I2C_ADDR (XIAOML kit)
 */
#include <Arduino.h>
#include <string.h>

#include "kit_hal_arduino.h"

/* ----------------------------------------------------------------------------- microphone */

#if defined(KIT_HAVE_MICROPHONE)
#if !defined(KIT_MICROPHONE_ESP32_I2S_PDM) || !defined(KIT_MICROPHONE_PIN_CLK) || !defined(KIT_MICROPHONE_PIN_DATA)
#error "the arduino-esp32 HAL reads microphones through ESP_I2S in PDM mode: hal_part = \"ESP32_I2S_PDM\" with pins clk, data"
#endif
#include <ESP_I2S.h>
#include <freertos/FreeRTOS.h>
#include <freertos/task.h>

#define KIT_I2S_CHUNK_SAMPLES 256u
#define KIT_I2S_READ_TIMEOUT_MS 100u /* one readBytes call; the task re-checks its stop flag after it */
#define KIT_I2S_STOP_TIMEOUT_MS 500u
#define KIT_I2S_TASK_STACK 3072u
#define KIT_I2S_TASK_PRIORITY 5u

static I2SClass mic_i2s;
static StaticTask_t reader_task_block;
static StackType_t reader_stack[KIT_I2S_TASK_STACK];
static int reader_should_run;
static int reader_running;
static int16_t reader_chunk[KIT_I2S_CHUNK_SAMPLES];

static void mic_reader(void *unused)
{
    (void)unused;
    while (__atomic_load_n(&reader_should_run, __ATOMIC_ACQUIRE)) {
        size_t got = mic_i2s.readBytes((char *)reader_chunk, sizeof reader_chunk);
        if (got >= sizeof(int16_t)) {
            kit_arduino_mic_push(reader_chunk, (uint32_t)(got / sizeof(int16_t)));
        }
    }
    __atomic_store_n(&reader_running, 0, __ATOMIC_RELEASE);
    vTaskDelete(NULL);
}

extern "C" int kit_arduino_mic_begin(uint32_t rate_hz)
{
    mic_i2s.setPinsPdmRx(KIT_MICROPHONE_PIN_CLK, KIT_MICROPHONE_PIN_DATA);
    if (!mic_i2s.begin(I2S_MODE_PDM_RX, rate_hz, I2S_DATA_BIT_WIDTH_16BIT, I2S_SLOT_MODE_MONO)) {
        kit_arduino_sensor_fail("the I2S PDM microphone (clock GPIO%d, data GPIO%d) did not start at %lu Hz: error %d",
                                KIT_MICROPHONE_PIN_CLK, KIT_MICROPHONE_PIN_DATA, (unsigned long)rate_hz,
                                mic_i2s.lastError());
        return -1;
    }
    mic_i2s.setTimeout(KIT_I2S_READ_TIMEOUT_MS);
    __atomic_store_n(&reader_should_run, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&reader_running, 1, __ATOMIC_RELEASE);
    if (xTaskCreateStatic(mic_reader, "kit-mic", sizeof reader_stack / sizeof reader_stack[0], NULL,
                          KIT_I2S_TASK_PRIORITY, reader_stack, &reader_task_block) == NULL) {
        __atomic_store_n(&reader_running, 0, __ATOMIC_RELEASE);
        mic_i2s.end();
        kit_arduino_sensor_fail("could not start the microphone's reader task");
        return -1;
    }
    return 0;
}

extern "C" void kit_arduino_mic_end(void)
{
    unsigned long started = millis();
    __atomic_store_n(&reader_should_run, 0, __ATOMIC_RELEASE);
    while (__atomic_load_n(&reader_running, __ATOMIC_ACQUIRE) &&
           (unsigned long)(millis() - started) < KIT_I2S_STOP_TIMEOUT_MS) {
        delay(1);
    }
    mic_i2s.end();
}
#endif

/* ----------------------------------------------------------------------------- IMU */

#if defined(KIT_HAVE_IMU)
#if !defined(KIT_IMU_LSM6DS3) || !defined(KIT_IMU_I2C_ADDR)
#error "the arduino-esp32 HAL drives the LSM6DS3(TR-C) IMU on I2C: hal_part = \"LSM6DS3\" with i2c_address"
#endif
#include <LSM6DS3.h>

static LSM6DS3 lsm6ds3(I2C_MODE, KIT_IMU_I2C_ADDR);

extern "C" int kit_arduino_imu_begin(uint32_t rate_hz)
{
    if (lsm6ds3.begin() != IMU_SUCCESS) {
        kit_arduino_sensor_fail("LSM6DS3TR-C did not answer at 0x%02X", (unsigned)KIT_IMU_I2C_ADDR);
        return -1;
    }
    if (lsm6ds3.settings.accelSampleRate < rate_hz) {
        kit_arduino_sensor_fail("LSM6DS3TR-C samples at %u Hz, slower than the %lu Hz asked for",
                                (unsigned)lsm6ds3.settings.accelSampleRate, (unsigned long)rate_hz);
        return -1;
    }
    return 0;
}

/* The library reads the output registers directly (the latest sample: the part runs faster
 * than any lab asks), in g and dps. */
extern "C" int kit_arduino_imu_sample(float values[6])
{
    values[0] = lsm6ds3.readFloatAccelX();
    values[1] = lsm6ds3.readFloatAccelY();
    values[2] = lsm6ds3.readFloatAccelZ();
    values[3] = lsm6ds3.readFloatGyroX();
    values[4] = lsm6ds3.readFloatGyroY();
    values[5] = lsm6ds3.readFloatGyroZ();
    return 1;
}

extern "C" void kit_arduino_imu_end(void)
{
    /* the library has no end(): the part keeps sampling, harmlessly */
}
#endif

/* ----------------------------------------------------------------------------- camera */

#if defined(KIT_HAVE_CAMERA)
#if !defined(KIT_CAMERA_ESP32_CAMERA) || !defined(KIT_CAMERA_PIN_XCLK)
#error "the arduino-esp32 HAL drives cameras through esp32-camera: hal_part = \"ESP32_CAMERA\" with its pins"
#endif
#include <esp_camera.h>

#define KIT_CAMERA_XCLK_HZ 20000000
#define KIT_CAMERA_FRAME_BUFFERS 2

typedef struct {
    framesize_t id;
    uint16_t width;
    uint16_t height;
} camera_size;

/* esp32-camera's sizes, smallest first; kit captures the smallest that holds the lab's frame. */
static const camera_size sizes[] = {
    {FRAMESIZE_96X96, 96u, 96u},
    {FRAMESIZE_QQVGA, 160u, 120u},
    {FRAMESIZE_240X240, 240u, 240u},
    {FRAMESIZE_QVGA, 320u, 240u},
    {FRAMESIZE_VGA, 640u, 480u},
};

static camera_fb_t *held_frame;

static void set_pins(camera_config_t *config)
{
    config->pin_pwdn = KIT_CAMERA_PIN_PWDN;
    config->pin_reset = KIT_CAMERA_PIN_RESET;
    config->pin_xclk = KIT_CAMERA_PIN_XCLK;
    config->pin_sccb_sda = KIT_CAMERA_PIN_SCCB_SDA;
    config->pin_sccb_scl = KIT_CAMERA_PIN_SCCB_SCL;
    config->pin_d7 = KIT_CAMERA_PIN_D7;
    config->pin_d6 = KIT_CAMERA_PIN_D6;
    config->pin_d5 = KIT_CAMERA_PIN_D5;
    config->pin_d4 = KIT_CAMERA_PIN_D4;
    config->pin_d3 = KIT_CAMERA_PIN_D3;
    config->pin_d2 = KIT_CAMERA_PIN_D2;
    config->pin_d1 = KIT_CAMERA_PIN_D1;
    config->pin_d0 = KIT_CAMERA_PIN_D0;
    config->pin_vsync = KIT_CAMERA_PIN_VSYNC;
    config->pin_href = KIT_CAMERA_PIN_HREF;
    config->pin_pclk = KIT_CAMERA_PIN_PCLK;
}

extern "C" int kit_arduino_camera_begin(uint16_t width, uint16_t height)
{
    const camera_size *chosen = NULL;
    camera_config_t config;
    esp_err_t status;
    size_t i;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (sizes[i].width >= width && sizes[i].height >= height) {
            chosen = &sizes[i];
            break;
        }
    }
    if (chosen == NULL) {
        kit_arduino_sensor_fail("the camera captures at most 640x480 for kit, not %ux%u", (unsigned)width,
                                (unsigned)height);
        return -1;
    }
    memset(&config, 0, sizeof config);
    set_pins(&config);
    config.xclk_freq_hz = KIT_CAMERA_XCLK_HZ;
    config.ledc_timer = LEDC_TIMER_0;
    config.ledc_channel = LEDC_CHANNEL_0;
    config.pixel_format = PIXFORMAT_RGB565;
    config.frame_size = chosen->id;
    config.fb_count = KIT_CAMERA_FRAME_BUFFERS;
    config.fb_location = CAMERA_FB_IN_PSRAM;
    config.grab_mode = CAMERA_GRAB_LATEST;
    status = esp_camera_init(&config);
    if (status != ESP_OK) {
        kit_arduino_sensor_fail("the camera (OV2640/OV3660, SCCB GPIO%d/%d) did not start: esp_camera_init error 0x%x",
                                KIT_CAMERA_PIN_SCCB_SDA, KIT_CAMERA_PIN_SCCB_SCL, (unsigned)status);
        return -1;
    }
    return 0;
}

/* esp_camera_fb_get waits for a frame with the driver's own bound (a few seconds), so
 * timeout_ms is not passed on. */
extern "C" int kit_arduino_camera_grab(kit_arduino_frame *frame, uint32_t timeout_ms)
{
    (void)timeout_ms;
    held_frame = esp_camera_fb_get();
    if (held_frame == NULL) {
        kit_arduino_sensor_fail("the camera gave no frame (esp_camera_fb_get)");
        return -1;
    }
    if (held_frame->format != PIXFORMAT_RGB565 || held_frame->len < held_frame->width * held_frame->height * 2u) {
        kit_arduino_sensor_fail("the camera sent a frame that is not %ux%u RGB565", (unsigned)held_frame->width,
                                (unsigned)held_frame->height);
        kit_arduino_camera_release();
        return -1;
    }
    frame->pixels = held_frame->buf;
    frame->width = (uint16_t)held_frame->width;
    frame->height = (uint16_t)held_frame->height;
    frame->big_endian = 1u; /* esp32-camera's RGB565: high byte first */
    return 0;
}

extern "C" void kit_arduino_camera_release(void)
{
    if (held_frame != NULL) {
        esp_camera_fb_return(held_frame);
        held_frame = NULL;
    }
}

extern "C" void kit_arduino_camera_end(void)
{
    kit_arduino_camera_release();
    (void)esp_camera_deinit();
}
#endif
