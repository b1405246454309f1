/* STAND-IN for Xtensa's HAL header (tests only): CCOUNT as ESP-IDF 4.x code reads it, with the
 * real declaration (xtensa/hal.h: extern unsigned xthal_get_ccount(void)). */
#ifndef KIT_STUB_XTENSA_HAL_H
#define KIT_STUB_XTENSA_HAL_H
#include <stdint.h>
extern unsigned xthal_get_ccount(void);
#endif
