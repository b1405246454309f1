/* STAND-IN for the Arduino_TensorFlowLite library's umbrella header (tests only). The real
 * library (TensorFlow Lite Micro sources) cannot be installed offline here. */
#ifndef KIT_STUB_TENSORFLOWLITE_H
#define KIT_STUB_TENSORFLOWLITE_H
#define KIT_STUB_TFLM 1
#endif
