/* RGB565 -> grayscale / RGB888 with centre crop and nearest-neighbour scaling (kit_sensor_image.h). */
#include "kit_sensor_image.h"

/* ITU-R BT.601 luma in 8.8 fixed point: 0.299 R + 0.587 G + 0.114 B. */
#define KIT_LUMA_R 77u
#define KIT_LUMA_G 150u
#define KIT_LUMA_B 29u

static uint16_t pixel_at(const kit_rgb565_frame *frame, uint32_t x, uint32_t y)
{
    const uint8_t *p = frame->pixels + 2u * (y * frame->width + x);
    return frame->big_endian ? (uint16_t)((p[0] << 8) | p[1]) : (uint16_t)((p[1] << 8) | p[0]);
}

/* 5- and 6-bit channels widened to 8 bits by repeating their top bits (0x1F -> 0xFF). */
static void expand(uint16_t rgb565, uint8_t rgb[3])
{
    uint32_t r = (rgb565 >> 11) & 0x1Fu;
    uint32_t g = (rgb565 >> 5) & 0x3Fu;
    uint32_t b = rgb565 & 0x1Fu;
    rgb[0] = (uint8_t)((r << 3) | (r >> 2));
    rgb[1] = (uint8_t)((g << 2) | (g >> 4));
    rgb[2] = (uint8_t)((b << 3) | (b >> 2));
}

int32_t kit_rgb565_convert(const kit_rgb565_frame *frame, uint8_t *out, uint32_t out_bytes, uint16_t out_w,
                           uint16_t out_h, uint8_t channels)
{
    uint32_t crop_w, crop_h, x0, y0, x, y;
    uint32_t need = (uint32_t)out_w * out_h * channels;
    if ((channels != 1u && channels != 3u) || out_w == 0u || out_h == 0u || need > out_bytes ||
        out_w > frame->width || out_h > frame->height) {
        return -1;
    }
    /* the largest centred window of the lab's aspect ratio */
    if ((uint32_t)frame->width * out_h > (uint32_t)frame->height * out_w) {
        crop_h = frame->height;
        crop_w = (uint32_t)frame->height * out_w / out_h;
    } else {
        crop_w = frame->width;
        crop_h = (uint32_t)frame->width * out_h / out_w;
    }
    x0 = (frame->width - crop_w) / 2u;
    y0 = (frame->height - crop_h) / 2u;
    for (y = 0u; y < out_h; y++) {
        uint32_t src_y = y0 + (y * crop_h + crop_h / 2u) / out_h;
        for (x = 0u; x < out_w; x++) {
            uint32_t src_x = x0 + (x * crop_w + crop_w / 2u) / out_w;
            uint8_t rgb[3];
            uint8_t *dst = out + ((uint32_t)y * out_w + x) * channels;
            expand(pixel_at(frame, src_x, src_y), rgb);
            if (channels == 3u) {
                dst[0] = rgb[0];
                dst[1] = rgb[1];
                dst[2] = rgb[2];
            } else {
                dst[0] = (uint8_t)((KIT_LUMA_R * rgb[0] + KIT_LUMA_G * rgb[1] + KIT_LUMA_B * rgb[2] + 128u) >> 8);
            }
        }
    }
    return (int32_t)need;
}
