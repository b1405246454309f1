/* STAND-IN for TFLM's MicroProfiler as in Chirale_TensorFlowLite 2.0.0 (tests only): derived
 * from MicroProfilerInterface, with the removed virtual delete of embedded builds. */
#ifndef KIT_STUB_MICRO_PROFILER_H
#define KIT_STUB_MICRO_PROFILER_H
#include <cstdint>

#include "tensorflow/lite/micro/micro_profiler_interface.h"

#define TF_LITE_REMOVE_VIRTUAL_DELETE \
  void operator delete(void *p) { (void)p; }

namespace tflite {
class MicroProfiler : public MicroProfilerInterface {
 public:
  MicroProfiler() = default;
  virtual ~MicroProfiler() = default;
  virtual uint32_t BeginEvent(const char *tag) override { (void)tag; return 0; }
  virtual void EndEvent(uint32_t event_handle) override { (void)event_handle; }

 private:
  TF_LITE_REMOVE_VIRTUAL_DELETE
};
}  // namespace tflite
#endif
