/* STAND-IN for Chirale_TensorFlowLite 2.0.0's umbrella header (tests only): like the real
 * one it only pulls in peripherals/peripherals.h, whose guard needs an Arduino framework. */
#ifndef KIT_STUB_CHIRALE_TENSORFLOWLITE_H
#define KIT_STUB_CHIRALE_TENSORFLOWLITE_H
#include "peripherals/peripherals.h"
#endif
