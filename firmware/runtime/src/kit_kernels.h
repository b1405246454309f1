/*
 * Internal interface between the executor and the kernels: one function per op type, all
 * with the same signature so the executor can dispatch through a table.
 */
#ifndef KIT_KERNELS_H
#define KIT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "kit_runtime.h"

typedef int (*kit_kernel_fn)(const kit_op_t *op, const kit_model_t *m, uint8_t *arena);

/* Where a tensor's bytes are: in the arena, or constant in flash. NULL if absent (-1). */
static inline const void *kit_tensor_const_ptr(const kit_model_t *m, const uint8_t *arena, int32_t index) {
    const kit_tensor_t *t;
    if (index < 0) {
        return NULL;
    }
    t = &m->tensors[index];
    return t->data != NULL ? t->data : (const void *)(arena + t->offset);
}

static inline void *kit_tensor_arena_ptr(const kit_model_t *m, uint8_t *arena, int32_t index) {
    return arena + m->tensors[index].offset;
}

static inline int32_t kit_shape4_elements(const kit_shape4_t *s) {
    return s->n * s->h * s->w * s->c;
}

/* Filter taps t in [*start, *end) whose input coordinate origin + dilation * t lies inside
 * [0, size): the clipped window, so kernel inner loops need no bounds checks. */
static inline void kit_tap_range(int32_t origin, int32_t dilation, int32_t filter, int32_t size,
                                 int32_t *start, int32_t *end) {
    const int32_t last = size - 1 - origin;
    int32_t s = origin < 0 ? (-origin + dilation - 1) / dilation : 0;
    int32_t e = last < 0 ? 0 : last / dilation + 1;
    if (e > filter) {
        e = filter;
    }
    if (s > e) {
        s = e;
    }
    *start = s;
    *end = e;
}

/* TFLM's int8 ADD of one element pair (kernels/add.c): what a CONV_2D with a fused ADD
 * (kit_conv_params_t.fused_add) applies to each of its outputs. */
int8_t kit_add_element(const kit_binary_params_t *p, int32_t a, int32_t b);

/* One kernel per op of KIT_OPS (kit_runtime.h), each defined in a kernels/ file. */
#define KIT_DECLARE_KERNEL(NAME, name) int kit_op_##name(const kit_op_t *op, const kit_model_t *m, uint8_t *arena);
KIT_OPS(KIT_DECLARE_KERNEL)
#undef KIT_DECLARE_KERNEL

#endif /* KIT_KERNELS_H */
