/* STAND-IN for Arduino_BMI270_BMM150 1.1.1 (src/BoschSensorClass.h), tests only: the class with
 * the real signatures kit uses (not the Bosch Sensor API types) and the IMU macro; begin() = 1,
 * 100 Hz, a sample always ready. */
#ifndef KIT_STUB_ARDUINO_BMI270_BMM150_H
#define KIT_STUB_ARDUINO_BMI270_BMM150_H

#include <Arduino.h>
#include <Wire.h>

class BoschSensorClass {
 public:
  BoschSensorClass(TwoWire &wire = Wire);
  ~BoschSensorClass() {}

  void setContinuousMode();
  void oneShotMode();

  int begin();
  void end();

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

extern BoschSensorClass IMU_BMI270_BMM150;
#undef IMU
#define IMU IMU_BMI270_BMM150

#endif
