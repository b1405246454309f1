/*
 * The Arduino entry points for kit firmware: the core owns main() and calls setup() once and
 * loop() forever, so the harness's own kit_main.c is left out of Arduino projects. The LED
 * is lit from the byte that completes a command until its reply is out, so it shows when the
 * board is busy (inference dominates); bytes that only fill the line buffer do not blink it.
 */
#include <Arduino.h>

#include "kit_hal.h"
#include "kit_hal_arduino.h"

extern "C" {
#include "kit_harness.h"
}

static bool completes_command(int byte)
{
    return byte == '%' || byte == '\n' || byte == '\r';
}

void setup()
{
    kit_hal_init();
    kit_harness_init();
}

void loop()
{
    int byte = kit_hal_getc();
    if (byte < 0) {
        return;
    }
    if (completes_command(byte)) {
        kit_hal_arduino_busy(1);
        kit_harness_feed((uint8_t)byte);
        kit_hal_arduino_busy(0);
    } else {
        kit_harness_feed((uint8_t)byte);
    }
}
