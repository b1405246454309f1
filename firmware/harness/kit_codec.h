/* Text codecs of the protocol: hex (db), base64 (kit-load), CRC-32 (kit-load check). */
#ifndef KIT_CODEC_H
#define KIT_CODEC_H

#include <stdint.h>

/* Decode an even-length hex string into `out` (capacity `max`). Returns bytes or -1. */
int32_t kit_hex_decode(const char *text, uint8_t *out, uint32_t max);

/* Decode standard padded base64 into `out` (capacity `max`). Returns bytes or -1. */
int32_t kit_base64_decode(const char *text, uint8_t *out, uint32_t max);

/* Continue a CRC-32 (IEEE, zlib.crc32): start with crc = 0. */
uint32_t kit_crc32_update(uint32_t crc, const uint8_t *data, uint32_t length);

/* Parse a decimal number (<= 0xFFFFFFFF; leading zeros allowed) into *value. 0 on success. */
int kit_parse_u32(const char *text, uint32_t *value);

#endif /* KIT_CODEC_H */
