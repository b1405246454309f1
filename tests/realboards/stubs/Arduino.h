/*
 * STAND-IN for the Arduino core API, for tests only (no Arduino core exists offline here).
 * Just what kit's Arduino HALs use: Serial and Serial1 (over this process's stdin/stdout, so the test
 * can drive the firmware natively), millis/micros/delay(Microseconds), pinMode/digitalWrite, LED_BUILTIN,
 * and the two ESP32 core functions. LED changes are logged on stderr ("led=0/1") so a test
 * can check the busy LED. Implemented in arduino_stub.cpp; C++11 like the older cores.
 */
#ifndef KIT_STUB_ARDUINO_H
#define KIT_STUB_ARDUINO_H

#include <stddef.h>
#include <stdint.h>

#define HIGH 0x1
#define LOW 0x0
#define OUTPUT 0x1
#define LED_BUILTIN 13
/* Header pin names the board files' [power] tables use (the cores define them per variant). */
#define D2 2
#define D3 3
#define D4 4
#define D5 5
#define D7 7
#define A4 18
#define A5 19

/* arduino-esp32's UART frame setting and the variant's UART pins (HardwareSerial::begin). */
#define SERIAL_8N1 0x800001cu
static const uint8_t RX = 44;
static const uint8_t TX = 43;

/* Every port is this process's stdin/stdout; each logs its begin() on stderr
 * ("serial begin baud=N", "serial1 begin baud=N rx=R tx=T") so a test sees which one the
 * firmware opened (the USB CDC console, or the UART of MLPerf Tiny's energy mode). */
class StubSerial {
 public:
  explicit StubSerial(const char *name) : _name(name) {}
  void begin(unsigned long baud);
  void begin(unsigned long baud, uint32_t config, int8_t rx, int8_t tx);
  explicit operator bool() const;
  int available();
  int read();
  size_t write(uint8_t byte);
  size_t write(const uint8_t *data, size_t length);
  void flush();

 private:
  const char *_name;
};

extern StubSerial Serial;
extern StubSerial Serial1;

/* The part of the Arduino Stream class kit's drivers call (ESP_I2S's I2SClass is a Stream). */
class Stream {
 public:
  void setTimeout(unsigned long timeout) { _timeout = timeout; }
 protected:
  unsigned long _timeout = 1000;
};

unsigned long millis(void);
unsigned long micros(void);
void delay(unsigned long ms);
void pinMode(uint8_t pin, uint8_t mode);
void digitalWrite(uint8_t pin, uint8_t value);
void delayMicroseconds(unsigned int us);

/* arduino-esp32 only */
uint32_t getCpuFrequencyMhz(void);
size_t getArduinoLoopTaskStackSize(void);

/* The sketch's entry points (the core's main() calls them). */
void setup(void);
void loop(void);

#endif
