/* STAND-IN for TFLM's MicroProfiler (tests only): the same virtual interface and the
 * removed virtual delete that embedded TFLM builds declare (TF_LITE_REMOVE_VIRTUAL_DELETE). */
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
