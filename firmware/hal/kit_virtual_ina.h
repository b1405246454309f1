/*
 * A VIRTUAL INA219 / INA226 current sensor for the emulated boards (header-only: the QEMU
 * HALs include it; no real board does). It answers I2C transfers at KIT_POWER_I2C_ADDR like
 * the part named by KIT_POWER_SENSOR (1 = INA219, 2 = INA226): the register pointer, the
 * configuration and calibration registers, the INA226's ID registers, and shunt and bus
 * voltage registers that follow a KNOWN current profile of time, so a test can check the
 * firmware's energy per inference against the profile's integral:
 *
 *   current(t) = MIN + (MAX - MIN) * triangle(t / PERIOD)   (triangle: 0 -> 1 -> 0 per period)
 *   bus voltage = KIT_VIRTUAL_BUS_MV, shunt = KIT_POWER_SHUNT_MOHM
 *
 * t is kit_hal_ticks() / kit_hal_timer_hz() (QEMU virtual time). The registers are quantised
 * exactly as the parts quantise them (INA219: shunt 10 uV, bus 4 mV in bits 15..3; INA226:
 * shunt 2.5 uV, bus 1.25 mV), so the firmware's conversions are tested, not bypassed.
 * kit.device.meters.onboard.virtual_profile_uj is the same profile on the host.
 */
#ifndef KIT_VIRTUAL_INA_H
#define KIT_VIRTUAL_INA_H

#include <stdint.h>

#include "kit_hal.h"

#ifndef KIT_VIRTUAL_MIN_UA
#define KIT_VIRTUAL_MIN_UA 5000u      /* 5 mA */
#endif
#ifndef KIT_VIRTUAL_MAX_UA
#define KIT_VIRTUAL_MAX_UA 25000u     /* 25 mA */
#endif
#ifndef KIT_VIRTUAL_PERIOD_US
#define KIT_VIRTUAL_PERIOD_US 100000u /* 100 ms */
#endif
#ifndef KIT_VIRTUAL_BUS_MV
#define KIT_VIRTUAL_BUS_MV 3300u
#endif

#if defined(KIT_POWER_SENSOR) && KIT_POWER_SENSOR != 0

static uint8_t kit_virtual_pointer;
static uint16_t kit_virtual_config;
static uint16_t kit_virtual_calibration;

/* The profile's current at `ticks`, in nA (an exact integer function of time). */
static uint64_t kit_virtual_current_na(uint64_t ticks)
{
    uint64_t hz = kit_hal_timer_hz();
    uint64_t us = (ticks / hz) * 1000000u + ((ticks % hz) * 1000000u) / hz;
    uint64_t phase = us % KIT_VIRTUAL_PERIOD_US;
    uint64_t half = KIT_VIRTUAL_PERIOD_US / 2u;
    uint64_t rise = phase < half ? phase : KIT_VIRTUAL_PERIOD_US - phase; /* 0..half */
    uint64_t span_na = (uint64_t)(KIT_VIRTUAL_MAX_UA - KIT_VIRTUAL_MIN_UA) * 1000u;
    return (uint64_t)KIT_VIRTUAL_MIN_UA * 1000u + span_na * rise / half;
}

static uint16_t kit_virtual_register(uint8_t pointer)
{
    /* shunt voltage in nV = current (nA) * shunt (mOhm) / 1000 */
    uint64_t shunt_nv = kit_virtual_current_na(kit_hal_ticks()) * (uint64_t)KIT_POWER_SHUNT_MOHM / 1000u;
#if KIT_POWER_SENSOR == 1
    switch (pointer) {
    case 0x00u: return kit_virtual_config;
    case 0x01u: return (uint16_t)((shunt_nv + 5000u) / 10000u);              /* 10 uV */
    case 0x02u: return (uint16_t)(((KIT_VIRTUAL_BUS_MV / 4u) << 3) | 0x2u); /* 4 mV, CNVR */
    case 0x05u: return kit_virtual_calibration;
    default: return 0u;
    }
#else
    switch (pointer) {
    case 0x00u: return kit_virtual_config;
    case 0x01u: return (uint16_t)((shunt_nv + 1250u) / 2500u);              /* 2.5 uV */
    case 0x02u: return (uint16_t)(KIT_VIRTUAL_BUS_MV * 1000u / 1250u);     /* 1.25 mV */
    case 0x05u: return kit_virtual_calibration;
    case 0xFEu: return 0x5449u; /* "TI" */
    case 0xFFu: return 0x2260u;
    default: return 0u;
    }
#endif
}

static int kit_virtual_ina_transfer(uint8_t address, const uint8_t *tx, uint32_t tx_length, uint8_t *rx,
                                    uint32_t rx_length)
{
    uint32_t i;
    if (address != KIT_POWER_I2C_ADDR) {
        return -1; /* nobody acknowledges */
    }
    if (tx_length >= 1u) {
        kit_virtual_pointer = tx[0];
    }
    if (tx_length >= 3u) {
        uint16_t value = (uint16_t)(((uint16_t)tx[1] << 8) | tx[2]);
        if (kit_virtual_pointer == 0x00u) {
            kit_virtual_config = value;
        } else if (kit_virtual_pointer == 0x05u) {
            kit_virtual_calibration = value;
        }
    }
    for (i = 0; i < rx_length; i += 2u) {
        uint16_t value = kit_virtual_register(kit_virtual_pointer);
        rx[i] = (uint8_t)(value >> 8);
        if (i + 1u < rx_length) {
            rx[i + 1u] = (uint8_t)(value & 0xFFu);
        }
    }
    return 0;
}

#else

static int kit_virtual_ina_transfer(uint8_t address, const uint8_t *tx, uint32_t tx_length, uint8_t *rx,
                                    uint32_t rx_length)
{
    (void)address;
    (void)tx;
    (void)tx_length;
    (void)rx;
    (void)rx_length;
    return -1; /* the board file names no sensor: no bus */
}

#endif /* KIT_POWER_SENSOR */

#endif /* KIT_VIRTUAL_INA_H */
