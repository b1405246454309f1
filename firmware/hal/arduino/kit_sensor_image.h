/*
 * RGB565 camera frames to what kit_hal.h promises a lab (uint8 [height][width][channels],
 * 1 = grayscale, 3 = RGB888): the centre of the frame cropped to the lab's aspect ratio, then
 * scaled by nearest neighbour. Both Arduino cameras kit drives deliver RGB565; pure C, so the
 * host tests run it.
 */
#ifndef KIT_SENSOR_IMAGE_H
#define KIT_SENSOR_IMAGE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kit_rgb565_frame {
    const uint8_t *pixels; /* width*height pixels of 2 bytes */
    uint16_t width;
    uint16_t height;
    uint8_t big_endian; /* 1: high byte first (as DVP cameras send it), 0: little-endian words */
} kit_rgb565_frame;

/* Write out_h x out_w x channels bytes (channels 1 or 3) into `out` (out_bytes long).
 * Returns the bytes written, or -1 when the sizes do not fit (nothing written). */
int32_t kit_rgb565_convert(const kit_rgb565_frame *frame, uint8_t *out, uint32_t out_bytes, uint16_t out_w,
                           uint16_t out_h, uint8_t channels);

#ifdef __cplusplus
}
#endif

#endif /* KIT_SENSOR_IMAGE_H */
