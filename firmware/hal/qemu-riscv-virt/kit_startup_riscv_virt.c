/*
 * Reset code for the riscv32 virt machine: set the stack and global pointers, copy .data,
 * clear .bss, run main and exit with its return value. Traps print an e-[...] line and end
 * QEMU with exit code 3, so a crash is visible instead of a silent hang.
 */
#include <stdint.h>

#include "kit_hal.h"

extern uint32_t __kit_data_load;
extern uint32_t __kit_data_start;
extern uint32_t __kit_data_end;
extern uint32_t __kit_bss_start;
extern uint32_t __kit_bss_end;

int main(void);
void kit_reset(void);
void kit_trap(void);

#define KIT_EXIT_FAULT 3

__asm__(".section .text.start, \"ax\"\n"
        ".global _start\n"
        "_start:\n"
        ".option push\n"
        ".option norelax\n"
        "    la gp, __global_pointer$\n"
        ".option pop\n"
        "    la sp, __kit_stack_high\n"
        "    la t0, kit_trap_entry\n"
        "    csrw mtvec, t0\n"
        "    call kit_reset\n"
        "1:  j 1b\n"
        ".align 4\n"
        "kit_trap_entry:\n"
        "    la sp, __kit_stack_high\n"
        "    call kit_trap\n"
        "2:  j 2b\n"
        ".text\n");

void kit_reset(void)
{
    uint32_t *source = &__kit_data_load;
    uint32_t *target;
    for (target = &__kit_data_start; target < &__kit_data_end;) {
        *target++ = *source++;
    }
    for (target = &__kit_bss_start; target < &__kit_bss_end;) {
        *target++ = 0;
    }
    kit_hal_exit(main());
}

void kit_trap(void)
{
    const char *text = "e-[trap]\r\nm-ready\r\n";
    while (*text != '\0') {
        kit_hal_putc(*text++);
    }
    kit_hal_exit(KIT_EXIT_FAULT);
}
