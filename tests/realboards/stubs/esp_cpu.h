/* STAND-IN for ESP-IDF 5's esp_cpu.h (tests only): the CPU cycle counter, counted from the
 * host's monotonic clock at getCpuFrequencyMhz(). */
#ifndef KIT_STUB_ESP_CPU_H
#define KIT_STUB_ESP_CPU_H
#include <stdint.h>
typedef uint32_t esp_cpu_cycle_count_t;
esp_cpu_cycle_count_t esp_cpu_get_cycle_count(void);
#endif
