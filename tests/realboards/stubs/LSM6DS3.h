/* STAND-IN for Seeed Arduino LSM6DS3 v2.0.7 (LSM6DS3.h), tests only: the classes, settings and
 * status codes kit uses, with the real signatures. The stand-in part answers WHO_AM_I only at
 * 0x6A (KIT_STUB_LSM6DS3_ADDR) and reads 0 0 1 g, 0 dps. */
#ifndef KIT_STUB_LSM6DS3_H
#define KIT_STUB_LSM6DS3_H

#include "Arduino.h"
#include "stdint.h"

#define I2C_MODE 0
#define SPI_MODE 1

typedef enum {
  IMU_SUCCESS,
  IMU_HW_ERROR,
  IMU_NOT_SUPPORTED,
  IMU_GENERIC_ERROR,
  IMU_OUT_OF_BOUNDS,
  IMU_ALL_ONES_WARNING,
} status_t;

class LSM6DS3Core {
 public:
  LSM6DS3Core(uint8_t busType, uint8_t inputArg);
  ~LSM6DS3Core() = default;
  status_t beginCore(void);
  uint8_t commInterface;
  uint8_t I2CAddress;
};

struct SensorSettings {
 public:
  uint8_t gyroEnabled;
  uint16_t gyroRange;
  uint16_t gyroSampleRate;
  uint16_t gyroBandWidth;
  uint8_t gyroFifoEnabled;
  uint8_t gyroFifoDecimation;
  uint8_t accelEnabled;
  uint8_t accelODROff;
  uint16_t accelRange;
  uint16_t accelSampleRate;
  uint16_t accelBandWidth;
  uint8_t accelFifoEnabled;
  uint8_t accelFifoDecimation;
};

class LSM6DS3 : public LSM6DS3Core {
 public:
  SensorSettings settings;
  LSM6DS3(uint8_t busType = I2C_MODE, uint8_t inputArg = 0x6A);
  ~LSM6DS3() = default;
  status_t begin(void);
  float readFloatAccelX(void);
  float readFloatAccelY(void);
  float readFloatAccelZ(void);
  float readFloatGyroX(void);
  float readFloatGyroY(void);
  float readFloatGyroZ(void);
};

#endif
