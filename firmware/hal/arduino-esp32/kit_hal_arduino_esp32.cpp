/*
 * Timing, clock and stack of the Arduino ESP32 core (XIAO ESP32S3: Xtensa LX7). Ticks are
 * CPU cycles from the core's CCOUNT register, widened to 64 bits with the microsecond clock
 * (kit_cycle64.h); the clock is getCpuFrequencyMhz(). loop() runs in a FreeRTOS task pinned
 * to one core, so CCOUNT (per core) stays consistent between readings.
 */
#include <Arduino.h>
#include <esp_idf_version.h>
#include <freertos/FreeRTOS.h>
#include <freertos/task.h>

#if ESP_IDF_VERSION_MAJOR >= 5
#include <esp_cpu.h>
static inline uint32_t read_cycle_counter(void)
{
    return (uint32_t)esp_cpu_get_cycle_count();
}
#else
#include <xtensa/hal.h>
static inline uint32_t read_cycle_counter(void)
{
    return xthal_get_ccount();
}
#endif

#include "kit_cycle64.h"
#include "kit_hal.h"
#include "kit_hal_arduino.h"

#ifdef KIT_HAVE_BUILD_INFO
#include "kit_build_info.h"
#endif
#ifndef KIT_HAL_TARGET
#define KIT_HAL_TARGET "arduino-esp32"
#endif

#define KIT_HZ_PER_MHZ 1000000u

static kit_cycle64_t cycles;

static uint32_t cpu_hz(void)
{
    return (uint32_t)getCpuFrequencyMhz() * KIT_HZ_PER_MHZ;
}

extern "C" void kit_hal_arduino_timer_init(void)
{
    kit_cycle64_init(&cycles, (uint32_t)getCpuFrequencyMhz());
}

extern "C" uint64_t kit_hal_ticks(void)
{
    return kit_cycle64_update(&cycles, read_cycle_counter(), (uint32_t)micros());
}

extern "C" void kit_hal_timer_sync(void)
{
    /* CCOUNT counts single cycles: no tick phase to align */
}

extern "C" uint32_t kit_hal_timer_hz(void)
{
    return cpu_hz();
}

extern "C" uint32_t kit_hal_clock_hz(void)
{
    return cpu_hz();
}

extern "C" const char *kit_hal_target_name(void)
{
    return KIT_HAL_TARGET;
}

/* The loop task's stack: FreeRTOS knows where it starts (lowest address, the stack grows
 * down) and the core its size. FreeRTOS fills new stacks with 0xA5, the same pattern the
 * harness paints, so painting never disturbs its overflow check. */
extern "C" int kit_hal_stack_bounds(uintptr_t *low, uintptr_t *high)
{
    uint8_t *start = pxTaskGetStackStart(NULL);
    size_t size = getArduinoLoopTaskStackSize();
    if (start == NULL || size == 0u) {
        return 0;
    }
    *low = (uintptr_t)start;
    *high = (uintptr_t)start + size;
    return 1;
}
