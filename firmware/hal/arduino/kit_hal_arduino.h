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
