/* STAND-IN for the Arduino mbed core's PDM library (libraries/PDM/src/PDM.h), tests only: the
 * class with the real signatures. The stand-in microphone (sensor_stub.inc) calls the receive
 * callback from delay(), as the real PDM interrupt would fire while the sketch waits, with a
 * 16-bit ramp at the rate begin() was given. */
#ifndef KIT_STUB_PDM_H
#define KIT_STUB_PDM_H

#include <stddef.h>

class PDMClass {
 public:
  PDMClass(int dinPin, int clkPin, int pwrPin);
  virtual ~PDMClass();

  int begin(int channels, int sampleRate);
  void end();

  virtual int available();
  virtual int read(void *buffer, size_t size);

  void onReceive(void (*)(void));

  void setGain(int gain);
  void setBufferSize(int bufferSize);
  size_t getBufferSize();
};

extern PDMClass PDM;

#endif
