/*
 * Power measurement pins of the Arduino HALs (any core with Wire and digitalWrite), from the
 * board file's [power] table: the timestamp output (-DKIT_TIMESTAMP_PIN, idle high, pulled
 * low for a few microseconds at each inference's start and end: the MLPerf Tiny energy-mode
 * timestamp, a falling edge >= 1 us) and the I2C bus of the current sensor (-DKIT_POWER_SENSOR;
 * -DKIT_I2C_SDA/-DKIT_I2C_SCL where the core lets Wire take pins, e.g. ESP32, else the
 * core's default Wire pins, which the board file names).
 */
#include <Arduino.h>

#include "kit_hal.h"

#if defined(KIT_POWER_SENSOR) && KIT_POWER_SENSOR != 0
#include <Wire.h>
static int wire_started;
#endif

/* The I2C bus is set up on first use; the timestamp pin at boot (kit_hal_init calls
 * kit_hal_arduino_timestamp_init), so the line idles high before the meter looks and the
 * first falling edge it sees is the first timestamp. */
#ifdef KIT_TIMESTAMP_PIN
static int timestamp_ready;
#ifndef KIT_TIMESTAMP_US
#define KIT_TIMESTAMP_US 2 /* [power] timestamp_us: >= 1 us for the LPM01A / JS220, >= 10 us for a PPK2 */
#endif
#endif

extern "C" void kit_hal_arduino_timestamp_init(void)
{
#ifdef KIT_TIMESTAMP_PIN
    if (!timestamp_ready) {
        pinMode(KIT_TIMESTAMP_PIN, OUTPUT);
        digitalWrite(KIT_TIMESTAMP_PIN, HIGH);
        timestamp_ready = 1;
    }
#endif
}

extern "C" void kit_hal_timestamp(void)
{
#ifdef KIT_TIMESTAMP_PIN
    kit_hal_arduino_timestamp_init();
    digitalWrite(KIT_TIMESTAMP_PIN, LOW);
    delayMicroseconds(KIT_TIMESTAMP_US); /* low long enough for the meter to see the edge */
    digitalWrite(KIT_TIMESTAMP_PIN, HIGH);
#endif
}

extern "C" int kit_hal_i2c_transfer(uint8_t address, const uint8_t *tx, uint32_t tx_length, uint8_t *rx,
                                    uint32_t rx_length)
{
#if defined(KIT_POWER_SENSOR) && KIT_POWER_SENSOR != 0
    uint32_t i;
    if (!wire_started) {
#if defined(KIT_I2C_SDA) && defined(KIT_I2C_SCL) && defined(ARDUINO_ARCH_ESP32)
        Wire.begin(KIT_I2C_SDA, KIT_I2C_SCL);
#else
        Wire.begin();
#endif
        wire_started = 1;
    }
    if (tx_length > 0u) {
        Wire.beginTransmission(address);
        for (i = 0; i < tx_length; i++) {
            Wire.write(tx[i]);
        }
        if (Wire.endTransmission(rx_length == 0u) != 0) {
            return -1;
        }
    }
    if (rx_length > 0u) {
        if (Wire.requestFrom(address, (uint8_t)rx_length) != rx_length) {
            return -1;
        }
        for (i = 0; i < rx_length; i++) {
            rx[i] = (uint8_t)Wire.read();
        }
    }
    return 0;
#else
    (void)address;
    (void)tx;
    (void)tx_length;
    (void)rx;
    (void)rx_length;
    return -1;
#endif
}
