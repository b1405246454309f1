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

StubSerial Serial;

static uint64_t now_ns(void)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

void StubSerial::begin(unsigned long baud) { (void)baud; }

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

void delay(unsigned long ms)
{
  struct timespec pause = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
  nanosleep(&pause, NULL);
}

void pinMode(uint8_t pin, uint8_t mode) { fprintf(stderr, "pinMode %u %u\n", pin, mode); }

void digitalWrite(uint8_t pin, uint8_t value) { fprintf(stderr, "led=%u pin=%u\n", value, pin); }

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

int main(void)
{
  setup();
  for (;;) {
    loop();
  }
}
