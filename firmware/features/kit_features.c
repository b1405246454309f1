/*
 * kit's feature pipelines (kit_features.h): the same C on every board and on the host.
 *
 * Bit-exactness rules (docs/ARCHITECTURE.md, "Features on the device"):
 *  - float32 only, every operation written out in a fixed order (no reassociation: built with
 *    -ffp-contract=off and never with -ffast-math), IEEE binary32 + - * / on every machine;
 *  - no libm: log, sqrt, sin and cos are kit_f_* below, built from + - * / and integer bit
 *    operations only, so every machine computes the same tables and the same logs;
 *  - the tables (Hann window, FFT twiddles, mel filters, DCT basis) are computed here, on first
 *    use of a configuration, by that same code: the host and the board hold identical tables;
 *  - no dynamic allocation: static buffers sized by the KIT_FEATURES_MAX_* limits below.
 */
#include "kit_features.h"

#include <string.h>

#ifndef KIT_FEATURES_MAX_FFT
#define KIT_FEATURES_MAX_FFT 512u /* real FFT length (MFCC, IMU spectra) */
#endif
#ifndef KIT_FEATURES_MAX_MEL
#define KIT_FEATURES_MAX_MEL 64u
#endif
#ifndef KIT_FEATURES_MAX_COEFFICIENTS
#define KIT_FEATURES_MAX_COEFFICIENTS 32u
#endif
#ifndef KIT_FEATURES_MAX_FLOAT_OUT
#define KIT_FEATURES_MAX_FLOAT_OUT 2048u /* float features kit_features_int8 keeps (not images) */
#endif
#ifndef KIT_FEATURES_MAX_BANDS
#define KIT_FEATURES_MAX_BANDS 64u
#endif

#define KIT_HALF_FFT (KIT_FEATURES_MAX_FFT / 2u)
#define KIT_MAX_BINS (KIT_HALF_FFT + 1u)
#define KIT_MAX_MEL_WEIGHTS (2u * KIT_MAX_BINS + KIT_FEATURES_MAX_MEL)
#define KIT_LOG_FLOOR 1e-6f
#define KIT_STD_FLOOR 1e-9f

/* ------------------------------------------------------------------ float helpers (no libm) */

typedef union {
    float f;
    uint32_t u;
} kit_bits;

/* Square root by Newton's method from a bit-level first guess: + and / only. */
static float kit_f_sqrt(float x)
{
    kit_bits guess;
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

/* Natural log: x = m * 2^e with m in [sqrt(1/2), sqrt(2)), log m by the atanh series. */
static float kit_f_log(float x)
{
    kit_bits bits;
    int32_t exponent;
    float m;
    float f;
    float s;
    float z;
    float series;
    if (!(x >= 1.17549435e-38f)) { /* zero, negative, subnormal or NaN: the log of the floor */
        x = 1.17549435e-38f;
    }
    if (x > 3.4028235e38f) {
        x = 3.4028235e38f;
    }
    bits.f = x;
    exponent = (int32_t)((bits.u >> 23) & 0xffu) - 127;
    bits.u = (bits.u & 0x007fffffu) | 0x3f800000u;
    m = bits.f;
    if (m > 1.41421356f) {
        m = m * 0.5f;
        exponent += 1;
    }
    f = m - 1.0f;
    s = f / (2.0f + f);
    z = s * s;
    series = 0.22222222f;
    series = 0.28571429f + z * series;
    series = 0.4f + z * series;
    series = 0.66666667f + z * series;
    series = 2.0f + z * series;
    return (float)exponent * 0.693145751953125f + (s * series + (float)exponent * 1.42860677e-06f);
}

/* sin and cos of x in [0, pi/4] (Taylor polynomials, Horner order). */
static float kit_f_sin_small(float x)
{
    float z = x * x;
    float p = 2.7557319e-06f;
    p = -1.9841270e-04f + z * p;
    p = 8.3333333e-03f + z * p;
    p = -1.6666667e-01f + z * p;
    return x + x * (z * p);
}

static float kit_f_cos_small(float x)
{
    float z = x * x;
    float p = -2.7557319e-07f;
    p = 2.4801587e-05f + z * p;
    p = -1.3888889e-03f + z * p;
    p = 4.1666667e-02f + z * p;
    p = -0.5f + z * p;
    return 1.0f + z * p;
}

/* cos and sin of 2*pi*num/den, reduced exactly to an octant with integers (den < 2^28). */
static void kit_f_cos_sin_turns(uint32_t num, uint32_t den, float *cos_out, float *sin_out)
{
    uint32_t scaled;
    uint32_t octant;
    uint32_t rem;
    float angle;
    float c;
    float s;
    float t;
    num %= den;
    scaled = num * 8u;
    octant = scaled / den;
    rem = scaled - octant * den;
    if (octant & 1u) { /* measure from the octant's far end: cos and sin swap */
        angle = (float)(den - rem) / (float)den * 0.78539816f;
        c = kit_f_sin_small(angle);
        s = kit_f_cos_small(angle);
    } else {
        angle = (float)rem / (float)den * 0.78539816f;
        c = kit_f_cos_small(angle);
        s = kit_f_sin_small(angle);
    }
    switch (octant >> 1) {
    case 0:
        break;
    case 1:
        t = c;
        c = -s;
        s = t;
        break;
    case 2:
        c = -c;
        s = -s;
        break;
    default:
        t = c;
        c = s;
        s = -t;
        break;
    }
    *cos_out = c;
    *sin_out = s;
}

/* Round half to even (like numpy.round), for |x| < 2^22: the 1.5 * 2^23 trick. */
static float kit_f_round_even(float x)
{
    volatile float shifted = x + 12582912.0f;
    return shifted - 12582912.0f;
}

static int kit_is_power_of_two(uint32_t n)
{
    return n >= 4u && (n & (n - 1u)) == 0u;
}

/* ------------------------------------------------------------------ tables */

static float window_table[KIT_FEATURES_MAX_FFT];
static uint32_t window_length;
static float twiddle_cos[KIT_MAX_BINS]; /* cos, sin of 2*pi*k/fft_length, k = 0..fft_length/2 */
static float twiddle_sin[KIT_MAX_BINS];
static uint16_t bit_reverse[KIT_HALF_FFT];
static uint32_t fft_length_ready;

static float mel_weights[KIT_MAX_MEL_WEIGHTS];
static uint16_t mel_first[KIT_FEATURES_MAX_MEL];
static uint16_t mel_count[KIT_FEATURES_MAX_MEL];
static uint16_t mel_offset[KIT_FEATURES_MAX_MEL];
static float dct_basis[KIT_FEATURES_MAX_MEL * KIT_FEATURES_MAX_COEFFICIENTS];
static kit_feature_config mel_ready; /* the MFCC configuration the mel + DCT tables are for */
static int mel_ready_valid;

/* numpy.hanning(length + 2)[1:-1]: the Hann window without its two zero end points. */
static void prepare_window(uint32_t length)
{
    uint32_t i;
    float c;
    float s;
    if (window_length == length) {
        return;
    }
    for (i = 0; i < length; i++) {
        kit_f_cos_sin_turns(i + 1u, length + 1u, &c, &s);
        window_table[i] = 0.5f - 0.5f * c;
    }
    window_length = length;
}

static void prepare_fft(uint32_t fft_length)
{
    uint32_t half = fft_length / 2u;
    uint32_t bits = 0;
    uint32_t i;
    if (fft_length_ready == fft_length) {
        return;
    }
    for (i = 0; i <= half; i++) {
        kit_f_cos_sin_turns(i, fft_length, &twiddle_cos[i], &twiddle_sin[i]);
    }
    while ((1u << bits) < half) {
        bits++;
    }
    for (i = 0; i < half; i++) {
        uint32_t reversed = 0;
        uint32_t b;
        for (b = 0; b < bits; b++) {
            reversed |= ((i >> b) & 1u) << (bits - 1u - b);
        }
        bit_reverse[i] = (uint16_t)reversed;
    }
    fft_length_ready = fft_length;
}

static float hz_to_mel(float hz)
{
    return 1127.0f * kit_f_log(1.0f + hz / 700.0f);
}

static int same_mfcc_tables(const kit_feature_config *c)
{
    return mel_ready_valid && mel_ready.sample_rate_hz == c->sample_rate_hz && mel_ready.fft_length == c->fft_length &&
           mel_ready.mel_bins == c->mel_bins && mel_ready.coefficients == c->coefficients &&
           mel_ready.lower_hz == c->lower_hz && mel_ready.upper_hz == c->upper_hz;
}

/* Triangular filters evenly spaced on the mel scale, stored sparsely (first bin, count). */
static int prepare_mel(const kit_feature_config *c)
{
    uint32_t bins = c->fft_length / 2u + 1u;
    float mel_low = hz_to_mel(c->lower_hz);
    float mel_step = (hz_to_mel(c->upper_hz) - mel_low) / (float)(c->mel_bins + 1u);
    uint32_t used = 0;
    uint32_t m;
    for (m = 0; m < c->mel_bins; m++) {
        float lower = mel_low + (float)m * mel_step;
        float centre = mel_low + (float)(m + 1u) * mel_step;
        float upper = mel_low + (float)(m + 2u) * mel_step;
        uint32_t k;
        mel_first[m] = 0;
        mel_count[m] = 0;
        mel_offset[m] = (uint16_t)used;
        for (k = 0; k < bins; k++) {
            float bin_mel = hz_to_mel((float)k * (float)c->sample_rate_hz / (float)c->fft_length);
            float rising = (bin_mel - lower) / (centre - lower);
            float falling = (upper - bin_mel) / (upper - centre);
            float weight = rising < falling ? rising : falling;
            if (!(weight > 0.0f)) {
                if (mel_count[m] != 0u) {
                    break; /* past the triangle */
                }
                continue;
            }
            if (used == KIT_MAX_MEL_WEIGHTS) {
                return -1;
            }
            if (mel_count[m] == 0u) {
                mel_first[m] = (uint16_t)k;
            }
            mel_weights[used++] = weight;
            mel_count[m]++;
        }
    }
    return 0;
}

/* Orthonormal DCT-II basis [mel_bins][coefficients]. */
static void prepare_dct(uint32_t inputs, uint32_t outputs)
{
    float norm = kit_f_sqrt(2.0f / (float)inputs);
    float first = kit_f_sqrt(0.5f);
    uint32_t n;
    uint32_t k;
    for (n = 0; n < inputs; n++) {
        for (k = 0; k < outputs; k++) {
            float c;
            float s;
            kit_f_cos_sin_turns((2u * n + 1u) * k, 4u * inputs, &c, &s);
            c = c * norm;
            dct_basis[n * outputs + k] = k == 0u ? c * first : c;
        }
    }
}

static int prepare_mfcc(const kit_feature_config *c)
{
    prepare_window(c->frame_length);
    prepare_fft(c->fft_length);
    if (same_mfcc_tables(c)) {
        return 0;
    }
    mel_ready_valid = 0;
    if (prepare_mel(c) != 0) {
        return -1;
    }
    prepare_dct(c->mel_bins, c->coefficients);
    mel_ready = *c;
    mel_ready_valid = 1;
    return 0;
}

/* ------------------------------------------------------------------ FFT */

static float fft_re[KIT_HALF_FFT];
static float fft_im[KIT_HALF_FFT];
static float power[KIT_MAX_BINS];

/* In-place radix-2 decimation-in-time FFT of the `half` complex values already stored in
 * bit-reversed order; twiddles W_size^j come from the real FFT's table (index j * n / size). */
static void complex_fft(uint32_t half, uint32_t n)
{
    uint32_t size;
    uint32_t start;
    for (start = 0; start < half; start += 2u) { /* size 2: the twiddle is 1 */
        float ar = fft_re[start];
        float ai = fft_im[start];
        float br = fft_re[start + 1u];
        float bi = fft_im[start + 1u];
        fft_re[start] = ar + br;
        fft_im[start] = ai + bi;
        fft_re[start + 1u] = ar - br;
        fft_im[start + 1u] = ai - bi;
    }
    for (size = 4u; size <= half; size <<= 1) {
        uint32_t span = size / 2u;
        uint32_t step = n / size;
        uint32_t j;
        for (j = 0; j < span; j++) {
            float c = twiddle_cos[j * step];
            float s = twiddle_sin[j * step];
            for (start = j; start < half; start += size) {
                uint32_t b = start + span;
                float tr = c * fft_re[b] + s * fft_im[b];
                float ti = c * fft_im[b] - s * fft_re[b];
                float ar = fft_re[start];
                float ai = fft_im[start];
                fft_re[b] = ar - tr;
                fft_im[b] = ai - ti;
                fft_re[start] = ar + tr;
                fft_im[start] = ai + ti;
            }
        }
    }
}

/* |X[k]|^2, k = 0..n/2, of the real signal whose even/odd samples were packed into fft_re/im
 * (bit-reversed): the half-length complex FFT, then the split into the real spectrum. */
static void real_power_spectrum(uint32_t n)
{
    uint32_t half = n / 2u;
    uint32_t k;
    complex_fft(half, n);
    for (k = 0; k <= half; k++) {
        uint32_t a = k == half ? 0u : k;
        uint32_t b = k == 0u ? 0u : half - k;
        float zr = fft_re[a];
        float zi = fft_im[a];
        float wr = fft_re[b];
        float wi = -fft_im[b];
        float er = (zr + wr) * 0.5f;
        float ei = (zi + wi) * 0.5f;
        float orr = (zi - wi) * 0.5f;
        float oi = (wr - zr) * 0.5f;
        float c = twiddle_cos[k];
        float s = twiddle_sin[k];
        float xr = er + (c * orr + s * oi);
        float xi = ei + (c * oi - s * orr);
        power[k] = xr * xr + xi * xi;
    }
}

/* ------------------------------------------------------------------ MFCC */

static int mfcc_valid(const kit_feature_config *c)
{
    return c->sample_rate_hz > 0u && c->samples > 0u && c->raw_values == c->samples && c->frame_length >= 2u &&
           c->frame_stride > 0u && kit_is_power_of_two(c->fft_length) && c->fft_length <= KIT_FEATURES_MAX_FFT &&
           c->frame_length <= c->fft_length && c->mel_bins > 0u && c->mel_bins <= KIT_FEATURES_MAX_MEL &&
           c->coefficients > 0u && c->coefficients <= c->mel_bins &&
           c->coefficients <= KIT_FEATURES_MAX_COEFFICIENTS && c->frames > 0u &&
           c->out_values == c->frames * c->coefficients && c->lower_hz >= 0.0f && c->upper_hz > c->lower_hz &&
           c->upper_hz <= 0.5f * (float)c->sample_rate_hz;
}

static void mfcc_frame(const kit_feature_config *c, const int16_t *pcm, uint32_t start, float *out)
{
    float energies[KIT_FEATURES_MAX_MEL];
    uint32_t half = c->fft_length / 2u;
    uint32_t n;
    uint32_t m;
    uint32_t k;
    for (n = 0; n < half; n++) { /* sample 2n -> real part, 2n+1 -> imaginary part */
        uint32_t even = 2u * n;
        uint32_t odd = even + 1u;
        float re = 0.0f;
        float im = 0.0f;
        if (even < c->frame_length && start + even < c->samples) {
            re = ((float)pcm[start + even] * 3.0517578125e-05f) * window_table[even];
        }
        if (odd < c->frame_length && start + odd < c->samples) {
            im = ((float)pcm[start + odd] * 3.0517578125e-05f) * window_table[odd];
        }
        fft_re[bit_reverse[n]] = re;
        fft_im[bit_reverse[n]] = im;
    }
    real_power_spectrum(c->fft_length);
    for (m = 0; m < c->mel_bins; m++) {
        const float *weights = &mel_weights[mel_offset[m]];
        const float *bins = &power[mel_first[m]];
        float sum = 0.0f;
        for (k = 0; k < mel_count[m]; k++) {
            sum = sum + weights[k] * bins[k];
        }
        energies[m] = kit_f_log(sum + KIT_LOG_FLOOR);
    }
    for (k = 0; k < c->coefficients; k++) {
        float sum = 0.0f;
        for (m = 0; m < c->mel_bins; m++) {
            sum = sum + energies[m] * dct_basis[m * c->coefficients + k];
        }
        out[k] = sum;
    }
}

static int32_t mfcc(const kit_feature_config *c, const int16_t *pcm, float *out)
{
    uint32_t f;
    if (prepare_mfcc(c) != 0) {
        return -1;
    }
    for (f = 0; f < c->frames; f++) {
        mfcc_frame(c, pcm, f * c->frame_stride, out + f * c->coefficients);
    }
    return (int32_t)c->out_values;
}

/* ------------------------------------------------------------------ IMU spectra */

static uint32_t imu_bins(const kit_feature_config *c)
{
    return c->fft_length / 2u + 1u;
}

static int imu_valid(const kit_feature_config *c, uint32_t per_axis)
{
    return c->axes > 0u && c->samples > 0u && c->raw_values == c->samples * c->axes &&
           kit_is_power_of_two(c->fft_length) && c->fft_length <= KIT_FEATURES_MAX_FFT && c->bands > 0u &&
           c->bands <= KIT_FEATURES_MAX_BANDS && c->bands < imu_bins(c) && c->out_values == c->axes * per_axis;
}

/* round(1 + j * (bins - 1) / bands), half to even: numpy.linspace(1, bins, bands + 1).round(). */
static uint32_t band_edge(uint32_t j, uint32_t bins, uint32_t bands)
{
    uint32_t numerator = j * (bins - 1u);
    uint32_t whole = numerator / bands;
    uint32_t twice_rest = 2u * (numerator - whole * bands);
    uint32_t edge = 1u + whole;
    if (twice_rest > bands || (twice_rest == bands && (edge & 1u))) {
        edge++;
    }
    return edge;
}

/* Sample i of axis a, zero past the window's end (a window shorter than one FFT is padded). */
static float imu_sample(const kit_feature_config *c, const float *raw, uint32_t i, uint32_t a)
{
    return i < c->samples ? raw[i * c->axes + a] : 0.0f;
}

/* Welch's averaged Hann periodogram of one axis into power[] (segments of fft_length, half
 * overlapping, each without its own mean), divided by the window's energy. */
static void welch_power(const kit_feature_config *c, const float *raw, uint32_t a)
{
    uint32_t n = c->fft_length;
    uint32_t padded = c->samples > n ? c->samples : n;
    uint32_t hop = n / 2u;
    uint32_t bins = imu_bins(c);
    float accumulated[KIT_MAX_BINS];
    float window_energy = 0.0f;
    uint32_t segments = 0;
    uint32_t start;
    uint32_t i;
    for (i = 0; i < bins; i++) {
        accumulated[i] = 0.0f;
    }
    for (i = 0; i < n; i++) {
        window_energy = window_energy + window_table[i] * window_table[i];
    }
    for (start = 0; start + n <= padded; start += hop) {
        float mean = 0.0f;
        for (i = 0; i < n; i++) {
            mean = mean + imu_sample(c, raw, start + i, a);
        }
        mean = mean / (float)n;
        for (i = 0; i < hop; i++) {
            uint32_t even = 2u * i;
            fft_re[bit_reverse[i]] = (imu_sample(c, raw, start + even, a) - mean) * window_table[even];
            fft_im[bit_reverse[i]] = (imu_sample(c, raw, start + even + 1u, a) - mean) * window_table[even + 1u];
        }
        real_power_spectrum(n);
        for (i = 0; i < bins; i++) {
            accumulated[i] = accumulated[i] + power[i];
        }
        segments++;
    }
    for (i = 0; i < bins; i++) {
        power[i] = accumulated[i] / (float)segments / window_energy;
    }
}

/* The log of the mean power in each of `bands` contiguous groups of bins 1..bins-1. */
static void band_log_power(const kit_feature_config *c, float *out)
{
    uint32_t bins = imu_bins(c);
    uint32_t j;
    for (j = 0; j < c->bands; j++) {
        uint32_t lo = band_edge(j, bins, c->bands);
        uint32_t hi = band_edge(j + 1u, bins, c->bands);
        uint32_t k;
        float sum = 0.0f;
        if (hi < lo + 1u) {
            hi = lo + 1u;
        }
        if (hi > bins) {
            hi = bins;
        }
        for (k = lo; k < hi; k++) {
            sum = sum + power[k];
        }
        out[j] = kit_f_log(sum / (float)(hi - lo) + KIT_LOG_FLOOR);
    }
}

/* RMS, skewness and excess kurtosis of one axis without its mean. */
static void axis_moments(const kit_feature_config *c, const float *raw, uint32_t a, float *out)
{
    float count = (float)c->samples;
    float mean = 0.0f;
    float squares = 0.0f;
    float cubes = 0.0f;
    float fourths = 0.0f;
    float rms;
    float inverse_std;
    uint32_t i;
    for (i = 0; i < c->samples; i++) {
        mean = mean + raw[i * c->axes + a];
    }
    mean = mean / count;
    for (i = 0; i < c->samples; i++) {
        float centred = raw[i * c->axes + a] - mean;
        squares = squares + centred * centred;
    }
    rms = kit_f_sqrt(squares / count);
    inverse_std = 1.0f / (rms + KIT_STD_FLOOR);
    for (i = 0; i < c->samples; i++) {
        float z = (raw[i * c->axes + a] - mean) * inverse_std;
        float z2 = z * z;
        cubes = cubes + z2 * z;
        fourths = fourths + z2 * z2;
    }
    out[0] = rms;
    out[1] = cubes / count;
    out[2] = fourths / count - 3.0f;
}

static int32_t imu_features(const kit_feature_config *c, const float *raw, float *out, int with_moments)
{
    uint32_t per_axis = c->bands + (with_moments ? 3u : 0u);
    uint32_t a;
    prepare_window(c->fft_length);
    prepare_fft(c->fft_length);
    for (a = 0; a < c->axes; a++) {
        float *axis_out = out + a * per_axis;
        if (with_moments) {
            axis_moments(c, raw, a, axis_out);
            axis_out += 3;
        }
        welch_power(c, raw, a);
        band_log_power(c, axis_out);
    }
    return (int32_t)c->out_values;
}

/* ------------------------------------------------------------------ image */

static int image_valid(const kit_feature_config *c)
{
    return c->frame_width > 0u && c->frame_height > 0u && (c->frame_channels == 1u || c->frame_channels == 3u) &&
           c->width > 0u && c->height > 0u && (c->channels == 1u || c->channels == 3u) &&
           c->pixel_scale <= KIT_PIXELS_RAW && c->raw_values == c->frame_width * c->frame_height * c->frame_channels &&
           c->out_values == c->width * c->height * c->channels;
}

/* The centred crop of the frame with the model's aspect ratio: origin and size. */
typedef struct {
    uint32_t x0;
    uint32_t y0;
    uint32_t width;
    uint32_t height;
} kit_crop;

static kit_crop centre_crop(const kit_feature_config *c)
{
    kit_crop crop;
    crop.width = c->frame_width;
    crop.height = c->frame_height;
    if (c->frame_width * c->height > c->frame_height * c->width) { /* frame wider than the model */
        crop.width = c->frame_height * c->width / c->height;
    } else {
        crop.height = c->frame_width * c->height / c->width;
    }
    crop.x0 = (c->frame_width - crop.width) / 2u;
    crop.y0 = (c->frame_height - crop.height) / 2u;
    return crop;
}

/* The pixel value (0..255) of model pixel (x, y), channel ch: nearest source pixel (the
 * centre of the output pixel mapped into the crop, integer arithmetic), then gray <-> RGB
 * (gray = (77 R + 150 G + 29 B + 128) >> 8; gray to RGB repeats the value). */
static uint32_t image_pixel(const kit_feature_config *c, const uint8_t *frame, const kit_crop *crop, uint32_t x,
                            uint32_t y, uint32_t ch)
{
    uint32_t sx = crop->x0 + ((2u * x + 1u) * crop->width) / (2u * c->width);
    uint32_t sy = crop->y0 + ((2u * y + 1u) * crop->height) / (2u * c->height);
    const uint8_t *p = frame + (sy * c->frame_width + sx) * c->frame_channels;
    if (c->frame_channels == c->channels) {
        return p[ch];
    }
    if (c->frame_channels == 1u) {
        return p[0];
    }
    return (77u * p[0] + 150u * p[1] + 29u * p[2] + 128u) >> 8;
}

/* The float the model sees for a pixel value: unit v*(1/255), signed v*(2/255)-1, raw v. */
static float scale_pixel(const kit_feature_config *c, uint32_t value)
{
    float v = (float)value;
    if (c->pixel_scale == KIT_PIXELS_UNIT) {
        return v * 0.003921568859368563f + 0.0f;
    }
    if (c->pixel_scale == KIT_PIXELS_SIGNED) {
        return v * 0.007843137718737125f + -1.0f;
    }
    return v;
}

/* Every model input value of an image in order [y][x][channel]: floats into out_float, or
 * (out_float NULL) int8 into out_int8 through a table of the 256 possible pixel values (the
 * int8 input depends on the value alone, so the table gives exactly the per-pixel result). */
static void image_features(const kit_feature_config *c, const uint8_t *frame, float *out_float, int8_t *out_int8)
{
    int8_t table[256];
    kit_crop crop = centre_crop(c);
    uint32_t index = 0;
    uint32_t x;
    uint32_t y;
    uint32_t ch;
    if (out_float == 0) {
        for (x = 0; x < 256u; x++) {
            float value = scale_pixel(c, x);
            kit_features_quantize(c, &value, &table[x], 1u);
        }
    }
    for (y = 0; y < c->height; y++) {
        for (x = 0; x < c->width; x++) {
            for (ch = 0; ch < c->channels; ch++) {
                uint32_t pixel = image_pixel(c, frame, &crop, x, y, ch);
                if (out_float != 0) {
                    out_float[index] = scale_pixel(c, pixel);
                } else {
                    out_int8[index] = table[pixel];
                }
                index++;
            }
        }
    }
}

/* ------------------------------------------------------------------ public API */

static int config_valid(const kit_feature_config *c)
{
    if (c == 0) {
        return 0;
    }
    switch (c->kind) {
    case KIT_FEATURE_MFCC:
        return mfcc_valid(c);
    case KIT_FEATURE_IMU_SPECTRAL:
        return imu_valid(c, c->bands + 3u);
    case KIT_FEATURE_VIBRATION:
        return imu_valid(c, c->bands);
    case KIT_FEATURE_IMAGE:
        return image_valid(c);
    default:
        return 0;
    }
}

int32_t kit_features_float(const kit_feature_config *config, const void *raw, float *out, uint32_t out_capacity)
{
    if (!config_valid(config) || raw == 0 || out == 0 || out_capacity < config->out_values) {
        return -1;
    }
    switch (config->kind) {
    case KIT_FEATURE_MFCC:
        return mfcc(config, (const int16_t *)raw, out);
    case KIT_FEATURE_IMU_SPECTRAL:
        return imu_features(config, (const float *)raw, out, 1);
    case KIT_FEATURE_VIBRATION:
        return imu_features(config, (const float *)raw, out, 0);
    default:
        image_features(config, (const uint8_t *)raw, out, 0);
        return (int32_t)config->out_values;
    }
}

int32_t kit_features_quantize(const kit_feature_config *config, const float *features, int8_t *out, uint32_t count)
{
    uint32_t i;
    for (i = 0; i < count; i++) {
        float scaled = features[i] / config->input_scale;
        float q;
        if (!(scaled > -4194304.0f)) { /* also NaN */
            scaled = -4194304.0f;
        }
        if (scaled > 4194304.0f) {
            scaled = 4194304.0f;
        }
        q = kit_f_round_even(scaled) + (float)config->input_zero_point;
        if (q < -128.0f) {
            q = -128.0f;
        }
        if (q > 127.0f) {
            q = 127.0f;
        }
        out[i] = (int8_t)(int32_t)q;
    }
    return (int32_t)count;
}

static float float_features[KIT_FEATURES_MAX_FLOAT_OUT];

int32_t kit_features_int8(const kit_feature_config *config, const void *raw, int8_t *out, uint32_t out_capacity)
{
    int32_t count;
    if (!config_valid(config) || raw == 0 || out == 0 || out_capacity < config->out_values ||
        !(config->input_scale > 0.0f)) {
        return -1;
    }
    if (config->kind == KIT_FEATURE_IMAGE) { /* pixel by pixel: no float copy of the frame */
        image_features(config, (const uint8_t *)raw, 0, out);
        return (int32_t)config->out_values;
    }
    count = kit_features_float(config, raw, float_features, KIT_FEATURES_MAX_FLOAT_OUT);
    if (count < 0) {
        return -1;
    }
    return kit_features_quantize(config, float_features, out, (uint32_t)count);
}

uint32_t kit_features_raw_bytes(const kit_feature_config *config)
{
    if (!config_valid(config)) {
        return 0u;
    }
    switch (config->kind) {
    case KIT_FEATURE_MFCC:
        return config->raw_values * (uint32_t)sizeof(int16_t);
    case KIT_FEATURE_IMAGE:
        return config->raw_values;
    default:
        return config->raw_values * (uint32_t)sizeof(float);
    }
}
