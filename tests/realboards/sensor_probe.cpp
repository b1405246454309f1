/*
 * A test sketch for kit's Arduino sensor HAL (tests only), linked natively with the HAL's
 * sensor files and the stand-ins: runs each sensor the build has through kit_hal.h and prints
 * one line per check for test_sensor_hal.py (key=value words; pixel bytes in hex).
 */
#include <Arduino.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit_hal.h"
#include "kit_hal_arduino.h"

static uint8_t buffer[96u * 96u * 3u];

extern "C" void kit_hal_arduino_busy(int busy) { fprintf(stderr, "led=%d\n", busy); }

static void report_start(const char *name, int sensor, const kit_sensor_format *format)
{
  int status = kit_hal_sensor_start(sensor, format, NULL);
  printf("%s start=%d error=%s\n", name, status, kit_hal_sensor_error());
}

static void probe_microphone(void)
{
  kit_sensor_format format = {16000u, 0u, 0u, 1u};
  int16_t samples[400];
  int32_t got = 0;
  long first = -1, breaks = 0, total = 0, previous = 0;
  report_start("microphone", KIT_SENSOR_MICROPHONE, &format);
  if (kit_hal_sensor_error()[0] != '\0') {
    return;
  }
  while (total < 3200) {
    got = kit_hal_sensor_read(KIT_SENSOR_MICROPHONE, (uint8_t *)samples, sizeof samples);
    if (got <= 0) {
      printf("microphone read=%ld error=%s\n", (long)got, kit_hal_sensor_error());
      return;
    }
    for (int32_t i = 0; i < got / 2; i++) {
      long value = (uint16_t)samples[i];
      if (first < 0) {
        first = value;
      } else if (value != ((previous + 1) & 0xFFFF)) {
        breaks++;
      }
      previous = value;
    }
    total += got / 2;
  }
  printf("microphone samples=%ld breaks=%ld dropped=%lu\n", total, breaks,
         (unsigned long)kit_hal_sensor_dropped(KIT_SENSOR_MICROPHONE));
  for (int i = 0; i < 12; i++) {
    delay(100); /* nobody reads for 1.2 s: more than the 0.5 s ring holds */
  }
  printf("microphone after_pause_dropped=%lu\n", (unsigned long)kit_hal_sensor_dropped(KIT_SENSOR_MICROPHONE));
  kit_hal_sensor_stop(KIT_SENSOR_MICROPHONE);
}

static void probe_imu(void)
{
  kit_sensor_format format = {50u, 0u, 0u, 6u};
  float values[6];
  report_start("imu", KIT_SENSOR_IMU, &format);
  if (kit_hal_sensor_error()[0] != '\0') {
    return;
  }
  for (int i = 0; i < 5; i++) {
    int32_t got = kit_hal_sensor_read(KIT_SENSOR_IMU, (uint8_t *)values, sizeof values);
    printf("imu read=%ld az=%.3f gx=%.3f\n", (long)got, (double)values[2], (double)values[3]);
  }
  delay(200); /* at 50 Hz, at least 9 sample slots pass unread */
  (void)kit_hal_sensor_read(KIT_SENSOR_IMU, (uint8_t *)values, sizeof values);
  printf("imu dropped=%lu\n", (unsigned long)kit_hal_sensor_dropped(KIT_SENSOR_IMU));
  kit_sensor_format too_fast = {2000u, 0u, 0u, 6u};
  report_start("imu_2000hz", KIT_SENSOR_IMU, &too_fast);
  kit_hal_sensor_stop(KIT_SENSOR_IMU);
}

static void probe_camera(uint8_t channels)
{
  kit_sensor_format format = {0u, 96u, 96u, channels};
  char name[16];
  snprintf(name, sizeof name, "camera%u", (unsigned)channels);
  report_start(name, KIT_SENSOR_CAMERA, &format);
  if (kit_hal_sensor_error()[0] != '\0') {
    return;
  }
  int32_t got = kit_hal_sensor_read(KIT_SENSOR_CAMERA, buffer, sizeof buffer);
  printf("%s read=%ld error=%s pixels=", name, (long)got, kit_hal_sensor_error());
  for (int32_t i = 0; i < got; i++) {
    printf("%02x", buffer[i]);
  }
  printf("\n");
  kit_hal_sensor_stop(KIT_SENSOR_CAMERA);
}

void setup(void)
{
  probe_microphone();
  probe_imu();
  probe_camera(1u);
  probe_camera(3u);
  kit_hal_led(1);
  fflush(stdout);
  exit(0);
}

void loop(void) {}
