/*
 * Reset and vector table for the MPS2 Cortex-M boards: enable the FPU, copy .data, clear
 * .bss, run main. Faults print an e-[...] line so a crash is visible on the serial link,
 * then end QEMU with exit code 3.
 */
#include <stdint.h>

#include "kit_hal.h"

extern uint32_t __kit_data_load;
extern uint32_t __kit_data_start;
extern uint32_t __kit_data_end;
extern uint32_t __kit_bss_start;
extern uint32_t __kit_bss_end;
extern uint32_t __kit_stack_high;

int main(void);
void Reset_Handler(void);
void Fault_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void);

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define CPACR_CP10_CP11_FULL (0xFu << 20)
#define KIT_EXIT_FAULT 3

void Reset_Handler(void)
{
    uint32_t *source = &__kit_data_load;
    uint32_t *target;
    SCB_CPACR |= CPACR_CP10_CP11_FULL;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    for (target = &__kit_data_start; target < &__kit_data_end;) {
        *target++ = *source++;
    }
    for (target = &__kit_bss_start; target < &__kit_bss_end;) {
        *target++ = 0;
    }
    kit_hal_exit(main());
}

static void fault_print(const char *text)
{
    while (*text != '\0') {
        kit_hal_putc(*text++);
    }
}

void Fault_Handler(void)
{
    fault_print("e-[hard fault]\r\nm-ready\r\n");
    kit_hal_exit(KIT_EXIT_FAULT);
}

void Default_Handler(void)
{
    fault_print("e-[unexpected interrupt]\r\nm-ready\r\n");
    kit_hal_exit(KIT_EXIT_FAULT);
}

typedef void (*kit_vector_t)(void);

/* Entry 0 is the initial stack pointer; GCC accepts the address as a vector entry. */
__attribute__((section(".vectors"), used)) const kit_vector_t kit_vectors[16] = {
    (kit_vector_t)(uintptr_t)&__kit_stack_high,
    Reset_Handler,
    Fault_Handler, /* NMI */
    Fault_Handler, /* HardFault */
    Fault_Handler, /* MemManage */
    Fault_Handler, /* BusFault */
    Fault_Handler, /* UsageFault */
    0,
    0,
    0,
    0,
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMonitor */
    0,
    Default_Handler, /* PendSV */
    SysTick_Handler,
};
