#include "kit_line.h"

void kit_line_init(kit_line_t *reader)
{
    reader->length = 0;
    reader->dropped = 0;
    reader->overflow = 0;
    reader->complete = 0;
    reader->text[0] = '\0';
}

static int is_terminator(uint8_t byte)
{
    return byte == '%' || byte == '\n' || byte == '\r';
}

static kit_line_status_t end_line(kit_line_t *reader)
{
    if (reader->overflow) {
        reader->overflow = 0;
        reader->length = 0;
        return KIT_LINE_TOO_LONG;
    }
    if (reader->length == 0) {
        return KIT_LINE_NONE;
    }
    reader->text[reader->length] = '\0';
    reader->complete = 1;
    return KIT_LINE_READY;
}

kit_line_status_t kit_line_feed(kit_line_t *reader, uint8_t byte)
{
    if (reader->complete) {
        reader->complete = 0;
        reader->length = 0;
    }
    if (is_terminator(byte)) {
        return end_line(reader);
    }
    if (byte < 0x20u || byte > 0x7Eu) {
        reader->dropped++;
        return KIT_LINE_NONE;
    }
    if (reader->overflow) {
        return KIT_LINE_NONE;
    }
    if (reader->length >= KIT_LINE_MAX) {
        reader->overflow = 1;
        return KIT_LINE_NONE;
    }
    reader->text[reader->length++] = (char)byte;
    return KIT_LINE_NONE;
}
