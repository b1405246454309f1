#include "kit_power.h"

#include "kit_hal.h"

#define INA_CONFIG 0x00u
#define INA_SHUNT 0x01u
#define INA_BUS 0x02u
#define INA226_MANUFACTURER 0xFEu
#define INA226_TI 0x5449u

/* INA219: 32 V bus range, shunt gain /8 (+-320 mV), 12-bit shunt and bus, continuous. */
#define INA219_CONFIG 0x399Fu
/* INA226: no averaging, 140 us bus and shunt conversions, continuous: fast enough to follow ops. */
#define INA226_CONFIG 0x4007u

const char *kit_power_sensor_name(void)
{
#if KIT_POWER_SENSOR == 1
    return "ina219";
#elif KIT_POWER_SENSOR == 2
    return "ina226";
#else
    return "none";
#endif
}

#if KIT_POWER_SENSOR != 0
static int write_register(uint8_t reg, uint16_t value)
{
    uint8_t bytes[3];
    bytes[0] = reg;
    bytes[1] = (uint8_t)(value >> 8);
    bytes[2] = (uint8_t)(value & 0xFFu);
    return kit_hal_i2c_transfer((uint8_t)KIT_POWER_I2C_ADDR, bytes, 3u, 0, 0u);
}

static int read_register(uint8_t reg, uint16_t *value)
{
    uint8_t bytes[2];
    if (kit_hal_i2c_transfer((uint8_t)KIT_POWER_I2C_ADDR, &reg, 1u, bytes, 2u) != 0) {
        return -1;
    }
    *value = (uint16_t)(((uint16_t)bytes[0] << 8) | bytes[1]);
    return 0;
}

#endif

int kit_power_init(void)
{
#if KIT_POWER_SENSOR == 1
    uint16_t config;
    if (write_register(INA_CONFIG, INA219_CONFIG) != 0 || read_register(INA_CONFIG, &config) != 0) {
        return -1;
    }
    return config == INA219_CONFIG ? 0 : -1;
#elif KIT_POWER_SENSOR == 2
    uint16_t id;
    if (read_register(INA226_MANUFACTURER, &id) != 0 || id != INA226_TI) {
        return -1;
    }
    return write_register(INA_CONFIG, INA226_CONFIG);
#else
    return -1;
#endif
}

int kit_power_read(int32_t *current_ua, uint32_t *bus_mv)
{
#if KIT_POWER_SENSOR == 0
    (void)current_ua;
    (void)bus_mv;
    return -1;
#else
    uint16_t shunt;
    uint16_t bus;
    int64_t shunt_nv;
    if (read_register(INA_SHUNT, &shunt) != 0 || read_register(INA_BUS, &bus) != 0) {
        return -1;
    }
#if KIT_POWER_SENSOR == 1
    shunt_nv = (int64_t)(int16_t)shunt * 10000;  /* 10 uV per LSB */
    *bus_mv = (uint32_t)(bus >> 3) * 4u;         /* 4 mV per LSB in bits 15..3 */
#else
    shunt_nv = (int64_t)(int16_t)shunt * 2500;   /* 2.5 uV per LSB */
    *bus_mv = (uint32_t)bus * 125u / 100u;       /* 1.25 mV per LSB */
#endif
    /* I = V / R: nV / mOhm = uA */
    *current_ua = (int32_t)(shunt_nv / (int64_t)KIT_POWER_SHUNT_MOHM);
    return 0;
#endif
}

uint64_t kit_power_energy_nj(const kit_power_sample_t *samples, uint32_t count, uint32_t timer_hz)
{
    /* sum of (P_a + P_b) * dt over the intervals, in uW x ticks (x2), then / (2 hz) * 1000 */
    uint64_t twice_uw_ticks = 0u;
    uint32_t i;
    for (i = 1; i < count; i++) {
        int64_t pa = (int64_t)samples[i - 1u].current_ua * (int64_t)samples[i - 1u].bus_mv / 1000;
        int64_t pb = (int64_t)samples[i].current_ua * (int64_t)samples[i].bus_mv / 1000;
        int64_t sum = pa + pb;
        uint32_t dt = samples[i].dt_ticks - samples[i - 1u].dt_ticks;
        if (sum > 0) {
            twice_uw_ticks += (uint64_t)sum * dt;
        }
    }
    /* nJ = uW * s * 1000 = uW * ticks / hz * 1000 */
    return (twice_uw_ticks / (2u * (uint64_t)timer_hz)) * 1000u +
           ((twice_uw_ticks % (2u * (uint64_t)timer_hz)) * 1000u) / (2u * (uint64_t)timer_hz);
}
