/* STAND-IN for the Arduino mbed core's GC2145 library (libraries/GC2145/gc2145.h), tests only. */
#ifndef KIT_STUB_GC2145_H
#define KIT_STUB_GC2145_H

#include "camera.h"

namespace arduino {
class MbedI2C {};
}
extern arduino::MbedI2C CameraWire;

class GC2145 : public ImageSensor {
 public:
  GC2145(arduino::MbedI2C &i2c = CameraWire);
  int init();
  int reset();
  int getID() { return GC2145_I2C_ADDR; }
  bool getMono() { return false; }
  uint32_t getClockFrequency() { return 12000000; }
  int setFrameRate(int32_t framerate);
  int setResolution(int32_t resolution);
  int setPixelFormat(int32_t pixformat);
};

#endif
