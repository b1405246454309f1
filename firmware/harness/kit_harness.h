/*
 * The device side of kit's serial protocol (docs/PROTOCOL.md): the MLPerf Tiny DUT commands
 * plus the kit- extensions, over whatever console the HAL provides.
 */
#ifndef KIT_HARNESS_H
#define KIT_HARNESS_H

#include <stdint.h>

/* Paint the stack, check the model fits the static buffers, print the boot banner. */
void kit_harness_init(void);

/* Handle one received byte (runs a command when it completes one). */
void kit_harness_feed(uint8_t byte);

/* Forever: poll the console and feed the harness. */
void kit_harness_run(void);

#endif /* KIT_HARNESS_H */
