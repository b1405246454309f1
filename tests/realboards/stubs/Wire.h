/* STAND-IN for the Arduino core's Wire (I2C) library, for tests only. TFLM's Arduino libraries
 * include it; kit's Arduino HAL uses it for the on-board current sensor. On the bus sits a
 * STAND-IN INA219 or INA226 (the part -DKIT_POWER_SENSOR names) at KIT_POWER_I2C_ADDR that
 * reads a constant KIT_STUB_INA_UA microamps at KIT_STUB_INA_MV millivolts, quantised as the
 * part quantises (arduino_stub.cpp), so the firmware's register reads and conversions run. */
#ifndef KIT_STUB_WIRE_H
#define KIT_STUB_WIRE_H

#include <stddef.h>
#include <stdint.h>

class StubWire {
 public:
  void begin();
  void begin(int sda, int scl);
  void beginTransmission(uint8_t address);
  size_t write(uint8_t byte);
  uint8_t endTransmission(bool stop = true);
  uint8_t requestFrom(uint8_t address, uint8_t count);
  int available();
  int read();
};

extern StubWire Wire;
/* The cores' I2C class name (Arduino's sensor libraries take a TwoWire&). */
typedef StubWire TwoWire;

#endif
