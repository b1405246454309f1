/*
 * The console and status LED of the Arduino HALs (any core with Serial; LED pin from the board file):
 * serial over the board's USB CDC port, output gathered into packets because every
 * Serial.write on USB CDC costs a USB transfer, and a wait for the host to open the port so
 * the boot banner is not lost.
 * MLPerf Tiny energy mode (-DKIT_ENERGY_MODE=1): the board is powered by the meter, not USB,
 * and its console goes through the runner's IO manager, wired to the board's UART TX/RX pins:
 * the console is then KIT_ENERGY_SERIAL (default Serial1: the TX/RX header pins of the mbed
 * boards; on ESP32 given the variant's TX/RX pins) at KIT_ENERGY_BAUD, with no wait for a USB
 * host that never comes.
 */
#include <Arduino.h>

#include "kit_hal.h"
#include "kit_hal_arduino.h"

#if defined(KIT_ENERGY_MODE) && KIT_ENERGY_MODE
#ifndef KIT_ENERGY_SERIAL
#define KIT_ENERGY_SERIAL Serial1
#endif
#ifndef KIT_ENERGY_BAUD
#define KIT_ENERGY_BAUD 9600
#endif
#define KIT_CONSOLE KIT_ENERGY_SERIAL
#else
#define KIT_CONSOLE Serial
#endif

#define KIT_TX_BUFFER_BYTES 64u

static uint8_t tx_buffer[KIT_TX_BUFFER_BYTES];
static size_t tx_length;

static void send_buffer(void)
{
    if (tx_length > 0u) {
        KIT_CONSOLE.write(tx_buffer, tx_length);
        tx_length = 0u;
    }
}

extern "C" void kit_hal_arduino_busy(int busy)
{
#ifdef KIT_LED_PIN
    int lit = KIT_LED_ACTIVE_LOW ? LOW : HIGH;
    int dark = KIT_LED_ACTIVE_LOW ? HIGH : LOW;
    digitalWrite(KIT_LED_PIN, busy ? lit : dark);
#else
    (void)busy;
#endif
}

extern "C" void kit_hal_init(void)
{
#ifdef KIT_LED_PIN
    pinMode(KIT_LED_PIN, OUTPUT);
#endif
    kit_hal_arduino_busy(1); /* lit until the host opens the port: the board is alive */
    kit_hal_arduino_timestamp_init(); /* idle high before the meter looks, as th_timestamp_initialize */
#if defined(KIT_ENERGY_MODE) && KIT_ENERGY_MODE
#if defined(ARDUINO_ARCH_ESP32)
    KIT_CONSOLE.begin(KIT_ENERGY_BAUD, SERIAL_8N1, RX, TX); /* UART on the header's RX/TX pins */
#else
    KIT_CONSOLE.begin(KIT_ENERGY_BAUD); /* the IO manager talks at this rate */
#endif
#else
    Serial.begin(KIT_SERIAL_BAUD);
    while (!Serial) {
        delay(10);
    }
#endif
    kit_hal_arduino_busy(0);
    tx_length = 0u;
    kit_hal_arduino_timer_init();
}

extern "C" void kit_hal_putc(char c)
{
    tx_buffer[tx_length++] = (uint8_t)c;
    if (tx_length == KIT_TX_BUFFER_BYTES) {
        send_buffer();
    }
}

extern "C" void kit_hal_flush(void)
{
    send_buffer();
    KIT_CONSOLE.flush();
}

extern "C" int kit_hal_getc(void)
{
    if (KIT_CONSOLE.available() > 0) {
        return KIT_CONSOLE.read() & 0xFF;
    }
    return -1;
}

extern "C" int kit_hal_can_exit(void)
{
    return 0;
}

extern "C" void kit_hal_exit(int code)
{
    (void)code; /* a real board has nowhere to exit to: kit-exit answers "not supported" */
}

extern "C" int32_t kit_hal_host_read(const char *path, uint8_t *buffer, uint32_t length)
{
    (void)path; /* a real board reads its inputs from the serial link only */
    (void)buffer;
    (void)length;
    return -1;
}
