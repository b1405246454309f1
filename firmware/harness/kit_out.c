#include "kit_out.h"

#include <string.h>

#include "kit_hal.h"

static const char hex_digits[] = "0123456789abcdef";

void kit_out_str(const char *text)
{
    while (*text != '\0') {
        kit_hal_putc(*text++);
    }
}

void kit_out_sanitized(const char *text, uint32_t max_chars)
{
    uint32_t count = 0;
    while (text[count] != '\0' && count < max_chars) {
        char c = text[count++];
        int printable = c >= 0x20 && c <= 0x7E && c != '[' && c != ']';
        kit_hal_putc(printable ? c : '?');
    }
}

void kit_out_u64(uint64_t value)
{
    char digits[20];
    int count = 0;
    do {
        digits[count++] = (char)('0' + (int)(value % 10u));
        value /= 10u;
    } while (value != 0u);
    while (count > 0) {
        kit_hal_putc(digits[--count]);
    }
}

void kit_out_i32(int32_t value)
{
    if (value < 0) {
        kit_hal_putc('-');
        kit_out_u64((uint64_t)(-(int64_t)value));
    } else {
        kit_out_u64((uint64_t)value);
    }
}

void kit_out_hex_byte(uint8_t value)
{
    kit_hal_putc(hex_digits[value >> 4]);
    kit_hal_putc(hex_digits[value & 0x0Fu]);
}

void kit_out_hex32(uint32_t value)
{
    int shift;
    for (shift = 24; shift >= 0; shift -= 8) {
        kit_out_hex_byte((uint8_t)(value >> shift));
    }
}

void kit_out_fixed3(float value)
{
    const float limit = 1.0e15f;
    int64_t thousandths;
    uint64_t magnitude;
    if (value != value) { /* NaN: keep the line parseable */
        value = 0.0f;
    }
    if (value > limit) {
        value = limit;
    } else if (value < -limit) {
        value = -limit;
    }
    thousandths = (int64_t)(value * 1000.0f + (value >= 0.0f ? 0.5f : -0.5f));
    if (thousandths < 0) {
        kit_hal_putc('-');
        magnitude = (uint64_t)(-thousandths);
    } else {
        magnitude = (uint64_t)thousandths;
    }
    kit_out_u64(magnitude / 1000u);
    kit_hal_putc('.');
    kit_hal_putc((char)('0' + (int)((magnitude / 100u) % 10u)));
    kit_hal_putc((char)('0' + (int)((magnitude / 10u) % 10u)));
    kit_hal_putc((char)('0' + (int)(magnitude % 10u)));
}

void kit_out_hexfloat(float value)
{
    uint32_t bits;
    uint32_t exponent;
    uint32_t mantissa;
    int shift;
    memcpy(&bits, &value, sizeof bits);
    exponent = (bits >> 23) & 0xFFu;
    mantissa = (bits & 0x7FFFFFu) << 1; /* 24 bits = 6 hex digits */
    if (bits >> 31) {
        kit_hal_putc('-');
    }
    if (exponent == 0xFFu) {
        kit_out_str(mantissa != 0u ? "nan" : "inf");
        return;
    }
    if (exponent == 0u && mantissa == 0u) {
        kit_out_str("0x0p+0");
        return;
    }
    kit_out_str(exponent == 0u ? "0x0." : "0x1.");
    for (shift = 20; shift >= 0; shift -= 4) {
        kit_hal_putc(hex_digits[(mantissa >> shift) & 0xFu]);
    }
    kit_hal_putc('p');
    if (exponent == 0u) {
        kit_out_str("-126");
    } else {
        int32_t power = (int32_t)exponent - 127;
        kit_hal_putc(power < 0 ? '-' : '+');
        kit_out_u64((uint64_t)(power < 0 ? -power : power));
    }
}

void kit_out_end(void)
{
    kit_hal_putc('\r');
    kit_hal_putc('\n');
    kit_hal_flush();
}

void kit_out_line(const char *text)
{
    kit_out_str(text);
    kit_out_end();
}

void kit_out_error(const char *message)
{
    kit_out_str("e-[");
    kit_out_str(message);
    kit_out_str("]");
    kit_out_end();
}
