/* STAND-IN for the arduino-esp32 3.x core's ESP_I2S library (libraries/ESP_I2S/src/ESP_I2S.h)
 * and the ESP-IDF I2S enums it uses, tests only: the I2SClass calls kit makes, with the real
 * signatures. The stand-in microphone returns a 16-bit ramp at the rate begin() was given. */
#ifndef KIT_STUB_ESP_I2S_H
#define KIT_STUB_ESP_I2S_H

#include <stddef.h>
#include <stdint.h>

#include "Arduino.h"

/* ESP-IDF driver/i2s_types.h */
typedef enum {
  I2S_DATA_BIT_WIDTH_8BIT = 8,
  I2S_DATA_BIT_WIDTH_16BIT = 16,
  I2S_DATA_BIT_WIDTH_24BIT = 24,
  I2S_DATA_BIT_WIDTH_32BIT = 32,
} i2s_data_bit_width_t;

typedef enum {
  I2S_SLOT_MODE_MONO = 1,
  I2S_SLOT_MODE_STEREO = 2,
} i2s_slot_mode_t;

typedef enum {
  I2S_MODE_STD,
  I2S_MODE_TDM,
  I2S_MODE_PDM_TX,
  I2S_MODE_PDM_RX,
  I2S_MODE_MAX
} i2s_mode_t;

class I2SClass : public Stream {
 public:
  I2SClass();
  ~I2SClass();

  void setPinsPdmRx(int8_t clk, int8_t din0, int8_t din1 = -1, int8_t din2 = -1, int8_t din3 = -1);
  bool begin(i2s_mode_t mode, uint32_t rate, i2s_data_bit_width_t bits_cfg, i2s_slot_mode_t ch, int8_t slot_mask = -1);
  bool end();

  size_t readBytes(char *buffer, size_t size);
  int lastError();
  int available();
};

#endif
