/*
 * Command line reader with a fixed buffer. Why its own unit: it is the one place that sees
 * raw, untrusted bytes, so it is tested alone against noise, binary junk and long lines.
 */
#ifndef KIT_LINE_H
#define KIT_LINE_H

#include <stdint.h>

/* Longest command accepted, without its terminator (MLPerf hosts send at most 80). */
#define KIT_LINE_MAX 255

typedef enum {
    KIT_LINE_NONE = 0,    /* nothing to do yet */
    KIT_LINE_READY = 1,   /* a complete command is in `text` (NUL-terminated) */
    KIT_LINE_TOO_LONG = 2 /* a command longer than KIT_LINE_MAX ended; it was discarded */
} kit_line_status_t;

typedef struct {
    char text[KIT_LINE_MAX + 1];
    uint32_t length;
    uint32_t dropped;  /* non-printable bytes discarded since start */
    uint8_t overflow;  /* current line exceeded KIT_LINE_MAX */
    uint8_t complete;  /* `text` was handed out; start over on the next byte */
} kit_line_t;

void kit_line_init(kit_line_t *reader);

/* Feed one byte; `%`, `\n` and `\r` end a command, empty commands are ignored. */
kit_line_status_t kit_line_feed(kit_line_t *reader, uint8_t byte);

#endif /* KIT_LINE_H */
