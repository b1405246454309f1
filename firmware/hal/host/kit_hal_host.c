/*
 * Host HAL: the harness as a native program on stdin/stdout. Why: tests drive it over pipes
 * or a pty in milliseconds, and it is the reference the emulated boards are compared to.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kit_hal.h"

void kit_hal_init(void)
{
}

void kit_hal_putc(char c)
{
    putchar(c);
}

void kit_hal_flush(void)
{
    fflush(stdout);
}

/* Blocks until a byte arrives; the end of input ends the program (the peer went away). */
int kit_hal_getc(void)
{
    int byte = getchar();
    if (byte == EOF) {
        fflush(stdout);
        exit(0);
    }
    return byte & 0xFF;
}

uint64_t kit_hal_ticks(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

void kit_hal_timer_sync(void)
{
}

uint32_t kit_hal_timer_hz(void)
{
    return 1000000000u;
}

uint32_t kit_hal_clock_hz(void)
{
    return 1000000000u;
}

const char *kit_hal_target_name(void)
{
    return "host";
}

int kit_hal_stack_bounds(uintptr_t *low, uintptr_t *high)
{
    (void)low;
    (void)high;
    return 0;
}

int kit_hal_can_exit(void)
{
    return 1;
}

void kit_hal_exit(int code)
{
    fflush(stdout);
    exit(code);
}

int32_t kit_hal_host_read(const char *path, uint8_t *buffer, uint32_t length)
{
    FILE *file;
    size_t got;
    if (path == 0) {
        return 0;
    }
    file = fopen(path, "rb");
    if (file == 0) {
        return -1;
    }
    got = fread(buffer, 1u, length, file);
    fclose(file);
    return (int32_t)got;
}

void kit_hal_timestamp(void)
{
    /* the native build has no GPIO */
}

int kit_hal_i2c_transfer(uint8_t address, const uint8_t *tx, uint32_t tx_length, uint8_t *rx,
                         uint32_t rx_length)
{
    (void)address; /* and no I2C bus: kit-power answers "no power sensor" */
    (void)tx;
    (void)tx_length;
    (void)rx;
    (void)rx_length;
    return -1;
}

/* ---- Virtual sensors (kit_virtual_sensor.h) on the host's own files. The host build has no
 * emulator clock, so the sensors run on a simulated one that only a wait moves forward:
 * every sample is read in time (nothing is dropped) and a capture takes no real time. */
static FILE *host_files[4];
static uint64_t host_sensor_ns;

static int32_t kit_vs_open(const char *path)
{
    int32_t handle;
    for (handle = 0; handle < 4; handle++) {
        if (host_files[handle] == 0) {
            host_files[handle] = fopen(path, "rb");
            return host_files[handle] != 0 ? handle : -1;
        }
    }
    return -1;
}

static int32_t kit_vs_read(int32_t handle, uint8_t *buffer, uint32_t length)
{
    return (int32_t)fread(buffer, 1u, length, host_files[handle]);
}

static int32_t kit_vs_seek(int32_t handle, uint32_t position)
{
    return fseek(host_files[handle], (long)position, SEEK_SET) == 0 ? 0 : -1;
}

static int32_t kit_vs_length(int32_t handle)
{
    long length;
    if (fseek(host_files[handle], 0L, SEEK_END) != 0 || (length = ftell(host_files[handle])) < 0) {
        return -1;
    }
    return fseek(host_files[handle], 0L, SEEK_SET) == 0 ? (int32_t)length : -1;
}

static void kit_vs_close(int32_t handle)
{
    fclose(host_files[handle]);
    host_files[handle] = 0;
}

static uint64_t kit_vs_now_ns(void)
{
    return host_sensor_ns;
}

static void kit_vs_wait_until_ns(uint64_t deadline)
{
    if (deadline > host_sensor_ns) {
        host_sensor_ns = deadline;
    }
}

#include "kit_virtual_sensor.h"
