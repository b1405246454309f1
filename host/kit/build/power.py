"""The board file's [power] table as firmware defines (both kinds of build use them).

KIT_POWER_SENSOR (0 none, 1 INA219, 2 INA226), KIT_POWER_I2C_ADDR, KIT_POWER_SHUNT_MOHM for
the on-board current sensor (firmware/harness/kit_power.c; KIT_VIRTUAL_BUS_MV, the supply, is
the bus voltage a twin's virtual sensor reports), KIT_I2C_SDA/KIT_I2C_SCL where
the board names its I2C pins, and KIT_TIMESTAMP_PIN for the energy-mode timestamp output
(kit_hal_timestamp), and KIT_ENERGY_MODE/KIT_ENERGY_BAUD for the MLPerf Tiny runner's
energy mode (docs/PROTOCOL.md). A twin gets the REAL board's table: its virtual sensor answers as the
real board's part, at its address, with its shunt.
"""

from __future__ import annotations

from kit.catalog import Board

SENSOR_CODES = {None: 0, "ina219": 1, "ina226": 2}


def power_flags(board: Board) -> list[str]:
    power = board.power
    flags = [f"-DKIT_POWER_SENSOR={SENSOR_CODES[power.sensor]}"]
    if power.sensor is not None:
        flags += [f"-DKIT_POWER_I2C_ADDR=0x{power.i2c_address:02x}",
                  f"-DKIT_POWER_SHUNT_MOHM={round(power.shunt_ohms * 1000)}",
                  f"-DKIT_VIRTUAL_BUS_MV={round(power.supply_v * 1000)}"]  # the twin's virtual sensor
    if power.i2c_sda and power.i2c_scl:
        flags += [f"-DKIT_I2C_SDA={power.i2c_sda}", f"-DKIT_I2C_SCL={power.i2c_scl}"]
    if power.timestamp_pin:
        flags += [f"-DKIT_TIMESTAMP_PIN={power.timestamp_pin}", f"-DKIT_TIMESTAMP_US={power.timestamp_us}"]
    if power.energy_mode:
        flags += ["-DKIT_ENERGY_MODE=1", f"-DKIT_ENERGY_BAUD={power.energy_baud}"]
    return flags
