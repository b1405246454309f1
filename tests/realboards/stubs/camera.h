/* STAND-IN for the Arduino mbed core's Camera library (libraries/Camera/src/camera.h), tests
 * only: the enums, FrameBuffer, ImageSensor and Camera with the real signatures kit uses. The
 * stand-in camera fills the frame buffer with a known RGB565 pattern (sensor_stub.inc). */
#ifndef KIT_STUB_CAMERA_H
#define KIT_STUB_CAMERA_H

#include <stdint.h>

#include "Wire.h"

#define GC2145_I2C_ADDR (0x3C)

enum {
  CAMERA_GRAYSCALE = 0,
  CAMERA_BAYER = 1,
  CAMERA_RGB565 = 2,
  CAMERA_PMAX
};

enum {
  CAMERA_R160x120 = 0,
  CAMERA_R320x240 = 1,
  CAMERA_R320x320 = 2,
  CAMERA_R640x480 = 3,
  CAMERA_R800x600 = 5,
  CAMERA_R1600x1200 = 6,
  CAMERA_RMAX
};

typedef void (*md_callback_t)();

class FrameBuffer {
 private:
  int32_t _fb_size;
  uint8_t *_fb;
  bool _isAllocated;

 public:
  FrameBuffer(int32_t x, int32_t y, int32_t bpp);
  FrameBuffer(int32_t address);
  FrameBuffer();
  uint32_t getBufferSize();
  uint8_t *getBuffer();
  void setBuffer(uint8_t *buffer);
  bool hasFixedSize();
  bool isAllocated();
};

class ImageSensor {
 public:
  virtual ~ImageSensor() {}
  virtual int init() = 0;
  virtual int reset() = 0;
  virtual int getID() = 0;
  virtual bool getMono() = 0;
  virtual uint32_t getClockFrequency() = 0;
  virtual int setFrameRate(int32_t framerate) = 0;
  virtual int setResolution(int32_t resolution) = 0;
  virtual int setPixelFormat(int32_t pixelformat) = 0;
};

class Camera {
 private:
  int32_t pixformat;
  int32_t resolution;
  ImageSensor *sensor;

 public:
  Camera(ImageSensor &sensor);
  bool begin(int32_t resolution = CAMERA_R320x240, int32_t pixformat = CAMERA_GRAYSCALE, int32_t framerate = 30);
  int getID();
  int setFrameRate(int32_t framerate);
  int setResolution(int32_t resolution);
  int setPixelFormat(int32_t pixelformat);
  int setStandby(bool enable);
  int frameSize();
  int grabFrame(FrameBuffer &fb, uint32_t timeout = 5000);
  uint32_t getResolutionWidth();
  uint32_t getResolutionHeight();
};

#endif
