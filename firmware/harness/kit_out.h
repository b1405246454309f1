/*
 * Reply printing without printf: newlib-nano and picolibc printf drag in kilobytes and
 * cannot print 64-bit or float values by default, and every byte we send must be ASCII.
 */
#ifndef KIT_OUT_H
#define KIT_OUT_H

#include <stdint.h>

void kit_out_str(const char *text);
/* Printable ASCII only, at most `max_chars`; anything else becomes '?'. */
void kit_out_sanitized(const char *text, uint32_t max_chars);
void kit_out_u64(uint64_t value);
void kit_out_i32(int32_t value);
void kit_out_hex_byte(uint8_t value);
void kit_out_hex32(uint32_t value);
/* `value` with exactly 3 decimals, e.g. -0.125 -> "-0.125". */
void kit_out_fixed3(float value);
/* Exact C99 hex-float text of `value`, e.g. 0.00390625 -> "0x1.000000p-8"
 * (Python: float.fromhex). */
void kit_out_hexfloat(float value);
/* End the line with "\r\n" and flush. */
void kit_out_end(void);
/* One whole line: text + end. */
void kit_out_line(const char *text);
/* "e-[" message "]" line. */
void kit_out_error(const char *message);

#endif /* KIT_OUT_H */
