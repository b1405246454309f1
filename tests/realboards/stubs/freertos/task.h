/* STAND-IN for ESP-IDF's FreeRTOS task.h (tests only): the stack start of a task. */
#ifndef KIT_STUB_FREERTOS_TASK_H
#define KIT_STUB_FREERTOS_TASK_H
#include <stdint.h>
typedef void *TaskHandle_t;
uint8_t *pxTaskGetStackStart(TaskHandle_t task);
#endif
