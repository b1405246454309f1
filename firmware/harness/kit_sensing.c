/*
 * kit-capture and kit-run: the sensor half of the lab loop (kit_sensing.h, docs/PROTOCOL.md).
 */
#include "kit_sensing.h"

#include <string.h>

#include "kit_model.h" /* first: kit_config.h sizes the buffers from its macros */
#include "kit_runtime.h"

#include "kit_codec.h"
#include "kit_config.h"
#include "kit_hal.h"
#include "kit_out.h"

#ifdef KIT_HAVE_LAB
#include "kit_features.h"
#include "kit_lab.h"
#endif

#if defined(KIT_HAVE_MICROPHONE) || defined(KIT_HAVE_IMU) || defined(KIT_HAVE_CAMERA)
#define KIT_HAVE_SENSORS 1 /* the HAL implements the sensor calls; without it they are not linked */
#endif

#define KIT_SENSOR_SLOTS 4
#define KIT_ECHO_CHARS 20u

/* A camera frame is read whole before it is sent: the largest frame kit-capture takes. */
#ifndef KIT_CAPTURE_FRAME_BYTES
#ifdef KIT_HAVE_CAMERA
#define KIT_CAPTURE_FRAME_BYTES (96u * 96u * 3u)
#else
#define KIT_CAPTURE_FRAME_BYTES 0u
#endif
#endif

static const char *const sensor_names[KIT_SENSOR_SLOTS] = {"", "microphone", "imu", "camera"};

#ifdef KIT_HAVE_SENSORS
static uint8_t payload[KIT_FRAME_PAYLOAD_MAX];
#if KIT_CAPTURE_FRAME_BYTES > 0
static uint8_t capture_frame[KIT_CAPTURE_FRAME_BYTES];
#endif
static uint32_t frame_sequence;
#endif

/* ------------------------------------------------------------------ helpers */

static void reply_ready(void)
{
    kit_out_line("m-ready");
}

static void reply_error(const char *message)
{
    kit_out_error(message);
    reply_ready();
}

static int sensor_compiled_in(int sensor)
{
    switch (sensor) {
#ifdef KIT_HAVE_MICROPHONE
    case KIT_SENSOR_MICROPHONE:
        return 1;
#endif
#ifdef KIT_HAVE_IMU
    case KIT_SENSOR_IMU:
        return 1;
#endif
#ifdef KIT_HAVE_CAMERA
    case KIT_SENSOR_CAMERA:
        return 1;
#endif
    default:
        return 0;
    }
}

/* "microphone" / "mic", "imu", "camera" -> KIT_SENSOR_*, 0 when unknown. */
static int sensor_by_name(const char *name)
{
    if (strcmp(name, "mic") == 0) {
        return KIT_SENSOR_MICROPHONE;
    }
    if (strcmp(name, "microphone") == 0) {
        return KIT_SENSOR_MICROPHONE;
    }
    if (strcmp(name, "imu") == 0) {
        return KIT_SENSOR_IMU;
    }
    if (strcmp(name, "camera") == 0) {
        return KIT_SENSOR_CAMERA;
    }
    return 0;
}

/* "microphone,imu" (or "none"): the sensors this firmware was built with. */
static void print_sensor_list(void)
{
    int sensor;
    int printed = 0;
    for (sensor = KIT_SENSOR_MICROPHONE; sensor <= KIT_SENSOR_CAMERA; sensor++) {
        if (sensor_compiled_in(sensor)) {
            if (printed) {
                kit_out_str(", ");
            }
            kit_out_str(sensor_names[sensor]);
            printed = 1;
        }
    }
    if (!printed) {
        kit_out_str("none");
    }
}

static void reply_no_sensor(const char *command, int sensor)
{
    kit_out_str("e-[");
    kit_out_str(command);
    kit_out_str(": this board has no ");
    kit_out_str(sensor_names[sensor]);
    kit_out_str("; its sensors: ");
    print_sensor_list();
    kit_out_str("]");
    kit_out_end();
    reply_ready();
}

#ifdef KIT_HAVE_SENSORS
static void reply_sensor_error(const char *command, const char *what)
{
    kit_out_str("e-[");
    kit_out_str(command);
    kit_out_str(": ");
    kit_out_str(what);
    kit_out_str(": ");
    kit_out_sanitized(kit_hal_sensor_error(), 60u);
    kit_out_str("]");
    kit_out_end();
    reply_ready();
}

/* Bytes of one sample (a camera: of one frame), 0 when the format is unusable. */
static uint32_t sample_bytes(int sensor, const kit_sensor_format *format)
{
    if (sensor == KIT_SENSOR_MICROPHONE) {
        return 2u * format->channels;
    }
    if (sensor == KIT_SENSOR_IMU) {
        return 4u * format->channels;
    }
    return (uint32_t)format->width * format->height * format->channels;
}

static void put_u16(uint8_t *out, uint32_t value)
{
    out[0] = (uint8_t)value;
    out[1] = (uint8_t)(value >> 8);
}

static void put_u32(uint8_t *out, uint32_t value)
{
    put_u16(out, value);
    put_u16(out + 2, value >> 16);
}

static void put_bytes(const uint8_t *data, uint32_t length)
{
    uint32_t i;
    for (i = 0; i < length; i++) {
        kit_hal_putc((char)data[i]);
    }
}

/* One binary frame: magic, type (the sensor), flags (0), sequence, stream offset (bytes),
 * samples the driver dropped so far, payload length, payload, CRC-32 of everything between
 * the magic and the CRC. */
static void send_frame(int sensor, uint32_t offset, const uint8_t *data, uint32_t length)
{
    uint8_t header[KIT_FRAME_HEADER_BYTES];
    uint8_t crc_bytes[4];
    uint32_t crc;
    header[0] = KIT_FRAME_MAGIC0;
    header[1] = KIT_FRAME_MAGIC1;
    header[2] = (uint8_t)sensor;
    header[3] = 0u;
    put_u32(header + 4, frame_sequence++);
    put_u32(header + 8, offset);
    put_u32(header + 12, kit_hal_sensor_dropped(sensor));
    put_u16(header + 16, length);
    crc = kit_crc32_update(0u, header + 2, KIT_FRAME_HEADER_BYTES - 2u);
    crc = kit_crc32_update(crc, data, length);
    put_u32(crc_bytes, crc);
    put_bytes(header, KIT_FRAME_HEADER_BYTES);
    put_bytes(data, length);
    put_bytes(crc_bytes, 4u);
    kit_hal_flush();
}

/* Fill `buffer` with exactly `length` bytes from the sensor: the bytes read (fewer when the
 * recording ended), or -1 on a sensor error. */
static int32_t read_exactly(int sensor, uint8_t *buffer, uint32_t length)
{
    uint32_t filled = 0;
    while (filled < length) {
        int32_t got = kit_hal_sensor_read(sensor, buffer + filled, length - filled);
        if (got < 0) {
            return -1;
        }
        if (got == 0) {
            break;
        }
        filled += (uint32_t)got;
    }
    return (int32_t)filled;
}

static uint64_t ticks_to_us(uint64_t ticks)
{
    uint32_t hz = kit_hal_timer_hz();
    return ticks / hz * 1000000u + ticks % hz * 1000000u / hz;
}

/* ------------------------------------------------------------------ kit-capture */

/* The format kit-capture uses when the host names none: the lab's when the firmware was built
 * with a lab on this sensor, else the labs' usual rates (16 kHz audio, 100 Hz 3-axis IMU,
 * 96x96 grayscale at 5 frames a second). */
static kit_sensor_format default_format(int sensor)
{
    kit_sensor_format format;
    format.rate_hz = sensor == KIT_SENSOR_MICROPHONE ? 16000u : sensor == KIT_SENSOR_IMU ? 100u : 5u;
    format.width = sensor == KIT_SENSOR_CAMERA ? 96u : 0u;
    format.height = sensor == KIT_SENSOR_CAMERA ? 96u : 0u;
    format.channels = sensor == KIT_SENSOR_IMU ? 3u : 1u;
#ifdef KIT_HAVE_LAB
    if (sensor == KIT_LAB_SENSOR) {
        format.rate_hz = KIT_LAB_SENSOR_RATE_HZ;
        format.width = KIT_LAB_SENSOR_WIDTH;
        format.height = KIT_LAB_SENSOR_HEIGHT;
        format.channels = KIT_LAB_SENSOR_CHANNELS;
    }
#endif
    return format;
}

/* `name=value` options: rate, channels, width, height. 0, or -1 (printed) when malformed. */
static int format_option(const char *token, kit_sensor_format *format)
{
    static const char *const names[4] = {"rate=", "channels=", "width=", "height="};
    static const uint32_t limits[4] = {4000000u, 9u, 4096u, 4096u};
    uint32_t value;
    int i;
    for (i = 0; i < 4; i++) {
        size_t length = strlen(names[i]);
        if (strncmp(token, names[i], length) == 0) {
            if (kit_parse_u32(token + length, &value) != 0 || value == 0u || value > limits[i]) {
                break;
            }
            if (i == 0) {
                format->rate_hz = value;
            } else if (i == 1) {
                format->channels = (uint8_t)value;
            } else if (i == 2) {
                format->width = (uint16_t)value;
            } else {
                format->height = (uint16_t)value;
            }
            return 0;
        }
    }
    kit_out_str("e-[kit-capture: bad option ");
    kit_out_sanitized(token, KIT_ECHO_CHARS);
    kit_out_str(" (rate=, channels=, width=, height=)]");
    kit_out_end();
    reply_ready();
    return -1;
}

static void print_format_line(const char *prefix, int sensor, const kit_sensor_format *format, uint32_t count)
{
    kit_out_str(prefix);
    kit_out_str("sensor=");
    kit_out_str(sensor_names[sensor]);
    kit_out_str(",rate=");
    kit_out_u64(format->rate_hz);
    kit_out_str(",channels=");
    kit_out_u64(format->channels);
    kit_out_str(",width=");
    kit_out_u64(format->width);
    kit_out_str(",height=");
    kit_out_u64(format->height);
    kit_out_str(",sample_bytes=");
    kit_out_u64(sample_bytes(sensor, format));
    kit_out_str(",count=");
    kit_out_u64(count);
    kit_out_str("]");
    kit_out_end();
}

typedef struct capture_totals {
    uint32_t samples;
    uint32_t frames;
    uint64_t bytes;
    const char *status; /* done, ended, cancelled, error */
} capture_totals;

/* Microphone / IMU: frames of whole samples until `count` are sent. */
static void capture_stream(int sensor, const kit_sensor_format *format, uint32_t count,
                           const kit_sensing_context *context, capture_totals *totals)
{
    uint32_t unit = sample_bytes(sensor, format);
    uint32_t per_frame = KIT_FRAME_PAYLOAD_MAX / unit;
    while (totals->samples < count) {
        uint32_t want = count - totals->samples < per_frame ? count - totals->samples : per_frame;
        int32_t got = read_exactly(sensor, payload, want * unit);
        if (got < 0) {
            totals->status = "error";
            return;
        }
        if (got >= (int32_t)unit) {
            uint32_t whole = (uint32_t)got / unit;
            send_frame(sensor, (uint32_t)totals->bytes, payload, whole * unit);
            totals->samples += whole;
            totals->frames++;
            totals->bytes += (uint64_t)whole * unit;
        }
        if ((uint32_t)got < want * unit) {
            totals->status = "ended";
            return;
        }
        if (context->cancel_requested()) {
            totals->status = "cancelled";
            return;
        }
    }
}

/* Camera: each frame read whole, then sent in chunks of whole pixels. */
static void capture_frames(int sensor, const kit_sensor_format *format, uint32_t count,
                           const kit_sensing_context *context, capture_totals *totals)
{
#if KIT_CAPTURE_FRAME_BYTES > 0
    uint32_t frame_bytes = sample_bytes(sensor, format);
    uint32_t chunk = KIT_FRAME_PAYLOAD_MAX / format->channels * format->channels; /* whole pixels */
    while (totals->samples < count) {
        uint32_t sent;
        int32_t got = kit_hal_sensor_read(sensor, capture_frame, frame_bytes);
        if (got < 0) {
            totals->status = "error";
            return;
        }
        if ((uint32_t)got < frame_bytes) {
            totals->status = "ended";
            return;
        }
        for (sent = 0; sent < frame_bytes; sent += chunk) {
            uint32_t length = frame_bytes - sent < chunk ? frame_bytes - sent : chunk;
            send_frame(sensor, (uint32_t)(totals->bytes + sent), capture_frame + sent, length);
            totals->frames++;
        }
        totals->samples++;
        totals->bytes += frame_bytes;
        if (context->cancel_requested()) {
            totals->status = "cancelled";
            return;
        }
    }
#else
    (void)sensor;
    (void)format;
    (void)count;
    (void)context;
    totals->status = "error";
#endif
}

#endif /* KIT_HAVE_SENSORS */

#ifdef KIT_HAVE_SENSORS
static void capture_with(char **tokens, int count, const kit_sensing_context *context, int sensor);
#endif

/* kit-capture SENSOR COUNT [SOURCE|-] [rate=N] [channels=N] [width=N] [height=N] */
static void command_kit_capture(char **tokens, int count, const kit_sensing_context *context)
{
    int sensor;
    if (count < 3) {
        reply_error("kit-capture: expected SENSOR COUNT [SOURCE] [rate=N] [channels=N] [width=N] [height=N]");
        return;
    }
    sensor = sensor_by_name(tokens[1]);
    if (sensor == 0) {
        kit_out_str("e-[kit-capture: unknown sensor ");
        kit_out_sanitized(tokens[1], KIT_ECHO_CHARS);
        kit_out_str(" (microphone, imu, camera)]");
        kit_out_end();
        reply_ready();
        return;
    }
    if (!sensor_compiled_in(sensor)) {
        reply_no_sensor("kit-capture", sensor);
        return;
    }
#ifdef KIT_HAVE_SENSORS
    capture_with(tokens, count, context, sensor);
#else
    (void)context;
#endif
}

#ifdef KIT_HAVE_SENSORS
/* kit-capture once the sensor is known to exist: the format, the stream, the totals. */
static void capture_with(char **tokens, int count, const kit_sensing_context *context, int sensor)
{
    kit_sensor_format format;
    capture_totals totals = {0u, 0u, 0u, "done"};
    const char *source = 0;
    uint32_t samples;
    uint64_t started;
    int i;
    if (kit_parse_u32(tokens[2], &samples) != 0 || samples == 0u) {
        reply_error("kit-capture: COUNT must be a number from 1");
        return;
    }
    format = default_format(sensor);
    for (i = 3; i < count; i++) {
        if (strchr(tokens[i], '=') != 0) {
            if (format_option(tokens[i], &format) != 0) {
                return;
            }
        } else if (i == 3) {
            source = strcmp(tokens[i], "-") == 0 ? 0 : tokens[i];
        } else {
            reply_error("kit-capture: SOURCE must come right after COUNT");
            return;
        }
    }
    if (sensor == KIT_SENSOR_CAMERA && sample_bytes(sensor, &format) > KIT_CAPTURE_FRAME_BYTES) {
        kit_out_str("e-[kit-capture: frame of ");
        kit_out_u64(sample_bytes(sensor, &format));
        kit_out_str(" bytes, the capture buffer holds ");
        kit_out_u64(KIT_CAPTURE_FRAME_BYTES);
        kit_out_str("]");
        kit_out_end();
        reply_ready();
        return;
    }
    if (kit_hal_sensor_start(sensor, &format, source) != 0) {
        reply_sensor_error("kit-capture", "cannot start the sensor");
        return;
    }
    print_format_line("m-kit-capture-[", sensor, &format, samples);
    frame_sequence = 0;
    started = kit_hal_ticks();
    if (sensor == KIT_SENSOR_CAMERA) {
        capture_frames(sensor, &format, samples, context, &totals);
    } else {
        capture_stream(sensor, &format, samples, context, &totals);
    }
    kit_out_str("m-kit-capture-end-[samples=");
    kit_out_u64(totals.samples);
    kit_out_str(",dropped=");
    kit_out_u64(kit_hal_sensor_dropped(sensor));
    kit_out_str(",frames=");
    kit_out_u64(totals.frames);
    kit_out_str(",bytes=");
    kit_out_u64(totals.bytes);
    kit_out_str(",elapsed_us=");
    kit_out_u64(ticks_to_us(kit_hal_ticks() - started));
    kit_out_str(",status=");
    kit_out_str(totals.status);
    kit_out_str("]");
    kit_out_end();
    if (strcmp(totals.status, "error") == 0) {
        kit_out_str("e-[kit-capture: sensor read failed: ");
        kit_out_sanitized(kit_hal_sensor_error(), 60u);
        kit_out_str("]");
        kit_out_end();
    }
    kit_hal_sensor_stop(sensor);
    reply_ready();
}
#endif

/* ------------------------------------------------------------------ kit-run */

#if defined(KIT_HAVE_LAB) && defined(KIT_HAVE_SENSORS)

#if KIT_LAB_SENSOR == KIT_SENSOR_MICROPHONE
#define KIT_LAB_SAMPLE_BYTES 2u
#elif KIT_LAB_SENSOR == KIT_SENSOR_IMU
#define KIT_LAB_SAMPLE_BYTES (4u * KIT_LAB_SENSOR_CHANNELS)
#else
#define KIT_LAB_SAMPLE_BYTES ((uint32_t)KIT_LAB_SENSOR_WIDTH * KIT_LAB_SENSOR_HEIGHT * KIT_LAB_SENSOR_CHANNELS)
#endif
#if KIT_LAB_SENSOR == KIT_SENSOR_CAMERA
#define KIT_LAB_WINDOW_BYTES KIT_LAB_SAMPLE_BYTES /* one frame is one window */
#define KIT_LAB_STRIDE_BYTES KIT_LAB_SAMPLE_BYTES
#else
#define KIT_LAB_WINDOW_BYTES ((uint32_t)KIT_LAB_WINDOW_SAMPLES * KIT_LAB_SAMPLE_BYTES)
#define KIT_LAB_STRIDE_BYTES ((uint32_t)KIT_LAB_STRIDE_SAMPLES * KIT_LAB_SAMPLE_BYTES)
#endif
#define KIT_LAB_AVERAGE_MAX 16u
#ifndef KIT_LAB_OUTPUT_VALUES /* kit_lab.h written before outputs and anomaly labs were told apart */
#define KIT_LAB_OUTPUT_VALUES KIT_LAB_LABEL_COUNT
#endif
#ifndef KIT_LAB_ANOMALY
#define KIT_LAB_ANOMALY 0
#endif
#if KIT_LAB_ANOMALY && (KIT_LAB_OUTPUT_VALUES != KIT_LAB_INPUT_VALUES)
#error "an anomaly lab's autoencoder must reconstruct its whole input (kit_lab.h)"
#endif
#ifndef KIT_LAB_KMEANS /* kit_lab.h written before the K-means anomaly block existed */
#define KIT_LAB_KMEANS 0
#endif
#if KIT_LAB_KMEANS && (KIT_LAB_ANOMALY || KIT_LAB_KMEANS_FEATURES != KIT_LAB_INPUT_VALUES)
#error "the K-means anomaly block scores a classifier's whole float feature vector (kit_lab.h)"
#endif
#define KIT_LAB_FLOAT_FEATURES (KIT_LAB_ANOMALY || KIT_LAB_KMEANS)
#define KIT_LAB_AVERAGE (KIT_LAB_AVERAGE_WINDOWS < 1 ? 1u : KIT_LAB_AVERAGE_WINDOWS > 16 ? 16u : (uint32_t)KIT_LAB_AVERAGE_WINDOWS)

static uint8_t lab_window[KIT_LAB_WINDOW_BYTES] __attribute__((aligned(4)));
#if KIT_LAB_FLOAT_FEATURES
static float lab_features[KIT_LAB_INPUT_VALUES];
#endif
#ifndef KIT_LAB_DETECTION /* kit_lab.h written before detection labs ran on the board */
#define KIT_LAB_DETECTION 0
#endif
#if KIT_LAB_DETECTION && (KIT_LAB_OUTPUT_VALUES != KIT_LAB_GRID_ROWS * KIT_LAB_GRID_COLS * KIT_LAB_LABEL_COUNT)
#error "kit_lab.h: a detection lab's output is its (rows, cols, labels) grid"
#endif
#if !KIT_LAB_ANOMALY && !KIT_LAB_DETECTION
static int8_t lab_outputs[KIT_LAB_AVERAGE_MAX][KIT_LAB_LABEL_COUNT];
#endif
#if KIT_LAB_DETECTION
static kit_detection lab_objects[KIT_LAB_MAX_OBJECTS];
static int32_t lab_object_count;
#endif

static float output_scale(void)
{
    return (KIT_OUTPUT_SCALE) > 0.0f ? (float)(KIT_OUTPUT_SCALE) : 1.0f / 256.0f;
}

static int32_t output_zero_point(void)
{
    return (KIT_OUTPUT_SCALE) > 0.0f ? (int32_t)(KIT_OUTPUT_ZERO_POINT) : -128;
}

#if KIT_LAB_DETECTION
/* A detector's window: its grid decoded into objects (kit_detect.c, the host's decode_grid rule);
 * the label is the best object's class (0, background, when there is none) and each label's
 * score its highest dequantised cell score. */
static uint32_t detect_objects(const int8_t *grid, float *scores)
{
    uint32_t label;
    uint32_t cell;
    uint32_t best = 0;
    int32_t i;
    for (label = 0; label < KIT_LAB_LABEL_COUNT; label++) {
        int32_t top = -128;
        for (cell = 0; cell < (uint32_t)(KIT_LAB_GRID_ROWS * KIT_LAB_GRID_COLS); cell++) {
            const int32_t value = grid[cell * KIT_LAB_LABEL_COUNT + label];
            top = value > top ? value : top;
        }
        scores[label] = (float)(top - output_zero_point()) * output_scale();
    }
    lab_object_count = kit_detect_decode(grid, KIT_LAB_GRID_ROWS, KIT_LAB_GRID_COLS, (int32_t)KIT_LAB_LABEL_COUNT,
                                         KIT_LAB_DETECT_THRESHOLD_Q, lab_objects, KIT_LAB_MAX_OBJECTS);
    for (i = 0; i < lab_object_count && i < KIT_LAB_MAX_OBJECTS; i++) {
        if (best == 0u || lab_objects[i].score > lab_objects[best - 1u].score) {
            best = (uint32_t)i + 1u;
        }
    }
    return best == 0u ? 0u : (uint32_t)lab_objects[best - 1u].label;
}

/* ,objects=N,found=L:ROW:COL:S;... (centroids in grid cells, S the best cell's dequantised score) */
static void print_objects(void)
{
    int32_t i;
    kit_out_str(",objects=");
    kit_out_u64(lab_object_count < 0 ? 0u : (uint64_t)lab_object_count);
    kit_out_str(",found=");
    for (i = 0; i < lab_object_count && i < KIT_LAB_MAX_OBJECTS; i++) {
        if (i > 0) {
            kit_hal_putc(';');
        }
        kit_out_u64((uint64_t)lab_objects[i].label);
        kit_hal_putc(':');
        kit_out_fixed3(lab_objects[i].row);
        kit_hal_putc(':');
        kit_out_fixed3(lab_objects[i].col);
        kit_hal_putc(':');
        kit_out_fixed3((float)((int32_t)lab_objects[i].score - output_zero_point()) * output_scale());
    }
}
#endif

#if !KIT_LAB_ANOMALY && !KIT_LAB_DETECTION
/* The mean of the last `have` outputs, dequantised, and the label with the highest. */
static uint32_t average_scores(uint32_t have, float *scores)
{
    uint32_t label;
    uint32_t best = 0;
    for (label = 0; label < KIT_LAB_LABEL_COUNT; label++) {
        int32_t sum = 0;
        uint32_t i;
        for (i = 0; i < have; i++) {
            sum += (int32_t)lab_outputs[i][label] - output_zero_point();
        }
        scores[label] = (float)sum * output_scale() / (float)have;
        if (scores[label] > scores[best]) {
            best = label;
        }
    }
    return best;
}
#endif

#if KIT_LAB_ANOMALY
/* An autoencoder's anomaly score: the mean squared error between the window's float features
 * and the dequantised reconstruction (the card's threshold_int8 was set on this score). */
static float anomaly_score(const int8_t *output)
{
    float sum = 0.0f;
    uint32_t i;
    for (i = 0; i < KIT_LAB_INPUT_VALUES; i++) {
        float error = lab_features[i] - (float)((int32_t)output[i] - output_zero_point()) * output_scale();
        sum += error * error;
    }
    return sum / (float)KIT_LAB_INPUT_VALUES;
}
#endif

#if KIT_LAB_KMEANS
/* Square root without libm (kit links none): Newton's method from a bit-level first guess,
 * five steps, + * / only; kit.train.kmeans.newton_sqrt is the same in numpy float32. */
static float kmeans_sqrt(float x)
{
    union {
        float f;
        uint32_t u;
    } guess;
    float y;
    int i;
    if (!(x > 0.0f)) {
        return 0.0f;
    }
    guess.f = x;
    guess.u = 0x1fbd1df5u + (guess.u >> 1);
    y = guess.f;
    for (i = 0; i < 5; i++) {
        y = 0.5f * (y + x / y);
    }
    return y;
}

/* The K-means anomaly score of the window's float features (kit.train.kmeans, same float32
 * order): standardise each feature, squared distance to each centroid in order, the smallest
 * (strictly smaller wins), then its square root. */
static float kmeans_score(void)
{
    float best = 0.0f;
    uint32_t k;
    uint32_t i;
    for (k = 0; k < KIT_LAB_KMEANS_CLUSTERS; k++) {
        const float *centroid = &kit_lab_kmeans_centroids[k * KIT_LAB_KMEANS_FEATURES];
        float acc = 0.0f;
        for (i = 0; i < KIT_LAB_KMEANS_FEATURES; i++) {
            float z = (lab_features[i] - kit_lab_kmeans_mean[i]) * kit_lab_kmeans_inv_std[i];
            float d = z - centroid[i];
            acc = acc + d * d;
        }
        if (k == 0u || acc < best) {
            best = acc;
        }
    }
    return kmeans_sqrt(best);
}
#endif

/* The int8 model input of the window in lab_window; anomaly and K-means labs keep its float
 * features. */
static int lab_input(int8_t *input, uint32_t capacity)
{
#if KIT_LAB_FLOAT_FEATURES
    if (kit_features_float(&kit_lab_features, lab_window, lab_features, KIT_LAB_INPUT_VALUES) !=
        (int32_t)KIT_LAB_INPUT_VALUES || capacity < KIT_LAB_INPUT_VALUES) {
        return -1;
    }
    return kit_features_quantize(&kit_lab_features, lab_features, input, KIT_LAB_INPUT_VALUES);
#else
    return kit_features_int8(&kit_lab_features, lab_window, input, capacity);
#endif
}

/* scores= holds one dequantised mean per label, or for an anomaly lab the one anomaly score;
 * a lab with K-means adds anomaly= (its score) and anomalous= (above its threshold). */
static void print_record(uint32_t index, uint32_t label, const float *scores, const int8_t *output,
                         uint64_t feature_ticks, uint64_t infer_ticks, uint64_t end_sample, int sensor,
                         float kmeans)
{
    uint32_t i;
    const uint32_t score_count = KIT_LAB_ANOMALY ? 1u : KIT_LAB_LABEL_COUNT;
    kit_out_str("m-kit-live-[n=");
    kit_out_u64(index);
    kit_out_str(",label=");
    kit_out_u64(label);
    kit_out_str(",feature_ticks=");
    kit_out_u64(feature_ticks);
    kit_out_str(",infer_ticks=");
    kit_out_u64(infer_ticks);
    kit_out_str(",dropped=");
    kit_out_u64(kit_hal_sensor_dropped(sensor));
    kit_out_str(",end=");
    kit_out_u64(end_sample);
    kit_out_str(",out=");
    for (i = 0; i < KIT_LAB_OUTPUT_VALUES; i++) {
        kit_out_hex_byte((uint8_t)output[i]);
    }
    kit_out_str(",scores=");
    for (i = 0; i < score_count; i++) {
        if (i > 0) {
            kit_hal_putc(';');
        }
        kit_out_fixed3(scores[i]);
    }
#if KIT_LAB_KMEANS
    kit_out_str(",anomaly=");
    kit_out_fixed3(kmeans);
    kit_out_str(kmeans > (float)(KIT_LAB_KMEANS_THRESHOLD) ? ",anomalous=1" : ",anomalous=0");
#else
    (void)kmeans;
#endif
#if KIT_LAB_DETECTION
    print_objects();
#endif
    kit_out_str("]");
    kit_out_end();
}

static kit_sensor_format lab_format(void)
{
    kit_sensor_format format;
    format.rate_hz = KIT_LAB_SENSOR_RATE_HZ;
    format.width = KIT_LAB_SENSOR_WIDTH;
    format.height = KIT_LAB_SENSOR_HEIGHT;
    format.channels = KIT_LAB_SENSOR_CHANNELS;
    return format;
}

/* Slide the window by the stride: keep its tail, read the new samples behind it. Returns 1
 * when a whole window is ready, 0 when the recording ended, -1 on a sensor error. */
static int next_window(int first)
{
    uint32_t keep = first ? 0u : KIT_LAB_WINDOW_BYTES - KIT_LAB_STRIDE_BYTES;
    int32_t got;
    if (keep > 0u && KIT_LAB_STRIDE_BYTES < KIT_LAB_WINDOW_BYTES) {
        memmove(lab_window, lab_window + KIT_LAB_STRIDE_BYTES, keep);
    } else {
        keep = 0u;
    }
    got = read_exactly(KIT_LAB_SENSOR, lab_window + keep, KIT_LAB_WINDOW_BYTES - keep);
    if (got < 0) {
        return -1;
    }
    return (uint32_t)got == KIT_LAB_WINDOW_BYTES - keep ? 1 : 0;
}

static void run_end(uint32_t windows, uint64_t samples, const char *status)
{
    kit_out_str("m-kit-run-end-[windows=");
    kit_out_u64(windows);
    kit_out_str(",samples=");
    kit_out_u64(samples);
    kit_out_str(",dropped=");
    kit_out_u64(kit_hal_sensor_dropped(KIT_LAB_SENSOR));
    kit_out_str(",status=");
    kit_out_str(status);
    kit_out_str("]");
    kit_out_end();
}

static int lab_model_fits(const kit_sensing_context *context)
{
    if (context->model_problem != 0) {
        kit_out_str("e-[kit-run: model not runnable: ");
        kit_out_str(context->model_problem);
        kit_out_str("]");
        kit_out_end();
        reply_ready();
        return 0;
    }
    if (kit_model_input_bytes(&kit_model) != kit_lab_features.out_values ||
        kit_model_output_bytes(&kit_model) != KIT_LAB_OUTPUT_VALUES) {
        reply_error("kit-run: the model's input or output does not match the lab (kit_lab.h)");
        return 0;
    }
    return 1;
}

/* kit-run [SOURCE]: classify windows of the live sensor until the source ends or kit-cancel. */
static void command_kit_run(char **tokens, int count, const kit_sensing_context *context)
{
    kit_sensor_format format = lab_format();
    float scores[KIT_LAB_LABEL_COUNT];
    const char *status = "ended";
    uint32_t windows = 0;
    uint64_t samples = 0;
    int sensor = KIT_LAB_SENSOR;
    if (count > 2) {
        reply_error("kit-run: expected [SOURCE]");
        return;
    }
    if (!sensor_compiled_in(sensor)) {
        reply_no_sensor("kit-run", sensor);
        return;
    }
    if (!lab_model_fits(context)) {
        return;
    }
    if (kit_hal_sensor_start(sensor, &format, count == 2 ? tokens[1] : 0) != 0) {
        reply_sensor_error("kit-run", "cannot start the sensor");
        return;
    }
    kit_out_str("m-kit-run-start-[lab=");
    kit_out_str(KIT_LAB_NAME);
    kit_out_str(",labels=");
    kit_out_u64(KIT_LAB_LABEL_COUNT);
    kit_out_str(",window=");
    kit_out_u64(KIT_LAB_WINDOW_BYTES / KIT_LAB_SAMPLE_BYTES);
    kit_out_str(",stride=");
    kit_out_u64(KIT_LAB_STRIDE_BYTES / KIT_LAB_SAMPLE_BYTES);
    kit_out_str(",average=");
    kit_out_u64(KIT_LAB_AVERAGE);
    kit_out_str(",timer_hz=");
    kit_out_u64(kit_hal_timer_hz());
    kit_out_str("]");
    kit_out_end();
    for (;;) {
        uint64_t started;
        uint64_t feature_ticks;
        uint64_t infer_ticks;
        uint32_t label;
        float kmeans = 0.0f;
        const int8_t *output;
        int ready = next_window(windows == 0u);
        if (ready < 0) {
            status = "error";
            break;
        }
        if (ready == 0) {
            break;
        }
        samples += windows == 0u ? KIT_LAB_WINDOW_BYTES / KIT_LAB_SAMPLE_BYTES : KIT_LAB_STRIDE_BYTES / KIT_LAB_SAMPLE_BYTES;
        started = kit_hal_ticks();
        if (lab_input(kit_model_input(&kit_model, context->arena), kit_model_input_bytes(&kit_model)) < 0) {
            status = "error";
            break;
        }
        feature_ticks = kit_hal_ticks() - started;
        started = kit_hal_ticks();
        if (kit_model_invoke(&kit_model, context->arena, 0, 0) != 0) {
            status = "error";
            break;
        }
        infer_ticks = kit_hal_ticks() - started;
        output = kit_model_output(&kit_model, context->arena);
#if KIT_LAB_ANOMALY
        scores[0] = anomaly_score(output);
        label = scores[0] > (float)(KIT_LAB_ANOMALY_THRESHOLD) ? 1u : 0u; /* labels: normal, anomaly */
#elif KIT_LAB_DETECTION
        label = detect_objects(output, scores);
#else
        memmove(lab_outputs[1], lab_outputs[0], (KIT_LAB_AVERAGE - 1u) * KIT_LAB_LABEL_COUNT);
        memcpy(lab_outputs[0], output, KIT_LAB_LABEL_COUNT);
        label = average_scores(windows + 1u < KIT_LAB_AVERAGE ? windows + 1u : KIT_LAB_AVERAGE, scores);
#endif
#if KIT_LAB_KMEANS
        kmeans = kmeans_score();
#endif
        kit_hal_led((int)label == (int)(KIT_LAB_LED_LABEL));
        print_record(windows, label, scores, output, feature_ticks, infer_ticks, samples, sensor, kmeans);
        windows++;
        if (context->cancel_requested()) {
            status = "cancelled";
            break;
        }
    }
    kit_hal_led(0);
    run_end(windows, samples, status);
    if (strcmp(status, "error") == 0) {
        kit_out_str("e-[kit-run: ");
        kit_out_sanitized(kit_hal_sensor_error()[0] != '\0' ? kit_hal_sensor_error() : "features or model failed", 60u);
        kit_out_str("]");
        kit_out_end();
    }
    kit_hal_sensor_stop(sensor);
    reply_ready();
}

#elif defined(KIT_HAVE_LAB)

static void command_kit_run(char **tokens, int count, const kit_sensing_context *context)
{
    (void)tokens;
    (void)count;
    (void)context;
    reply_no_sensor("kit-run", KIT_LAB_SENSOR);
}

#else

static void command_kit_run(char **tokens, int count, const kit_sensing_context *context)
{
    (void)tokens;
    (void)count;
    (void)context;
    reply_error("kit-run: this firmware was built without a lab (kit flash BOARD LAB)");
}

#endif

/* ------------------------------------------------------------------ dispatch */

int kit_sensing_command(char **tokens, int count, const kit_sensing_context *context)
{
    if (strcmp(tokens[0], "kit-capture") == 0) {
        command_kit_capture(tokens, count, context);
        return 1;
    }
    if (strcmp(tokens[0], "kit-run") == 0) {
        command_kit_run(tokens, count, context);
        return 1;
    }
    return 0;
}
