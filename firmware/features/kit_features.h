/*
 * kit's feature pipelines in portable C: one window of raw sensor data -> the lab's int8 model
 * input. The SAME file is compiled for every board and for the host, where kit's training
 * pipeline calls it through ctypes, so the model input a board computes equals the host's bit
 * for bit. Float32 with a fixed operation order, no libm, built with -ffp-contract=off (no
 * fused multiply-add), no dynamic allocation: every buffer is static and sized at compile time.
 *
 * Raw window layouts (what the HAL's sensors deliver, kit_hal.h):
 *   KIT_FEATURE_MFCC        int16 PCM, mono, `samples` values at sample_rate_hz
 *   KIT_FEATURE_IMU_SPECTRAL float32 [samples][axes] (accelerometer in g, gyroscope in dps)
 *   KIT_FEATURE_VIBRATION   float32 [samples][axes]
 *   KIT_FEATURE_IMAGE       uint8 [frame_height][frame_width][frame_channels] (1 = gray, 3 = RGB)
 */
#ifndef KIT_FEATURES_H
#define KIT_FEATURES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KIT_FEATURE_MFCC 1u
#define KIT_FEATURE_IMAGE 2u
#define KIT_FEATURE_IMU_SPECTRAL 3u
#define KIT_FEATURE_VIBRATION 4u

#define KIT_PIXELS_UNIT 0u   /* [0, 1] */
#define KIT_PIXELS_SIGNED 1u /* [-1, 1] */
#define KIT_PIXELS_RAW 2u    /* [0, 255] */

/* One lab's pipeline. kit.build writes it into kit_lab.h (`kit_lab_features`) from the lab's
 * [dataset]/[features] and the model's input quantisation; the host fills the same struct.
 * Fields after the last listed one may be added (tables, limits); these keep their names. */
typedef struct kit_feature_config {
    uint32_t kind;           /* KIT_FEATURE_* */
    uint32_t raw_values;     /* values in one raw window (samples, samples*axes or h*w*c) */
    uint32_t out_values;     /* values of the model input */
    /* mfcc */
    uint32_t sample_rate_hz;
    uint32_t samples;        /* window length in samples (audio and IMU) */
    uint32_t frame_length;   /* samples per MFCC frame */
    uint32_t frame_stride;   /* samples between MFCC frames */
    uint32_t fft_length;
    uint32_t mel_bins;
    uint32_t coefficients;
    uint32_t frames;
    float lower_hz;
    float upper_hz;
    /* imu-spectral / vibration-spectrum */
    uint32_t axes;
    uint32_t bands;
    /* image: the camera frame in, the model's input out */
    uint32_t frame_width;
    uint32_t frame_height;
    uint32_t frame_channels;
    uint32_t width;
    uint32_t height;
    uint32_t channels;
    uint32_t pixel_scale;    /* KIT_PIXELS_* */
    /* the model input's quantisation: q = clamp(round(x / input_scale) + zero_point) */
    float input_scale;
    int32_t input_zero_point;
} kit_feature_config;

/* Float features of one raw window into `out` (out_values floats). Returns out_values, or -1
 * when the config is invalid or larger than the compiled-in buffers. */
int32_t kit_features_float(const kit_feature_config *config, const void *raw, float *out, uint32_t out_capacity);

/* Quantise `count` float features to the model's int8 input. Returns count. */
int32_t kit_features_quantize(const kit_feature_config *config, const float *features, int8_t *out, uint32_t count);

/* Both steps: raw window -> int8 model input. Returns out_values or -1. */
int32_t kit_features_int8(const kit_feature_config *config, const void *raw, int8_t *out, uint32_t out_capacity);

/* Bytes of one raw window (what a sensor must deliver before kit_features_int8 can run). */
uint32_t kit_features_raw_bytes(const kit_feature_config *config);

#ifdef __cplusplus
}
#endif

#endif /* KIT_FEATURES_H */
