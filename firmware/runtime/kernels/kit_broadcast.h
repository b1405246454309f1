/* 4-D broadcasting for ADD and MUL: element strides that are 0 along broadcast dims, so
 * one loop over the output visits the matching element of each input. */
#ifndef KIT_BROADCAST_H
#define KIT_BROADCAST_H

#include "kit_runtime.h"

typedef struct {
    int32_t n, h, w, c;
} kit_strides4_t;

static inline kit_strides4_t kit_broadcast_strides(const kit_shape4_t *in, const kit_shape4_t *out) {
    kit_strides4_t s;
    s.c = in->c == out->c ? 1 : 0;
    s.w = in->w == out->w ? in->c : 0;
    s.h = in->h == out->h ? in->c * in->w : 0;
    s.n = in->n == out->n ? in->c * in->w * in->h : 0;
    return s;
}

#endif /* KIT_BROADCAST_H */
