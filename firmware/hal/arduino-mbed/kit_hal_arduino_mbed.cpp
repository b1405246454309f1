/*
 * Timing, clock and stack of the Arduino mbed core boards (Nicla Vision: STM32H747 M7 core,
 * Nano 33 BLE Sense: nRF52840 M4F). Ticks are CPU cycles from the DWT cycle counter, widened
 * to 64 bits with the microsecond clock (kit_cycle64.h); the clock is CMSIS SystemCoreClock.
 * If the counter does not run (a core without DWT, or a debugger holding it), the HAL says so
 * honestly by counting microseconds instead (timer_hz = 1 MHz).
 */
#include <Arduino.h>
#include <mbed.h>

#include "kit_cycle64.h"
#include "kit_hal.h"
#include "kit_hal_arduino.h"

#ifdef KIT_HAVE_BUILD_INFO
#include "kit_build_info.h"
#endif
#ifndef KIT_HAL_TARGET
#define KIT_HAL_TARGET "arduino-mbed"
#endif

/* The Cortex-M7's DWT is behind a software lock (CoreSight lock access register). */
#define KIT_CORESIGHT_UNLOCK 0xC5ACCE55u
#define KIT_MICROS_HZ 1000000u
#define KIT_PROBE_SPIN 64

static kit_cycle64_t cycles;
static int counter_runs;

static void enable_cycle_counter(void)
{
    CoreDebug->DEMCR |= CoreDebug_DEMCR_TRCENA_Msk;
#if defined(__CORTEX_M) && (__CORTEX_M == 7U)
    DWT->LAR = KIT_CORESIGHT_UNLOCK;
#endif
    DWT->CYCCNT = 0u;
    DWT->CTRL |= DWT_CTRL_CYCCNTENA_Msk;
}

static int cycle_counter_runs(void)
{
    uint32_t before = DWT->CYCCNT;
    volatile int spin;
    for (spin = 0; spin < KIT_PROBE_SPIN; spin++) {
    }
    return DWT->CYCCNT != before;
}

extern "C" void kit_hal_arduino_timer_init(void)
{
    enable_cycle_counter();
    counter_runs = cycle_counter_runs();
    kit_cycle64_init(&cycles, counter_runs ? (uint32_t)(SystemCoreClock / KIT_MICROS_HZ) : 1u);
}

extern "C" uint64_t kit_hal_ticks(void)
{
    uint32_t now_micros = (uint32_t)micros();
    uint32_t raw = counter_runs ? (uint32_t)DWT->CYCCNT : now_micros;
    return kit_cycle64_update(&cycles, raw, now_micros);
}

extern "C" void kit_hal_timer_sync(void)
{
    /* the cycle counter counts single cycles: no tick phase to align */
}

extern "C" uint32_t kit_hal_timer_hz(void)
{
    return counter_runs ? (uint32_t)SystemCoreClock : KIT_MICROS_HZ;
}

extern "C" uint32_t kit_hal_clock_hz(void)
{
    return (uint32_t)SystemCoreClock;
}

extern "C" const char *kit_hal_target_name(void)
{
    return KIT_HAL_TARGET;
}

/* loop() runs in mbed OS's main thread (RTX). Its stack is the thread's stack_mem block; the
 * first words hold RTX's overflow magic word, which must not be painted over. */
#define KIT_RTX_MAGIC_BYTES 8u

extern "C" int kit_hal_stack_bounds(uintptr_t *low, uintptr_t *high)
{
    const osRtxThread_t *thread = (const osRtxThread_t *)osThreadGetId();
    if (thread == NULL || thread->stack_mem == NULL || thread->stack_size <= KIT_RTX_MAGIC_BYTES) {
        return 0;
    }
    *low = (uintptr_t)thread->stack_mem + KIT_RTX_MAGIC_BYTES;
    *high = (uintptr_t)thread->stack_mem + thread->stack_size;
    return 1;
}
