/*
 * kit hardware abstraction layer: the few things the firmware harness needs from a board.
 *
 * Why so small: every target (QEMU mps2, QEMU riscv virt, the native host build, and later
 * the Arduino cores) implements this file once in its own folder, so the harness and the
 * runtime stay identical on every board and the numbers they report stay comparable.
 */
#ifndef KIT_HAL_H
#define KIT_HAL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Set up clocks, console serial and the tick timer. Called once, first thing in main. */
void kit_hal_init(void);

/* Write one byte to the console serial (blocks while the transmitter is full). */
void kit_hal_putc(char c);

/* Push buffered console output out (end of every reply line). */
void kit_hal_flush(void);

/* Read one byte from the console serial without waiting: 0..255, or -1 when none waits.
 * (The native host build blocks instead and ends the program at the end of its input.) */
int kit_hal_getc(void);

/* Free-running 64-bit tick counter; never wraps in practice. */
uint64_t kit_hal_ticks(void);

/* Start a measurement on a tick boundary that depends only on the instructions executed so
 * far: timers coarser than one instruction (SysTick = 40 instructions per tick on QEMU) would
 * otherwise start each measurement at a random phase and differ by one tick run to run.
 * kit_hal_ticks stays monotonic. A no-op where the counter counts single cycles. */
void kit_hal_timer_sync(void);

/* Rate of kit_hal_ticks in Hz. */
uint32_t kit_hal_timer_hz(void);

/* CPU clock in Hz (on QEMU with -icount shift=0: 1e9, one instruction per ns). */
uint32_t kit_hal_clock_hz(void);

/* Short name of the HAL target, e.g. "qemu-mps2-an386". */
const char *kit_hal_target_name(void);

/* Bounds of the main stack [*low, *high) for stack painting; returns 0 when unknown. */
int kit_hal_stack_bounds(uintptr_t *low, uintptr_t *high);

/* Nonzero when kit_hal_exit can end the program (emulators, host build). */
int kit_hal_can_exit(void);

/* End the program with `code` (emulators: QEMU exits with it). Returns if unsupported. */
void kit_hal_exit(int code);

/* Read up to `length` bytes of the file `path` on the computer that runs this board
 * (emulators: semihosting; the host build: its own file system) into `buffer`. Returns the
 * bytes read, or -1 when the file cannot be read or the board has no such channel (real
 * boards). `path` NULL only asks whether the channel exists (0 = yes). Why: a twin's
 * emulated UART carries ~5,500 characters a second, so a 27 KB camera frame takes seconds
 * as text; read from the host it takes microseconds. */
int32_t kit_hal_host_read(const char *path, uint8_t *buffer, uint32_t length);

/* The timestamp output (MLPerf Tiny energy mode): pull the board file's [power]
 * timestamp_pin (-DKIT_TIMESTAMP_PIN) low for at least 1 us and release it. The harness calls
 * it at the start and at the end of every timed inference, so a power meter whose trigger
 * input is wired to the pin sees each inference window on its own clock. No-op where no pin
 * is wired; the twins count the pulses (their modelled meter draws the edges itself). */
void kit_hal_timestamp(void);

/* One I2C transaction with the 7-bit `address`: write `tx_length` bytes of `tx` (none: a
 * read only), then, with a repeated start, read `rx_length` bytes into `rx` (none: a write
 * only). Returns 0, or -1 when nothing acknowledges or the board has no I2C bus for kit
 * (the board file's [power] names none). Used for the on-board current sensor (INA219 /
 * INA226); the twins answer with a virtual sensor (kit_virtual_ina.h). */
int kit_hal_i2c_transfer(uint8_t address, const uint8_t *tx, uint32_t tx_length, uint8_t *rx,
                         uint32_t rx_length);

/* ---- Sensors (the lab loop: sensor -> features -> model -> answer, and kit-capture) ----
 * Which sensors a board has is its board file's `sensors` list; kit.build passes
 * -DKIT_HAVE_MICROPHONE / -DKIT_HAVE_IMU / -DKIT_HAVE_CAMERA (with the part, e.g.
 * -DKIT_IMU_LSM6DSOX) so each HAL compiles only the drivers its board carries. On the twins
 * the sensors are virtual: they read a recording the host provides (semihosting), paced at
 * the sensor's rate in virtual time, so a twin runs exactly the loop a board runs. */
#define KIT_SENSOR_MICROPHONE 1
#define KIT_SENSOR_IMU 2
#define KIT_SENSOR_CAMERA 3

/* What a sensor delivers. Microphone: int16 mono PCM at rate_hz. IMU: float32 values per
 * sample, ax ay az (g) then gx gy gz (dps): `channels` of them (3 = accelerometer only, 6 =
 * with gyroscope), rate_hz samples a second. Camera: one uint8 frame [height][width][channels]
 * (1 = grayscale, 3 = RGB888) per read. */
typedef struct kit_sensor_format {
    uint32_t rate_hz;
    uint16_t width;
    uint16_t height;
    uint8_t channels;
} kit_sensor_format;

/* Start `sensor` (KIT_SENSOR_*) with `format`. `source` names a recording on the computer
 * that runs a twin (NULL on real boards, which read their own sensor). Returns 0, or -1 when
 * the board has no such sensor or it does not answer; kit_hal_sensor_error() says why. */
int kit_hal_sensor_start(int sensor, const kit_sensor_format *format, const char *source);

/* Read the next samples: up to `max_bytes` (whole samples; a camera: one whole frame, so
 * max_bytes >= width*height*channels). Blocks until at least one sample is ready (a frame:
 * until it is). Returns the bytes read, 0 when a twin's recording has ended, -1 on error.
 * Samples that arrived while nobody read are kept in the driver's buffer; when it overflowed,
 * kit_hal_sensor_dropped() counts the samples lost since start. */
int32_t kit_hal_sensor_read(int sensor, uint8_t *buffer, uint32_t max_bytes);

/* Samples (frames for a camera) lost to a full driver buffer since kit_hal_sensor_start. */
uint32_t kit_hal_sensor_dropped(int sensor);

/* Stop `sensor` (no-op when it is not running). */
void kit_hal_sensor_stop(int sensor);

/* Short text of the last sensor error (never NULL; "" when none). */
const char *kit_hal_sensor_error(void);

/* The user LED (the board file's [firmware.led]): per-label actions of `kit run`. No-op where
 * the board has none (twins count the changes). */
void kit_hal_led(int on);

#ifdef __cplusplus
}
#endif

#endif /* KIT_HAL_H */
