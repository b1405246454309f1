/*
 * The inner product of CONV_2D and FULLY_CONNECTED: acc + sum_i w[i] * (x[i] + input_offset).
 * With the Arm DSP extension (Cortex-M4/M7) it is computed as acc + sum(w*x) +
 * input_offset * sum(w), two int8 pairs per SMLAD. Both forms add the same int32 products
 * (two's complement addition is associative), so the result is identical bit for bit;
 * tests/runtime/test_on_target.py checks it on QEMU against TFLM.
 */
#ifndef KIT_DOT_H
#define KIT_DOT_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && !defined(KIT_PORTABLE_KERNELS)
#include <arm_acle.h>

static inline uint32_t kit_read_u32(const int8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint32_t kit_ror8(uint32_t v) { return (v >> 8) | (v << 24); }

static inline int32_t kit_dot_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t input_offset) {
    int32_t xw = 0, wsum = 0, i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t xv = kit_read_u32(x + i), wv = kit_read_u32(w + i);
        const uint32_t w02 = __sxtb16(wv), w13 = __sxtb16(kit_ror8(wv));
        xw = __smlad(__sxtb16(xv), w02, xw);
        xw = __smlad(__sxtb16(kit_ror8(xv)), w13, xw);
        wsum = __smlad(w02, 0x00010001u, wsum);
        wsum = __smlad(w13, 0x00010001u, wsum);
    }
    for (; i < n; ++i) {
        xw += (int32_t)x[i] * w[i];
        wsum += w[i];
    }
    return (int32_t)((uint32_t)xw + (uint32_t)input_offset * (uint32_t)wsum);
}

#else

static inline int32_t kit_dot_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t input_offset) {
    int32_t acc = 0, i;
    for (i = 0; i < n; ++i) {
        acc += (int32_t)w[i] * ((int32_t)x[i] + input_offset);
    }
    return acc;
}

#endif

#endif /* KIT_DOT_H */
