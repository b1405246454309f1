/* STAND-IN for Xtensa's HAL header (tests only): CCOUNT as ESP-IDF 4.x code reads it. */
#ifndef KIT_STUB_XTENSA_HAL_H
#define KIT_STUB_XTENSA_HAL_H
#include <stdint.h>
uint32_t xthal_get_ccount(void);
#endif
