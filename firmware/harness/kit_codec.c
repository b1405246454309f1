#include "kit_codec.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int32_t kit_hex_decode(const char *text, uint8_t *out, uint32_t max)
{
    uint32_t count = 0;
    while (text[0] != '\0') {
        int high = hex_value(text[0]);
        int low = text[1] == '\0' ? -1 : hex_value(text[1]);
        if (high < 0 || low < 0 || count >= max) {
            return -1;
        }
        out[count++] = (uint8_t)((high << 4) | low);
        text += 2;
    }
    return (int32_t)count;
}

static int base64_value(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

/* One 4-character group; `last` allows '=' padding. Returns bytes written or -1. */
static int decode_group(const char *group, int last, uint8_t *out)
{
    int values[4];
    int padding = 0;
    int i;
    for (i = 0; i < 4; i++) {
        if (group[i] == '=' && last && i >= 2) {
            padding++;
            values[i] = 0;
            continue;
        }
        if (padding > 0) {
            return -1; /* data after padding */
        }
        values[i] = base64_value(group[i]);
        if (values[i] < 0) {
            return -1;
        }
    }
    {
        uint32_t bits = ((uint32_t)values[0] << 18) | ((uint32_t)values[1] << 12) |
                        ((uint32_t)values[2] << 6) | (uint32_t)values[3];
        out[0] = (uint8_t)(bits >> 16);
        out[1] = (uint8_t)(bits >> 8);
        out[2] = (uint8_t)bits;
    }
    return 3 - padding;
}

int32_t kit_base64_decode(const char *text, uint8_t *out, uint32_t max)
{
    uint32_t length = 0;
    uint32_t count = 0;
    uint32_t pos;
    while (text[length] != '\0') {
        length++;
    }
    if (length == 0 || length % 4u != 0) {
        return -1;
    }
    for (pos = 0; pos < length; pos += 4) {
        uint8_t group[3];
        int last = pos + 4 == length;
        int bytes = decode_group(text + pos, last, group);
        int i;
        if (bytes <= 0 || count + (uint32_t)bytes > max) {
            return -1;
        }
        for (i = 0; i < bytes; i++) {
            out[count++] = group[i];
        }
    }
    return (int32_t)count;
}

uint32_t kit_crc32_update(uint32_t crc, const uint8_t *data, uint32_t length)
{
    uint32_t i;
    crc = ~crc;
    for (i = 0; i < length; i++) {
        int bit;
        crc ^= data[i];
        for (bit = 0; bit < 8; bit++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

int kit_parse_u32(const char *text, uint32_t *value)
{
    uint64_t result = 0;
    uint32_t digits = 0; /* significant digits: leading zeros do not count (`0000000490` fits) */
    if (text == 0 || text[0] == '\0') {
        return -1;
    }
    for (; *text != '\0'; text++) {
        if (*text < '0' || *text > '9') {
            return -1;
        }
        if ((result != 0u || *text != '0') && ++digits > 10u) {
            return -1;
        }
        result = result * 10u + (uint64_t)(*text - '0');
    }
    if (result > 0xFFFFFFFFu) {
        return -1;
    }
    *value = (uint32_t)result;
    return 0;
}
