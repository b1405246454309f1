/* STAND-IN for TensorFlowLite_ESP32 1.0.0's umbrella header (tests only): the real one
 * declares nothing and has no board or framework guard. */
#ifndef KIT_STUB_TENSORFLOWLITE_ESP32_H
#define KIT_STUB_TENSORFLOWLITE_ESP32_H
#endif
