/* STAND-IN for Chirale_TensorFlowLite 2.0.0's peripherals/peripherals.h (tests only): the
 * real header accepts any board of an Arduino framework (ARDUINO defined) and stops every
 * other build with this error; it has no per-board guard. */
#ifndef KIT_STUB_CHIRALE_PERIPHERALS_H
#define KIT_STUB_CHIRALE_PERIPHERALS_H
#ifdef ARDUINO
#include <Arduino.h>
#include <Wire.h>
#else
#error "unsupported framework"
#endif
#endif
