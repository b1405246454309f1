/*
 * HAL for QEMU's riscv32 virt machine (bare metal, -bios none): ns16550a UART console,
 * mcycle as the tick counter (under -icount shift=0 it counts retired instructions, one per
 * ns of virtual time), the sifive_test device to end QEMU with an exit code, and semihosting
 * (-semihosting-config enable=on) for files on the host.
 */
#include <stdint.h>

#include "kit_hal.h"
#include "kit_semihost.h"
#include "kit_virtual_ina.h"

#define REG8(address) (*(volatile uint8_t *)(address))
#define UART_BASE 0x10000000u
#define UART_RBR_THR REG8(UART_BASE + 0u)
#define UART_IER REG8(UART_BASE + 1u)
#define UART_LCR REG8(UART_BASE + 3u)
#define UART_LSR REG8(UART_BASE + 5u)
#define UART_LSR_DATA_READY 0x01u
#define UART_LSR_THR_EMPTY 0x20u
#define UART_LCR_8N1 0x03u

#define TEST_DEVICE (*(volatile uint32_t *)0x00100000u)
#define TEST_PASS 0x5555u
#define TEST_FAIL 0x3333u

#define QEMU_ICOUNT_CLOCK_HZ 1000000000u

extern uint32_t __kit_stack_low;
extern uint32_t __kit_stack_high;

void kit_hal_init(void)
{
    UART_IER = 0;
    UART_LCR = UART_LCR_8N1;
    /* FCR is left alone: toggling the FIFO enable clears it and loses early input. */
}

void kit_hal_putc(char c)
{
    while (!(UART_LSR & UART_LSR_THR_EMPTY)) {
    }
    UART_RBR_THR = (uint8_t)c;
}

void kit_hal_flush(void)
{
}

int kit_hal_getc(void)
{
    if (UART_LSR & UART_LSR_DATA_READY) {
        return (int)UART_RBR_THR;
    }
    return -1;
}

/* 64-bit mcycle on rv32: read high, low, high again until the high half is stable. */
uint64_t kit_hal_ticks(void)
{
    uint32_t high;
    uint32_t low;
    uint32_t again;
    do {
        __asm__ volatile("csrr %0, mcycleh" : "=r"(high));
        __asm__ volatile("csrr %0, mcycle" : "=r"(low));
        __asm__ volatile("csrr %0, mcycleh" : "=r"(again));
    } while (high != again);
    return ((uint64_t)high << 32) | low;
}

void kit_hal_timer_sync(void)
{
}

uint32_t kit_hal_timer_hz(void)
{
    return QEMU_ICOUNT_CLOCK_HZ;
}

uint32_t kit_hal_clock_hz(void)
{
    return QEMU_ICOUNT_CLOCK_HZ;
}

const char *kit_hal_target_name(void)
{
    return "qemu-riscv-virt";
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

void kit_hal_exit(int code)
{
    TEST_DEVICE = code == 0 ? TEST_PASS : (((uint32_t)code << 16) | TEST_FAIL);
    for (;;) {
    }
}

/* RISC-V semihosting: a0 = operation, a1 = parameter block, result in a0. QEMU (>= 7, with
 * -semihosting-config enable=on) treats an ebreak as a semihosting call only between
 * `slli x0,x0,0x1f` and `srai x0,x0,7`, all three UNCOMPRESSED (an rv32imc build would
 * otherwise emit c.ebreak, a plain breakpoint) and in one page (16-byte alignment). */
__asm__(".section .text.kit_semihost, \"ax\"\n"
        ".global kit_semihost_call\n"
        ".balign 16\n"
        "kit_semihost_call:\n"
        ".option push\n"
        ".option norvc\n"
        "    slli x0, x0, 0x1f\n"
        "    ebreak\n"
        "    srai x0, x0, 7\n"
        ".option pop\n"
        "    ret\n"
        ".text\n");

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
 * virtual time. A wait arms the CLINT timer and sleeps in WFI (mie.MTIE set, mstatus.MIE
 * clear: the pending timer wakes the hart without a trap), so QEMU with -icount sleep=off
 * skips the idle time instead of executing a spin loop. */
#define REG32(address) (*(volatile uint32_t *)(address))
#define CLINT_MTIMECMP_LOW REG32(0x02004000u)
#define CLINT_MTIMECMP_HIGH REG32(0x02004004u)
#define CLINT_MTIME_LOW REG32(0x0200BFF8u)
#define CLINT_MTIME_HIGH REG32(0x0200BFFCu)
#define CLINT_NS_PER_TICK 100u /* mtime runs at 10 MHz */
#define MIE_MTIE 0x80u

static uint64_t clint_mtime(void)
{
    uint32_t high;
    uint32_t low;
    do {
        high = CLINT_MTIME_HIGH;
        low = CLINT_MTIME_LOW;
    } while (high != CLINT_MTIME_HIGH);
    return ((uint64_t)high << 32) | low;
}

static void clint_compare(uint64_t when)
{
    CLINT_MTIMECMP_HIGH = 0xFFFFFFFFu; /* never a spurious match while the halves change */
    CLINT_MTIMECMP_LOW = (uint32_t)when;
    CLINT_MTIMECMP_HIGH = (uint32_t)(when >> 32);
}

static uint64_t kit_vs_now_ns(void)
{
    return kit_hal_ticks(); /* mcycle: one instruction = one ns under -icount shift=0 */
}

static void kit_vs_wait_until_ns(uint64_t deadline)
{
    uint64_t now;
    while ((now = kit_vs_now_ns()) < deadline) {
        clint_compare(clint_mtime() + (deadline - now + CLINT_NS_PER_TICK - 1u) / CLINT_NS_PER_TICK);
        __asm__ volatile("csrs mie, %0\n\twfi\n\tcsrc mie, %0" ::"r"(MIE_MTIE) : "memory");
    }
    clint_compare(UINT64_MAX);
}

#define kit_vs_open kit_semihost_open
#define kit_vs_read kit_semihost_read
#define kit_vs_seek kit_semihost_seek
#define kit_vs_length kit_semihost_flen
#define kit_vs_close kit_semihost_close
#include "kit_virtual_sensor.h"
