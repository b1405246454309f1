/* STAND-IN for TFLM's MicroProfiler as in TensorFlowLite_ESP32 1.0.0 (tests only): a base
 * class of its own (that version has no MicroProfilerInterface), with the removed virtual
 * delete of embedded builds. */
#ifndef KIT_STUB_MICRO_PROFILER_H
#define KIT_STUB_MICRO_PROFILER_H
#include <cstdint>

#define TF_LITE_REMOVE_VIRTUAL_DELETE \
  void operator delete(void *p) { (void)p; }

namespace tflite {
class MicroProfiler {
 public:
  MicroProfiler() = default;
  virtual ~MicroProfiler() = default;
  virtual uint32_t BeginEvent(const char *tag) { (void)tag; return 0; }
  virtual void EndEvent(uint32_t event_handle) { (void)event_handle; }

 private:
  TF_LITE_REMOVE_VIRTUAL_DELETE
};
}  // namespace tflite
#endif
