/* STAND-IN for Arduino_LSM6DSOX 1.1.0 (src/LSM6DSOX.h), tests only: the class with the real
 * signatures; begin() = 1, 104 Hz, a sample always ready (accelerometer 0 0 1 g, gyroscope 0). */
#ifndef KIT_STUB_ARDUINO_LSM6DSOX_H
#define KIT_STUB_ARDUINO_LSM6DSOX_H

#include <Arduino.h>
#include <SPI.h>
#include <Wire.h>

class LSM6DSOXClass {
 public:
  LSM6DSOXClass(TwoWire &wire, uint8_t slaveAddress);
  LSM6DSOXClass(SPIClass &spi, int csPin, int irqPin);
  ~LSM6DSOXClass();

  int begin();
  void end();

  int readAcceleration(float &x, float &y, float &z);
  float accelerationSampleRate();
  int accelerationAvailable();

  int readGyroscope(float &x, float &y, float &z);
  float gyroscopeSampleRate();
  int gyroscopeAvailable();

  int readTemperature(int &temperature_deg);
  int temperatureAvailable();
};

extern LSM6DSOXClass IMU;

#endif
