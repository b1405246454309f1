/*
 * What the shared Arduino HAL part (serial, LED, sketch) needs from a core-specific part
 * (arduino-mbed: DWT cycle counter; arduino-esp32: CCOUNT). Internal to the Arduino HALs.
 */
#ifndef KIT_HAL_ARDUINO_H
#define KIT_HAL_ARDUINO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Start the cycle counter (called by kit_hal_init once the serial port is open). */
void kit_hal_arduino_timer_init(void);

/* Status LED: on while the board works on a command (inference dominates). */
void kit_hal_arduino_busy(int busy);

/* Drive the [power] timestamp pin to its idle level, high (a no-op without one). */
void kit_hal_arduino_timestamp_init(void);

/* ---- Sensor drivers: each core's part (arduino-mbed, arduino-esp32) implements those of
 * the sensors its board file names (kit.build passes -DKIT_HAVE_<KIND> and the part);
 * kit_hal_arduino_sensors.cpp implements kit_hal.h's sensor calls on top of them. Every
 * driver call returns within its timeout; a failing one calls kit_arduino_sensor_fail. */

/* Record the text kit_hal_sensor_error() returns (printf-style, truncated to fit). */
void kit_arduino_sensor_fail(const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

#ifdef KIT_HAVE_MICROPHONE
/* Start the PDM microphone at rate_hz, mono; its interrupt or reader task hands the samples
 * to kit_arduino_mic_push. Returns 0 or -1. */
int kit_arduino_mic_begin(uint32_t rate_hz);
void kit_arduino_mic_end(void);
/* Producer side of the microphone ring (interrupt / task context): drops and counts what does not fit. */
void kit_arduino_mic_push(const int16_t *samples, uint32_t count);
#endif

#ifdef KIT_HAVE_IMU
/* Start the IMU; -1 when it does not answer or runs slower than rate_hz. */
int kit_arduino_imu_begin(uint32_t rate_hz);
/* The latest sample: ax ay az (g), gx gy gz (dps). 1 read, 0 not ready yet, -1 error. */
int kit_arduino_imu_sample(float values[6]);
void kit_arduino_imu_end(void);
#endif

#ifdef KIT_HAVE_CAMERA
/* An RGB565 frame in the driver's buffer, valid until kit_arduino_camera_release. */
typedef struct kit_arduino_frame {
    const uint8_t *pixels;
    uint16_t width;
    uint16_t height;
    uint8_t big_endian;
} kit_arduino_frame;
/* Start the camera at the smallest resolution it has that holds width x height. */
int kit_arduino_camera_begin(uint16_t width, uint16_t height);
/* Wait (at most timeout_ms) for the next frame. 0 or -1. */
int kit_arduino_camera_grab(kit_arduino_frame *frame, uint32_t timeout_ms);
void kit_arduino_camera_release(void);
void kit_arduino_camera_end(void);
#endif

#ifdef __cplusplus
}
#endif

/* Baud rate of the console. USB CDC ignores it; boards with a USB-UART bridge need it. */
#ifndef KIT_SERIAL_BAUD
#define KIT_SERIAL_BAUD 115200
#endif

/* The status LED's Arduino pin: the board file's firmware.led.pin (kit passes -DKIT_LED_PIN),
 * else LED_BUILTIN where the core defines it as a macro. Left undefined: no LED. */
#if !defined(KIT_LED_PIN) && defined(LED_BUILTIN)
#define KIT_LED_PIN LED_BUILTIN
#endif

/* Set to 1 where the user LED lights when its pin is LOW (the board file's firmware.led). */
#ifndef KIT_LED_ACTIVE_LOW
#define KIT_LED_ACTIVE_LOW 0
#endif

#endif /* KIT_HAL_ARDUINO_H */
