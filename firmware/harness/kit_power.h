/*
 * The on-board current sensor (INA219 or INA226 on the board's I2C bus, the board file's
 * [power] table): configure it, read current and bus voltage, integrate energy. The harness
 * samples it at the start and end of each `kit-power` run and around every op, and streams
 * the samples with the run's energy (docs/PROTOCOL.md, kit-power).
 *
 * Build settings (kit.build writes them from the board file): KIT_POWER_SENSOR (0 none,
 * 1 INA219, 2 INA226), KIT_POWER_I2C_ADDR (7-bit), KIT_POWER_SHUNT_MOHM (the shunt in milliohm).
 */
#ifndef KIT_POWER_H
#define KIT_POWER_H

#include <stdint.h>

#ifndef KIT_POWER_SENSOR
#define KIT_POWER_SENSOR 0
#endif
#ifndef KIT_POWER_I2C_ADDR
#define KIT_POWER_I2C_ADDR 0x40
#endif
#ifndef KIT_POWER_SHUNT_MOHM
#define KIT_POWER_SHUNT_MOHM 100
#endif
/* Samples one run keeps (start, end, and before/after each op): the rest are dropped and counted. */
#ifndef KIT_POWER_MAX_SAMPLES
#define KIT_POWER_MAX_SAMPLES 600u
#endif

typedef struct {
    uint32_t dt_ticks;  /* since the run's start */
    int32_t current_ua;
    uint32_t bus_mv;
} kit_power_sample_t;

/* "ina219", "ina226" or "none". */
const char *kit_power_sensor_name(void);

/* Configure the sensor: 0, or -1 when it does not answer (or none is built in). */
int kit_power_init(void);

/* One reading: 0, or -1 on an I2C failure. */
int kit_power_read(int32_t *current_ua, uint32_t *bus_mv);

/* Energy in nJ of samples (trapezoid between samples; power = current x bus voltage). */
uint64_t kit_power_energy_nj(const kit_power_sample_t *samples, uint32_t count, uint32_t timer_hz);

#endif /* KIT_POWER_H */
