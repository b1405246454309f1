/*
 * STAND-IN for the parts of mbed OS / CMSIS-Core the arduino-mbed HAL uses, for tests only:
 * CoreDebug->DEMCR, DWT->CTRL/CYCCNT/LAR, SystemCoreClock, and RTX's thread control block.
 * The registers live in static memory. The cycle counter is a small class that counts (from
 * the host's monotonic clock, at SystemCoreClock) ONLY once the HAL has enabled it the way
 * the hardware requires (TRCENA, the M7's lock access key, CYCCNTENA), so a run proves the
 * enabling sequence; with -DKIT_STUB_DWT_DEAD it never counts (the fallback path).
 */
#ifndef KIT_STUB_MBED_H
#define KIT_STUB_MBED_H

#include <stddef.h>
#include <stdint.h>

#ifndef __CORTEX_M
#define __CORTEX_M 4U
#endif

#define CoreDebug_DEMCR_TRCENA_Msk (1UL << 24)
#define DWT_CTRL_CYCCNTENA_Msk (1UL)

typedef struct {
  volatile uint32_t DHCSR, DCRSR, DCRDR, DEMCR;
} CoreDebug_Type;

class StubCycleCounter {
 public:
  operator uint32_t() const;
  StubCycleCounter &operator=(uint32_t value);
 private:
  uint32_t offset_ = 0;
};

typedef struct {
  volatile uint32_t CTRL;
  StubCycleCounter CYCCNT;
  volatile uint32_t LAR;
} DWT_Type;

extern CoreDebug_Type kit_stub_core_debug;
extern DWT_Type kit_stub_dwt;
extern uint32_t SystemCoreClock;
#define CoreDebug (&kit_stub_core_debug)
#define DWT (&kit_stub_dwt)

/* RTX (CMSIS-RTOS2) thread control block, reduced to the stack fields. */
typedef void *osThreadId_t;
typedef struct {
  void *stack_mem;
  uint32_t stack_size;
} osRtxThread_t;
osThreadId_t osThreadGetId(void);

#endif
