#include "kit_stack.h"

#include "kit_hal.h"

#define KIT_STACK_PATTERN 0xA5A5A5A5u
/* Bytes left unpainted below the painting function's own frame. */
#define KIT_STACK_GUARD 128u

static uintptr_t stack_low;
static uintptr_t stack_high;

/* Not inlined, so `marker` sits in this frame and everything below it is free stack. */
__attribute__((noinline)) void kit_stack_paint(void)
{
    volatile uint32_t marker = 0;
    uintptr_t here = (uintptr_t)&marker;
    volatile uint32_t *word;
    if (!kit_hal_stack_bounds(&stack_low, &stack_high) || here <= stack_low ||
        here > stack_high) {
        stack_low = stack_high = 0;
        return;
    }
    stack_low = (stack_low + 3u) & ~(uintptr_t)3u;
    for (word = (volatile uint32_t *)stack_low; (uintptr_t)word + KIT_STACK_GUARD < here; word++) {
        *word = KIT_STACK_PATTERN;
    }
    (void)marker;
}

uint32_t kit_stack_used(void)
{
    const volatile uint32_t *word = (const volatile uint32_t *)stack_low;
    if (stack_high == 0) {
        return 0;
    }
    while ((uintptr_t)word < stack_high && *word == KIT_STACK_PATTERN) {
        word++;
    }
    return (uint32_t)(stack_high - (uintptr_t)word);
}

uint32_t kit_stack_size(void)
{
    return (uint32_t)(stack_high - stack_low);
}
