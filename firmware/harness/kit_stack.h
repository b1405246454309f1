/* Stack high-water mark by painting: fill the unused stack with a pattern at boot, later
 * find the deepest byte that lost it. Cheap, and works on every core without a debugger. */
#ifndef KIT_STACK_H
#define KIT_STACK_H

#include <stdint.h>

void kit_stack_paint(void);
/* Bytes of stack used since kit_stack_paint (0 when the HAL has no stack bounds). */
uint32_t kit_stack_used(void);
uint32_t kit_stack_size(void);

#endif /* KIT_STACK_H */
