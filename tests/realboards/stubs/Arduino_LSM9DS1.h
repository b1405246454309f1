/* STAND-IN for Arduino_LSM9DS1 1.1.1 (src/LSM9DS1.h), tests only: the class with the real
 * signatures and the IMU macro; begin() = 1, 119 Hz, a sample always ready. */
#ifndef KIT_STUB_ARDUINO_LSM9DS1_H
#define KIT_STUB_ARDUINO_LSM9DS1_H

#include <Arduino.h>
#include <Wire.h>

class LSM9DS1Class {
 public:
  LSM9DS1Class(TwoWire &wire);
  virtual ~LSM9DS1Class();

  int begin();
  void end();

  void setContinuousMode();
  void setOneShotMode();

  virtual int readAcceleration(float &x, float &y, float &z);
  virtual int accelerationAvailable();
  virtual float accelerationSampleRate();

  virtual int readGyroscope(float &x, float &y, float &z);
  virtual int gyroscopeAvailable();
  virtual float gyroscopeSampleRate();

  virtual int readMagneticField(float &x, float &y, float &z);
  virtual int magneticFieldAvailable();
  virtual float magneticFieldSampleRate();
};

extern LSM9DS1Class IMU_LSM9DS1;
#undef IMU
#define IMU IMU_LSM9DS1

#endif
