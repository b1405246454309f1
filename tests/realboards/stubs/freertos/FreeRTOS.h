/* STAND-IN for FreeRTOS.h as ESP-IDF ships it (tests only). */
#ifndef KIT_STUB_FREERTOS_H
#define KIT_STUB_FREERTOS_H
#include <stddef.h>
#include <stdint.h>
#endif
