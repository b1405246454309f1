/* STAND-IN for TFLM's MicroProfilerInterface as in Chirale_TensorFlowLite 2.0.0 (tests only):
 * the abstract interface the interpreter's constructor takes. */
#ifndef KIT_STUB_MICRO_PROFILER_INTERFACE_H
#define KIT_STUB_MICRO_PROFILER_INTERFACE_H
#include <cstdint>

namespace tflite {
class MicroProfilerInterface {
 public:
  virtual ~MicroProfilerInterface() {}
  virtual uint32_t BeginEvent(const char *tag) = 0;
  virtual void EndEvent(uint32_t event_handle) = 0;
};
}  // namespace tflite
#endif
