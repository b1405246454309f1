/* STAND-IN for the Arduino core's Wire library header (tests only): TFLM's Arduino libraries
 * include it from peripherals/peripherals.h; kit uses nothing from it. */
#ifndef KIT_STUB_WIRE_H
#define KIT_STUB_WIRE_H
#endif
