/* STAND-IN for ESP-IDF's FreeRTOS task.h (tests only): the stack start of a task. */
#ifndef KIT_STUB_FREERTOS_TASK_H
#define KIT_STUB_FREERTOS_TASK_H
#include <stdint.h>
typedef void *TaskHandle_t;
uint8_t *pxTaskGetStackStart(TaskHandle_t task);
/* Static task creation as ESP-IDF has it (stack depth in StackType_t units, which are bytes
 * there). The stand-in runs the task on a host thread (sensor_stub.inc). */
typedef uint8_t StackType_t;
typedef struct { uint8_t opaque[64]; } StaticTask_t;
typedef uint32_t UBaseType_t;
typedef void (*TaskFunction_t)(void *);
TaskHandle_t xTaskCreateStatic(TaskFunction_t code, const char *name, uint32_t stack_depth, void *parameters,
                               UBaseType_t priority, StackType_t *stack, StaticTask_t *task_buffer);
void vTaskDelete(TaskHandle_t task);
#endif
