/*
 * HAL for QEMU's Arm MPS2/MPS3 boards: mps2-an386 (Cortex-M4F), mps2-an500 (Cortex-M7) and
 * mps3-an547 (Cortex-M55). CMSDK UART0 is the console, SysTick (25 MHz of virtual time on
 * mps2, 32 MHz on mps3-an547) the tick counter, and semihosting ends QEMU with an exit code.
 * With -icount shift=0 one instruction takes 1 ns, so tick counts are deterministic
 * instruction counts (DWT CYCCNT is not emulated). Where the machines differ (the UART's
 * address, the SysTick clock) the build passes the board file's [emulator] values as
 * KIT_HAL_UART_BASE / KIT_HAL_SYSTICK_HZ; the defaults are mps2's.
 */
#include <stdint.h>

#include <string.h>

#include "kit_hal.h"
#include "kit_semihost.h"
#include "kit_virtual_ina.h"

#define REG32(address) (*(volatile uint32_t *)(address))

#ifndef KIT_HAL_UART_BASE
#define KIT_HAL_UART_BASE 0x40004000u
#endif
#ifndef KIT_HAL_SYSTICK_HZ
#define KIT_HAL_SYSTICK_HZ 25000000u
#endif

#define UART0_BASE KIT_HAL_UART_BASE
#define UART_DATA REG32(UART0_BASE + 0x00u)
#define UART_STATE REG32(UART0_BASE + 0x04u)
#define UART_CTRL REG32(UART0_BASE + 0x08u)
#define UART_BAUDDIV REG32(UART0_BASE + 0x10u)
#define UART_STATE_TX_FULL 0x1u
#define UART_STATE_RX_FULL 0x2u
#define UART_CTRL_TX_RX_ENABLE 0x3u

#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define SYST_CSR_ENABLE_TICKINT_CPUCLK 0x7u
#define SYST_RELOAD 0x00FFFFFFu
#define SCB_ICSR REG32(0xE000ED04u)
#define SCB_ICSR_PENDSTSET (1u << 26)
#define SCB_ICSR_PENDSTCLR (1u << 25)

#define QEMU_ICOUNT_CLOCK_HZ 1000000000u

#ifndef KIT_HAL_TARGET
#define KIT_HAL_TARGET "qemu-mps2"
#endif

extern uint32_t __kit_stack_low;
extern uint32_t __kit_stack_high;

static volatile uint32_t systick_wraps;
static uint64_t tick_base; /* ticks counted before the last kit_hal_timer_sync */

void SysTick_Handler(void);
void SysTick_Handler(void)
{
    systick_wraps++;
}

void kit_hal_init(void)
{
    UART_BAUDDIV = 16u;
    UART_CTRL = UART_CTRL_TX_RX_ENABLE;
    systick_wraps = 0;
    SYST_RVR = SYST_RELOAD;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_ENABLE_TICKINT_CPUCLK;
}

void kit_hal_putc(char c)
{
    while (UART_STATE & UART_STATE_TX_FULL) {
    }
    UART_DATA = (uint32_t)(uint8_t)c;
}

void kit_hal_flush(void)
{
}

int kit_hal_getc(void)
{
    if (UART_STATE & UART_STATE_RX_FULL) {
        return (int)(UART_DATA & 0xFFu);
    }
    return -1;
}

static uint32_t interrupts_off(void)
{
    uint32_t primask;
    __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
    return primask;
}

static void interrupts_restore(uint32_t primask)
{
    __asm__ volatile("msr primask, %0" ::"r"(primask) : "memory");
}

/* With interrupts masked: a reload whose interrupt is still pending is counted here when the
 * counter value shows it already happened (value near the reload value). */
static uint64_t ticks_masked(void)
{
    uint32_t wraps = systick_wraps;
    uint32_t value = SYST_CVR;
    if ((SCB_ICSR & SCB_ICSR_PENDSTSET) && value > SYST_RELOAD / 2u) {
        wraps++;
    }
    return tick_base + ((uint64_t)wraps << 24) + (uint64_t)(SYST_RELOAD - value);
}

uint64_t kit_hal_ticks(void)
{
    uint32_t primask = interrupts_off();
    uint64_t ticks = ticks_masked();
    interrupts_restore(primask);
    return ticks;
}

/* Writing SysTick's current value restarts its countdown from this instruction (QEMU, as the
 * hardware, reloads on the next tick without an interrupt), so the next measurement's tick
 * phase no longer depends on when the host's command arrived. */
void kit_hal_timer_sync(void)
{
    uint32_t primask = interrupts_off();
    uint64_t now = ticks_masked();
    SYST_CVR = 0;
    while (SYST_CVR == 0u) {
    }
    SCB_ICSR = SCB_ICSR_PENDSTCLR;
    systick_wraps = 0;
    tick_base = now + 1u;
    interrupts_restore(primask);
}

uint32_t kit_hal_timer_hz(void)
{
    return KIT_HAL_SYSTICK_HZ;
}

uint32_t kit_hal_clock_hz(void)
{
    return QEMU_ICOUNT_CLOCK_HZ;
}

const char *kit_hal_target_name(void)
{
    return KIT_HAL_TARGET;
}

int kit_hal_stack_bounds(uintptr_t *low, uintptr_t *high)
{
    *low = (uintptr_t)&__kit_stack_low;
    *high = (uintptr_t)&__kit_stack_high;
    return 1;
}

int kit_hal_can_exit(void)
{
    return 1;
}

/* Semihosting SYS_EXIT_EXTENDED (0x20) with ADP_Stopped_ApplicationExit (0x20026). */
void kit_hal_exit(int code)
{
    static volatile uint32_t block[2];
    register uint32_t operation __asm__("r0") = 0x20u;
    register volatile uint32_t *argument __asm__("r1") = block;
    block[0] = 0x20026u;
    block[1] = (uint32_t)code;
    __asm__ volatile("bkpt 0xab" : "+r"(operation) : "r"(argument) : "memory");
    for (;;) {
    }
}

/* One Arm semihosting call: operation in r0, parameter block in r1, result in r0. */
int32_t kit_semihost_call(uint32_t operation, volatile uint32_t *block)
{
    register uint32_t r0 __asm__("r0") = operation;
    register volatile uint32_t *r1 __asm__("r1") = block;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return (int32_t)r0;
}

int32_t kit_hal_host_read(const char *path, uint8_t *buffer, uint32_t length)
{
    return kit_semihost_host_read(path, buffer, length);
}

/* No pin to pulse on the emulator: the pulses are counted (the modelled meter draws the
 * edges on the host from the run timings; a debugger can read the count). */
volatile uint32_t kit_timestamp_pulses;

void kit_hal_timestamp(void)
{
    kit_timestamp_pulses++;
}

/* The virtual INA219/INA226 of kit_virtual_ina.h stands on the emulator's I2C bus. */
int kit_hal_i2c_transfer(uint8_t address, const uint8_t *tx, uint32_t tx_length, uint8_t *rx,
                         uint32_t rx_length)
{
    return kit_virtual_ina_transfer(address, tx, tx_length, rx, rx_length);
}

/* ---- Virtual sensors (kit_virtual_sensor.h): recordings read with semihosting, paced in
 * virtual time. A wait arms a CMSDK APB timer (mps2: timer0 at 0x40000000, IRQ 8) and sleeps
 * in WFI with interrupts masked (a pending interrupt wakes the core without being taken), so
 * QEMU with -icount sleep=off skips the idle time instead of executing a spin loop. A machine
 * without that timer (KIT_HAL_WAKE_TIMER_BASE 0, e.g. mps3-an547) polls the tick counter. */
#ifndef KIT_HAL_WAKE_TIMER_BASE
#define KIT_HAL_WAKE_TIMER_BASE 0x40000000u
#endif
#ifndef KIT_HAL_WAKE_TIMER_IRQ
#define KIT_HAL_WAKE_TIMER_IRQ 8u
#endif
#ifndef KIT_HAL_WAKE_TIMER_HZ
#define KIT_HAL_WAKE_TIMER_HZ KIT_HAL_SYSTICK_HZ /* mps2: the APB clock is the system clock */
#endif
#define WAKE_TIMER_CTRL REG32(KIT_HAL_WAKE_TIMER_BASE + 0x0u)
#define WAKE_TIMER_VALUE REG32(KIT_HAL_WAKE_TIMER_BASE + 0x4u)
#define WAKE_TIMER_RELOAD REG32(KIT_HAL_WAKE_TIMER_BASE + 0x8u)
#define WAKE_TIMER_INTCLEAR REG32(KIT_HAL_WAKE_TIMER_BASE + 0xCu)
#define WAKE_TIMER_ENABLE_IRQ 0x9u
#define NVIC_ISER0 REG32(0xE000E100u)
#define NVIC_ICER0 REG32(0xE000E180u)
#define NVIC_ICPR0 REG32(0xE000E280u)
#define NS_PER_S 1000000000ull

static uint64_t kit_vs_now_ns(void)
{
    uint64_t ticks = kit_hal_ticks();
    return ticks / KIT_HAL_SYSTICK_HZ * NS_PER_S + ticks % KIT_HAL_SYSTICK_HZ * NS_PER_S / KIT_HAL_SYSTICK_HZ;
}

#if KIT_HAL_WAKE_TIMER_BASE != 0
static void wake_timer_disarm(void)
{
    WAKE_TIMER_CTRL = 0u;
    WAKE_TIMER_INTCLEAR = 1u;
    NVIC_ICER0 = 1u << KIT_HAL_WAKE_TIMER_IRQ;
    NVIC_ICPR0 = 1u << KIT_HAL_WAKE_TIMER_IRQ;
}

static void kit_vs_wait_until_ns(uint64_t deadline)
{
    uint64_t now;
    while ((now = kit_vs_now_ns()) < deadline) {
        uint64_t ticks = ((deadline - now) * KIT_HAL_WAKE_TIMER_HZ + NS_PER_S - 1u) / NS_PER_S;
        uint32_t primask = interrupts_off();
        wake_timer_disarm();
        WAKE_TIMER_RELOAD = ticks > 0xFFFFFFF0u ? 0xFFFFFFF0u : (uint32_t)ticks + 1u;
        WAKE_TIMER_VALUE = WAKE_TIMER_RELOAD;
        NVIC_ISER0 = 1u << KIT_HAL_WAKE_TIMER_IRQ;
        WAKE_TIMER_CTRL = WAKE_TIMER_ENABLE_IRQ;
        __asm__ volatile("dsb\n\twfi" ::: "memory");
        wake_timer_disarm();
        interrupts_restore(primask); /* a SysTick wrap that woke us is counted now */
    }
}
#else
static void kit_vs_wait_until_ns(uint64_t deadline)
{
    while (kit_vs_now_ns() < deadline) {
    }
}
#endif

#define kit_vs_open kit_semihost_open
#define kit_vs_read kit_semihost_read
#define kit_vs_seek kit_semihost_seek
#define kit_vs_length kit_semihost_flen
#define kit_vs_close kit_semihost_close
#include "kit_virtual_sensor.h"
