/*
 * STAND-IN implementation of the Arduino/mbed/ESP32 APIs declared in this folder (tests
 * only): Serial on stdin/stdout, time from CLOCK_MONOTONIC, registers in static memory, and
 * a main() that calls setup() once and loop() forever, as the cores do.
 */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "Arduino.h"

#ifdef KIT_STUB_MBED
#include "mbed.h"
#endif
#ifdef KIT_STUB_ESP32
#include "esp_cpu.h"
#include "freertos/task.h"
#include "xtensa/hal.h"
#endif

StubSerial Serial("serial");
StubSerial Serial1("serial1");

static uint64_t now_ns(void)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

void StubSerial::begin(unsigned long baud) { fprintf(stderr, "%s begin baud=%lu\n", _name, baud); }

void StubSerial::begin(unsigned long baud, uint32_t config, int8_t rx, int8_t tx)
{
  (void)config;
  fprintf(stderr, "%s begin baud=%lu rx=%d tx=%d\n", _name, baud, rx, tx);
}

StubSerial::operator bool() const { return true; }

/* On a pipe, the end of input ends the program (the test closed it). On a pseudo-terminal
 * (the stand-in board behind a fake serial port), nobody holding the other side open is a
 * host that has not opened the port yet: wait, as a USB CDC device does. */
int StubSerial::available()
{
  struct pollfd input = {0, POLLIN, 0};
  if (poll(&input, 1, 1) <= 0) {
    return 0;
  }
  if ((input.revents & POLLIN) != 0) {
    return 1;
  }
  if (isatty(0)) {
    delay(2);
    return 0;
  }
  fflush(stdout);
  exit(0);
}

int StubSerial::read()
{
  unsigned char byte;
  if (::read(0, &byte, 1) != 1) {
    fflush(stdout);
    exit(0); /* the host closed the port */
  }
  return byte;
}

size_t StubSerial::write(uint8_t byte) { return fwrite(&byte, 1, 1, stdout); }

size_t StubSerial::write(const uint8_t *data, size_t length) { return fwrite(data, 1, length, stdout); }

void StubSerial::flush() { fflush(stdout); }

unsigned long millis(void) { return (unsigned long)(now_ns() / 1000000u); }

unsigned long micros(void) { return (unsigned long)(uint32_t)(now_ns() / 1000u); }

static void sensor_tick(void);

void delay(unsigned long ms)
{
  struct timespec pause = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
  nanosleep(&pause, NULL);
  sensor_tick(); /* a stand-in interrupt (the PDM microphone's) fires while the sketch waits */
}

void pinMode(uint8_t pin, uint8_t mode) { fprintf(stderr, "pinMode %u %u\n", pin, mode); }

void digitalWrite(uint8_t pin, uint8_t value)
{
#ifdef KIT_TIMESTAMP_PIN
  if (pin == KIT_TIMESTAMP_PIN) {
    fprintf(stderr, "timestamp=%u\n", value); /* the energy-mode pulses, apart from the LED */
    return;
  }
#endif
  fprintf(stderr, "led=%u pin=%u\n", value, pin);
}

void delayMicroseconds(unsigned int us)
{
  struct timespec pause = {0, (long)us * 1000L};
  nanosleep(&pause, NULL);
}

/* ------------------------------------------------------------ the stand-in I2C sensor */
#include "Wire.h"

#ifndef KIT_STUB_INA_UA
#define KIT_STUB_INA_UA 20000u /* 20 mA */
#endif
#ifndef KIT_STUB_INA_MV
#define KIT_STUB_INA_MV 3300u
#endif
#ifndef KIT_POWER_I2C_ADDR
#define KIT_POWER_I2C_ADDR 0x40
#endif
#ifndef KIT_POWER_SHUNT_MOHM
#define KIT_POWER_SHUNT_MOHM 100
#endif

StubWire Wire;
static uint8_t wire_address;
static uint8_t wire_tx[8];
static size_t wire_tx_length;
static uint8_t wire_pointer;
static uint16_t wire_config;
static uint8_t wire_rx[8];
static size_t wire_rx_length;
static size_t wire_rx_next;

static uint16_t stub_ina_register(uint8_t pointer)
{
  uint32_t shunt_nv = KIT_STUB_INA_UA * (uint32_t)KIT_POWER_SHUNT_MOHM; /* uA x mOhm = nV */
#if defined(KIT_POWER_SENSOR) && KIT_POWER_SENSOR == 2
  switch (pointer) {
  case 0x00: return wire_config;
  case 0x01: return (uint16_t)((shunt_nv + 1250u) / 2500u);
  case 0x02: return (uint16_t)(KIT_STUB_INA_MV * 1000u / 1250u);
  case 0xFE: return 0x5449u;
  case 0xFF: return 0x2260u;
  default: return 0u;
  }
#else
  switch (pointer) {
  case 0x00: return wire_config;
  case 0x01: return (uint16_t)((shunt_nv + 5000u) / 10000u);
  case 0x02: return (uint16_t)(((KIT_STUB_INA_MV / 4u) << 3) | 0x2u);
  default: return 0u;
  }
#endif
}

void StubWire::begin() { fprintf(stderr, "wire begin\n"); }

void StubWire::begin(int sda, int scl) { fprintf(stderr, "wire begin sda=%d scl=%d\n", sda, scl); }

void StubWire::beginTransmission(uint8_t address)
{
  wire_address = address;
  wire_tx_length = 0;
}

size_t StubWire::write(uint8_t byte)
{
  if (wire_tx_length < sizeof wire_tx) {
    wire_tx[wire_tx_length++] = byte;
  }
  return 1;
}

uint8_t StubWire::endTransmission(bool stop)
{
  (void)stop;
  if (wire_address != KIT_POWER_I2C_ADDR) {
    return 2; /* address NACK */
  }
  if (wire_tx_length >= 1) {
    wire_pointer = wire_tx[0];
  }
  if (wire_tx_length >= 3 && wire_pointer == 0x00) {
    wire_config = (uint16_t)((wire_tx[1] << 8) | wire_tx[2]);
  }
  return 0;
}

/* KIT_STUB_INA_ANSWERS=N in the environment: the sensor answers N reads, then goes silent
 * (a wire that came loose); 0 = not there at all. Unset: it always answers. */
static bool stub_ina_answers(void)
{
  static long left = -2;
  if (left == -2) {
    const char *text = getenv("KIT_STUB_INA_ANSWERS");
    left = text != NULL ? strtol(text, NULL, 10) : -1;
  }
  if (left < 0) {
    return true;
  }
  if (left == 0) {
    return false;
  }
  left--;
  return true;
}

uint8_t StubWire::requestFrom(uint8_t address, uint8_t count)
{
  if (address != KIT_POWER_I2C_ADDR || count > sizeof wire_rx || !stub_ina_answers()) {
    return 0;
  }
  uint16_t value = stub_ina_register(wire_pointer);
  for (uint8_t i = 0; i < count; i++) {
    wire_rx[i] = (i % 2 == 0) ? (uint8_t)(value >> 8) : (uint8_t)(value & 0xFF);
  }
  wire_rx_length = count;
  wire_rx_next = 0;
  return count;
}

int StubWire::available() { return (int)(wire_rx_length - wire_rx_next); }

int StubWire::read() { return wire_rx_next < wire_rx_length ? wire_rx[wire_rx_next++] : -1; }

/* The board's clock from its board file (realboard_helpers.core_defines). */
#ifndef KIT_STUB_CORE_CLOCK
#define KIT_STUB_CORE_CLOCK 240000000u
#endif

uint32_t getCpuFrequencyMhz(void) { return KIT_STUB_CORE_CLOCK / 1000000u; }

static uint8_t loop_task_stack[4096];

size_t getArduinoLoopTaskStackSize(void) { return sizeof loop_task_stack; }

#ifdef KIT_STUB_MBED
CoreDebug_Type kit_stub_core_debug;
DWT_Type kit_stub_dwt;
uint32_t SystemCoreClock = KIT_STUB_CORE_CLOCK;

static bool counter_enabled(void)
{
#ifdef KIT_STUB_DWT_DEAD
  return false;
#else
  bool unlocked = __CORTEX_M != 7U || kit_stub_dwt.LAR == 0xC5ACCE55u;
  return (kit_stub_core_debug.DEMCR & CoreDebug_DEMCR_TRCENA_Msk) && unlocked &&
         (kit_stub_dwt.CTRL & DWT_CTRL_CYCCNTENA_Msk);
#endif
}

static uint32_t cycles_now(void) { return (uint32_t)(now_ns() * (SystemCoreClock / 1000000u) / 1000u); }

StubCycleCounter::operator uint32_t() const { return counter_enabled() ? cycles_now() - offset_ : offset_; }

StubCycleCounter &StubCycleCounter::operator=(uint32_t value)
{
  offset_ = counter_enabled() ? cycles_now() - value : value;
  return *this;
}

static uint8_t main_stack[4096];
static osRtxThread_t main_thread = {main_stack, sizeof main_stack};

osThreadId_t osThreadGetId(void) { return &main_thread; }
#endif

#ifdef KIT_STUB_ESP32
esp_cpu_cycle_count_t esp_cpu_get_cycle_count(void) { return (uint32_t)(now_ns() * (KIT_STUB_CORE_CLOCK / 1000000u) / 1000u); }

unsigned xthal_get_ccount(void) { return (uint32_t)(now_ns() * (KIT_STUB_CORE_CLOCK / 1000000u) / 1000u); }

uint8_t *pxTaskGetStackStart(TaskHandle_t task)
{
  (void)task;
  return loop_task_stack;
}
#endif

#include "sensor_stub.inc"

int main(void)
{
  setup();
  for (;;) {
    loop();
  }
}
